/**
 * Value readers shared by the compiled record decoders and the generic options reader.
 * Callers have already checked that [p, p + len) lies inside the buffer; these functions
 * never read outside it and never throw.
 */
import { ipv4ToString, ipv6ToString } from '../capture/udp.ts';
import { macToString } from '../schema/json.ts';

const TWO32 = 4294967296;
/** above this high word a 64-bit value no longer fits a double exactly (2^53 / 2^32) */
const SAFE_HIGH = 0x200000;
/** seconds between the NTP era 0 epoch (1900) and the Unix epoch */
const NTP_UNIX_OFFSET = 2208988800;

/** Unsigned big-endian integer of 0..8 octets: number, or bigint above 2^53. */
export function readUnsigned(b: Buffer, p: number, len: number): number | bigint {
  if (len <= 0) return 0;
  if (len > 8) return readUnsigned(b, p + len - 8, 8);
  if (len <= 6) {
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + b[p + i];
    return v;
  }
  let hi = 0;
  for (let i = 0; i < len - 4; i++) hi = hi * 256 + b[p + i];
  const q = p + len - 4;
  const lo = b[q] * 16777216 + ((b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3]);
  if (hi < SAFE_HIGH) return hi * TWO32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** 8-octet counter read as two 32-bit halves; bigint only when it exceeds 2^53. */
export function readU64(b: Buffer, p: number): number | bigint {
  const hi = b[p] * 16777216 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  const lo = b[p + 4] * 16777216 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
  if (hi < SAFE_HIGH) return hi * TWO32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Unsigned value as a plain number (for u8/u16/u32 columns; wider values keep their low 32 bits). */
export function readNumber(b: Buffer, p: number, len: number): number {
  const v = readUnsigned(b, p, len);
  return typeof v === 'bigint' ? Number(v & 0xffffffffn) : v;
}

export function readSigned(b: Buffer, p: number, len: number): number | bigint {
  if (len <= 0 || len > 8) return 0;
  const u = readUnsigned(b, p, len);
  const bits = BigInt(len * 8);
  const big = typeof u === 'bigint' ? u : BigInt(u);
  const s = BigInt.asIntN(Number(bits), big);
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

export function readFloat(b: Buffer, p: number, len: number): number | string {
  if (len === 4) return b.readFloatBE(p);
  if (len === 8) return b.readDoubleBE(p);
  return readHex(b, p, len);
}

export function readHex(b: Buffer, p: number, len: number): string {
  return b.toString('hex', p, p + len);
}

/** Text field: UTF-8, with the NUL padding fixed-length strings carry removed. */
export function readString(b: Buffer, p: number, len: number): string {
  let end = p + len;
  while (end > p && b[end - 1] === 0) end--;
  return b.toString('utf8', p, end);
}

export function readIp(b: Buffer, p: number, len: number): string {
  if (len === 4) return ipv4ToString(b, p);
  if (len === 16) return ipv6ToString(b, p);
  return '';
}

export { ipv4ToString, ipv6ToString };

/** 48-bit MAC as a number (FlowRecord 'mac' kind). */
export function readMacNumber(b: Buffer, p: number, len: number): number {
  if (len !== 6) return 0;
  return (
    ((b[p] << 8) | b[p + 1]) * TWO32 + b[p + 2] * 16777216 + ((b[p + 3] << 16) | (b[p + 4] << 8) | b[p + 5])
  );
}

export function readMacString(b: Buffer, p: number, len: number): string {
  if (len !== 6) return readHex(b, p, len);
  return macToString(readMacNumber(b, p, len));
}

/**
 * NTP-format timestamp (RFC 7011 §6.1.9/10: seconds since 1900 + 2^-32 fractions) to Unix
 * ms. Era 1 starts in 2036: a seconds value with the top bit clear is read as era 1, as
 * RFC 4330 suggests, since no exporter reports times before 1968.
 */
export function readNtpMs(b: Buffer, p: number): number {
  const sec = b[p] * 16777216 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  const frac = b[p + 4] * 16777216 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
  const unixSec = sec >= 0x80000000 ? sec - NTP_UNIX_OFFSET : sec + TWO32 - NTP_UNIX_OFFSET;
  return unixSec * 1000 + Math.floor((frac / TWO32) * 1000);
}

/** Adds two counters that may be number or bigint (ASA initiator + responder octets). */
export function addCounters(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (s <= Number.MAX_SAFE_INTEGER) return s;
  }
  const s = BigInt(a) + BigInt(b);
  return s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

export { macToString };
