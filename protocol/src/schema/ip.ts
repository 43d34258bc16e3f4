/**
 * IP address text ↔ bytes, the one parser every part uses (enrichment lookups, the
 * RowBinary and protobuf writers, the NetFlow/IPFIX encoders, SQL literal checks). Flow
 * records carry addresses as text; the hot paths parse each address of each flow, so
 * parsing writes into a caller-owned buffer, allocates nothing and uses no regular
 * expression. Text that is not an address parses as nothing (0) rather than half-parsed;
 * IPv4-mapped IPv6 text ('::ffff:10.0.0.1') is IPv4 to parseIpInto, and stays IPv6 text to
 * the fixed-family writers and checks (writeIPv6, isIPv6Text).
 */

/** Parses dotted IPv4 from s[start..] into out[at..at+4]; false when it is not one. */
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
      // '010' is octal to some parsers: like Node's, ours takes no leading zero
      if (digits === 1 && part === 0) return false;
      part = part * 10 + (c - 48);
      if (part > 255 || ++digits > 3) return false;
    } else return false;
  }
  if (digits === 0 || idx !== 3) return false;
  out[at + 3] = part;
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const tailWords = new Uint16Array(8);

/** Parses IPv6 text (RFC 4291 §2.2, with an optional dotted IPv4 tail) into out[at..at+16]. */
function parseV6(s: string, out: Uint8Array, at: number): boolean {
  const n = s.length;
  let head = 0; // words before '::'
  let tail = 0; // words after '::'
  let gap = -1; // index in s just after '::', or -1
  let i = 0;
  if (n < 2) return false;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 2;
    i = 2;
  }
  while (i < n) {
    // one group: up to 4 hex digits, or a dotted IPv4 tail
    let v = 0;
    let digits = 0;
    const start = i;
    while (i < n) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h;
      if (++digits > 4) return false;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 46) {
      // IPv4 tail: it ends the text and takes the last two words
      if (head + tail > 6 || !parseV4(s, start, scratch4, 0)) return false;
      const w1 = (scratch4[0] << 8) | scratch4[1];
      const w2 = (scratch4[2] << 8) | scratch4[3];
      if (gap < 0) {
        out[at + head * 2] = scratch4[0];
        out[at + head * 2 + 1] = scratch4[1];
        out[at + head * 2 + 2] = scratch4[2];
        out[at + head * 2 + 3] = scratch4[3];
        head += 2;
      } else {
        tailWords[tail++] = w1;
        tailWords[tail++] = w2;
      }
      i = n;
      break;
    }
    if (digits === 0) return false;
    if (gap < 0) {
      if (head >= 8) return false;
      out[at + head * 2] = v >> 8;
      out[at + head * 2 + 1] = v & 0xff;
      head++;
    } else {
      if (tail >= 8) return false;
      tailWords[tail++] = v;
    }
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = ++i;
      if (i === n) break;
    } else if (i === n) return false; // a single trailing ':'
  }
  if (gap < 0) return head === 8;
  if (head + tail > 7) return false;
  const zeros = 8 - head - tail;
  out.fill(0, at + head * 2, at + (head + zeros) * 2);
  for (let t = 0; t < tail; t++) {
    const to = at + (head + zeros + t) * 2;
    out[to] = tailWords[t] >> 8;
    out[to + 1] = tailWords[t] & 0xff;
  }
  return true;
}

const scratch4 = new Uint8Array(4);

/**
 * Parses an address into `out` (16 bytes long); returns 4 (IPv4, in out[0..4]), 6 (IPv6,
 * out[0..16]) or 0 (not an address, or '').
 */
export function parseIpInto(s: string, out: Uint8Array): 0 | 4 | 6 {
  if (s.length === 0) return 0;
  if (s.indexOf(':') < 0) return parseV4(s, 0, out, 0) ? 4 : 0;
  if (!parseV6(s, out, 0)) return 0;
  // ::ffff:a.b.c.d is an IPv4 address
  for (let k = 0; k < 10; k++) if (out[k] !== 0) return 6;
  if (out[10] !== 0xff || out[11] !== 0xff) return 6;
  out.copyWithin(0, 12, 16);
  return 4;
}

/**
 * Writes the 16-octet form of an address (IPv6, or IPv4 mapped as ::ffff:a.b.c.d) at
 * out[off..off+16]: the form ClickHouse's FixedString(16) column and protobuf's bytes field
 * hold. '' and text that is not an address are written as 16 zero octets; returns false for those.
 */
export function writeIp16(s: string, out: Uint8Array, off: number): boolean {
  if (s.length !== 0 && s.indexOf(':') < 0 && parseV4(s, 0, out, off + 12)) {
    for (let k = 0; k < 10; k++) out[off + k] = 0;
    out[off + 10] = 0xff;
    out[off + 11] = 0xff;
    return true;
  }
  const v = parseIpInto(s, parsed);
  if (v === 4) {
    for (let k = 0; k < 10; k++) out[off + k] = 0;
    out[off + 10] = 0xff;
    out[off + 11] = 0xff;
    for (let k = 0; k < 4; k++) out[off + 12 + k] = parsed[k];
    return true;
  }
  if (v === 6) {
    for (let k = 0; k < 16; k++) out[off + k] = parsed[k];
    return true;
  }
  for (let k = 0; k < 16; k++) out[off + k] = 0;
  return false;
}

const parsed = new Uint8Array(16);

/** True when the text is a dotted-quad IPv4 address (no leading zeros, nothing around it). */
export function isIPv4Text(s: string): boolean {
  return s.length !== 0 && s.indexOf(':') < 0 && parseV4(s, 0, check, 0);
}

/** True when the text is an IPv6 address (RFC 4291 text forms, IPv4-mapped ones included). */
export function isIPv6Text(s: string): boolean {
  return s.indexOf(':') >= 0 && parseV6(s, check, 0);
}

const check = new Uint8Array(16);

/**
 * The fixed-family writers of the NetFlow/IPFIX encoders: a 4-octet IPv4 or a 16-octet
 * IPv6 field straight into the packet. '' writes zeros (the absent address on the wire)
 * and returns true; text that is not an address of that family writes zeros and returns false.
 */
export function writeIPv4(buf: Uint8Array, off: number, s: string): boolean {
  if (s.length !== 0 && parseV4(s, 0, buf, off)) return true;
  buf[off] = buf[off + 1] = buf[off + 2] = buf[off + 3] = 0;
  return s.length === 0;
}

/** See writeIPv4: 16 octets; IPv4-mapped text is written in its mapped form. */
export function writeIPv6(buf: Uint8Array, off: number, s: string): boolean {
  if (s.length !== 0 && parseV6(s, buf, off)) return true;
  buf.fill(0, off, off + 16);
  return s.length === 0;
}
