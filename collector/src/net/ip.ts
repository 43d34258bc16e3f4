/**
 * Text IP addresses and CIDRs as bytes, for prefix lookups. The hot path calls
 * parseIpInto() once per address per flow, so it writes into a caller-owned buffer and
 * allocates nothing; IPv4-mapped IPv6 text ('::ffff:10.0.0.1') is treated as IPv4.
 */

export interface Cidr {
  /** 4 or 16 bytes, host bits zeroed */
  bytes: Uint8Array;
  prefix: number;
}

/** Parses dotted IPv4 into out[0..4]; false when the text is not one. */
function parseV4(s: string, start: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let digits = 0;
  let idx = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || idx > 2) return false;
      out[at + idx++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (part > 255 || ++digits > 3) return false;
    } else return false;
  }
  if (digits === 0 || idx !== 3) return false;
  out[at + 3] = part;
  return true;
}

function parseV6(s: string, out: Uint8Array): boolean {
  out.fill(0, 0, 16);
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return false;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const words = (part: string): number[] | null => {
    if (part === '') return [];
    const out16: number[] = [];
    const groups = part.split(':');
    for (let g = 0; g < groups.length; g++) {
      const grp = groups[g];
      if (g === groups.length - 1 && grp.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseV4(grp, 0, v4, 0)) return null;
        out16.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(grp)) return null;
        out16.push(Number.parseInt(grp, 16));
      }
    }
    return out16;
  };
  const h = words(head);
  const t = words(tail);
  if (!h || !t) return false;
  if (dbl < 0 ? h.length !== 8 : h.length + t.length > 7) return false;
  for (let i = 0; i < h.length; i++) {
    out[2 * i] = h[i] >> 8;
    out[2 * i + 1] = h[i] & 0xff;
  }
  const base = 8 - t.length;
  for (let i = 0; i < t.length; i++) {
    out[2 * (base + i)] = t[i] >> 8;
    out[2 * (base + i) + 1] = t[i] & 0xff;
  }
  return true;
}

/**
 * Parses an address into `out` (16 bytes long); returns 4 (IPv4, in out[0..4]), 6 (IPv6)
 * or 0 (not an address, or '').
 */
export function parseIpInto(s: string, out: Uint8Array): 0 | 4 | 6 {
  if (s.length === 0) return 0;
  if (s.indexOf(':') < 0) return parseV4(s, 0, out, 0) ? 4 : 0;
  if (s.startsWith('::ffff:') && s.indexOf('.') > 0) return parseV4(s, 7, out, 0) ? 4 : 0;
  return parseV6(s, out) ? 6 : 0;
}

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
