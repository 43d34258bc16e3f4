/**
 * CIDRs for prefix lookups (inventory subnets, sampling overrides, the allowlist). Address
 * text itself is parsed by the one shared parser, protocol/src/schema/ip.ts.
 */
import { parseIpInto } from '../../../protocol/src/schema/ip.ts';

export interface Cidr {
  /** 4 or 16 bytes, host bits zeroed */
  bytes: Uint8Array;
  prefix: number;
}

export { parseIpInto };

/** '10.0.0.0/8', '2001:db8::/32' or a bare address (a host prefix); null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const buf = new Uint8Array(16);
  const v = parseIpInto(addr.trim(), buf);
  if (v === 0) return null;
  const len = v === 4 ? 4 : 16;
  const max = len * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  const bytes = buf.slice(0, len);
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { bytes, prefix };
}

/** Canonical text of a parsed CIDR, e.g. for subnet names in flows. */
export function cidrToString(c: Cidr): string {
  if (c.bytes.length === 4) return `${c.bytes.join('.')}/${c.prefix}`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((c.bytes[i] << 8) | c.bytes[i + 1]).toString(16));
  // compress the longest run of zero words (RFC 5952)
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text =
    best < 0
      ? words.join(':')
      : `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
  return `${text}/${c.prefix}`;
}
