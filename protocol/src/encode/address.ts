/**
 * Text address → wire bytes, written straight into the packet buffer. FlowRecord holds
 * addresses as text ('10.0.0.1', '2001:db8::1', '' = absent); these parsers walk the
 * string's char codes so the hot path allocates nothing. Anything that does not parse is
 * written as zeros (the "absent" address on the wire) and reported with `false`.
 */

const COLON = 58;
const DOT = 46;

/** Value of a hex digit char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses dotted-quad IPv4 from s[start..] to a uint32, or -1 when malformed. */
function parseIPv4(s: string, start: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Writes a 4-octet IPv4 address; '' or anything malformed writes 0.0.0.0. */
export function writeIPv4(buf: Buffer, off: number, s: string): boolean {
  const v = s.length === 0 ? -1 : parseIPv4(s, 0);
  buf.writeUInt32BE(Math.max(v, 0), off);
  return v >= 0 || s.length === 0;
}

// Scratch for the two halves around '::'; module-level is safe because parsing is synchronous.
const head = new Uint16Array(8);
const tail = new Uint16Array(8);

/** Writes a 16-octet IPv6 address (RFC 4291 text forms, incl. '::' and dotted tail); else zeros. */
export function writeIPv6(buf: Buffer, off: number, s: string): boolean {
  if (s.length === 0 || !parseIPv6(s)) {
    buf.fill(0, off, off + 16);
    return s.length === 0;
  }
  for (let i = 0; i < headN; i++) buf.writeUInt16BE(head[i], off + 2 * i);
  const gap = 8 - headN - tailN;
  buf.fill(0, off + 2 * headN, off + 2 * (headN + gap));
  for (let i = 0; i < tailN; i++) buf.writeUInt16BE(tail[i], off + 2 * (headN + gap + i));
  return true;
}

let headN = 0;
let tailN = 0;

function parseIPv6(s: string): boolean {
  headN = 0;
  tailN = 0;
  let compressed = false;
  let i = 0;
  const n = s.length;
  if (n >= 2 && s.charCodeAt(0) === COLON && s.charCodeAt(1) === COLON) {
    compressed = true;
    i = 2;
    if (i === n) return true; // '::'
  }
  for (;;) {
    const groupStart = i;
    let value = 0;
    let digits = 0;
    while (i < n) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      i++;
      if (++digits > 4) return false;
    }
    if (i < n && s.charCodeAt(i) === DOT) {
      // embedded IPv4 tail ('::ffff:10.0.0.1'): two groups, and it must end the string
      const v4 = parseIPv4(s, groupStart);
      if (v4 < 0 || !push(compressed, Math.floor(v4 / 65536)) || !push(compressed, v4 & 0xffff)) return false;
      break;
    }
    if (digits === 0 || !push(compressed, value)) return false;
    if (i === n) break;
    if (s.charCodeAt(i) !== COLON) return false;
    i++;
    if (i < n && s.charCodeAt(i) === COLON) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return false; // trailing single ':'
    }
  }
  const total = headN + tailN;
  return compressed ? total <= 7 : total === 8;
}

function push(compressed: boolean, group: number): boolean {
  if (headN + tailN >= 8) return false;
  if (compressed) tail[tailN++] = group;
  else head[headN++] = group;
  return true;
}

/** True when the text looks like IPv6 (contains ':'); IPv4 and '' are false. */
export function isIPv6Text(s: string): boolean {
  return s.indexOf(':') >= 0;
}
