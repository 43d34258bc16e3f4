/**
 * Values of the filter language, parsed from one token each: unsigned integers with
 * decimal (k, M, G, T = 10^3…10^12) or binary (Ki, Mi, Gi, Ti = 2^10…2^40) suffixes, IP
 * addresses and CIDRs as 16-byte IPv4-mapped values (what the FixedString(16) columns
 * hold), MAC addresses, UTC date-times. Each parser returns undefined for text that is not
 * its kind; the parser turns that into a FilterError naming what it expected.
 */
import { writeIp16 } from '../../../protocol/src/schema/ip.ts';

const DECIMAL: Record<string, bigint> = { k: 10n ** 3n, m: 10n ** 6n, g: 10n ** 9n, t: 10n ** 12n };
const BINARY: Record<string, bigint> = { ki: 1n << 10n, mi: 1n << 20n, gi: 1n << 30n, ti: 1n << 40n };

const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/**
 * '443', '1M', '1.5k', '2Gi', '0x12' → bigint; undefined when the text is not a whole
 * non-negative number (1.5 with no suffix, 1.0001k, 1e6, '').
 */
export function parseUnsigned(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 40) return undefined;
  if (text.length > 2 && text[0] === '0' && (text[1] === 'x' || text[1] === 'X')) {
    for (let i = 2; i < text.length; i++) if (!isHex(text.charCodeAt(i))) return undefined;
    return BigInt(text);
  }
  let i = 0;
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  if (i === 0) return undefined;
  const whole = text.slice(0, i);
  let frac = '';
  if (text[i] === '.') {
    const f = ++i;
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    if (i === f) return undefined;
    frac = text.slice(f, i);
  }
  const suffix = text.slice(i).toLowerCase();
  let mult = 1n;
  if (suffix !== '') {
    const m = DECIMAL[suffix] ?? BINARY[suffix];
    if (m === undefined) return undefined;
    mult = m;
  }
  const scale = 10n ** BigInt(frac.length);
  const scaled = BigInt(whole + frac) * mult;
  if (scaled % scale !== 0n) return undefined;
  return scaled / scale;
}

/** An address as the 16 bytes of its column (IPv4 mapped into ::ffff:0:0/96). */
export function parseAddress(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const out = new Uint8Array(16);
  return writeIp16(text, out, 0) ? out : undefined;
}

export interface Cidr {
  readonly lo: Uint8Array;
  readonly hi: Uint8Array;
}

/**
 * 'a.b.c.d/len' (len 0-32, taken within ::ffff:0:0/96), 'v6/len' (0-128, also for
 * IPv4-mapped text), or a bare
 * address (/32 or /128). Host bits after the prefix are ignored (10.1.2.3/8 = 10.0.0.0/8),
 * as nfdump does. undefined when it is none of these.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText);
  if (!addr) return undefined;
  // the prefix length counts in the address's written family: ::ffff:10.0.0.0/104 = 10.0.0.0/8
  const v = addrText.includes(':') ? 6 : 4;
  let bits = 128;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (lenText.length === 0 || lenText.length > 3) return undefined;
    for (let i = 0; i < lenText.length; i++) if (!isDigit(lenText.charCodeAt(i))) return undefined;
    const len = Number(lenText);
    if (v === 4) {
      if (len > 32) return undefined;
      bits = 96 + len;
    } else {
      if (len > 128) return undefined;
      bits = len;
    }
  }
  const lo = new Uint8Array(16);
  const hi = new Uint8Array(16);
  for (let b = 0; b < 16; b++) {
    const keep = Math.max(0, Math.min(8, bits - b * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    lo[b] = addr[b] & mask;
    hi[b] = (addr[b] & mask) | (~mask & 0xff);
  }
  return { lo, hi };
}

/**
 * The text form of 16 address bytes that sql.ts's ip() binds back to the same bytes:
 * dotted IPv4 for the mapped range, else RFC 5952 IPv6 (the longest run of two or more zero
 * groups as ::), so the SQL a user sees reads like what they typed.
 */
export function addressText(b: Uint8Array): string {
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let k = 0; k < 10 && mapped; k++) if (b[k] !== 0) mapped = false;
  if (mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let k = 0; k < 16; k += 2) groups.push((b[k] << 8) | b[k + 1]);
  let best = -1;
  let bestLen = 1;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    let end = g;
    while (end < 8 && groups[end] === 0) end++;
    if (end - g > bestLen) {
      best = g;
      bestLen = end - g;
    }
    g = end;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** 'aa:bb:cc:dd:ee:ff' or 'aa-bb-cc-dd-ee-ff' (case-insensitive) → the 48-bit number. */
export function parseMac(text: string): number | undefined {
  if (text.length !== 17) return undefined;
  const sep = text[2];
  if (sep !== ':' && sep !== '-') return undefined;
  let v = 0;
  for (let i = 0; i < 17; i++) {
    if (i % 3 === 2) {
      if (text[i] !== sep) return undefined;
      continue;
    }
    const c = text.charCodeAt(i);
    if (!isHex(c)) return undefined;
    v = v * 16 + Number.parseInt(text[i], 16);
  }
  return v;
}

/**
 * A UTC date-time: Unix seconds, or 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS]' or
 * 'YYYY-MM-DDTHH:MM[:SS][Z]'. Milliseconds since the epoch, or undefined.
 */
export function parseDateTime(text: string): number | undefined {
  const ms = parseDateTimeMs(text);
  // DateTime holds 1970 … 2106 (UInt32 seconds)
  return ms === undefined || ms < 0 || ms / 1000 > 0xffffffff ? undefined : ms;
}

function parseDateTimeMs(text: string): number | undefined {
  if (text.length > 0 && text.length <= 10) {
    let digits = true;
    for (let i = 0; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) digits = false;
    if (digits) return Number(text) * 1000;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return new Date(ms).getUTCDate() === d ? ms : undefined; // not 2026-02-30
}
