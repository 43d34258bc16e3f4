/**
 * The collector's protobuf file encoder: length-delimited FlowMessages (protocol/proto/flow.proto)
 * written straight into a byte buffer, decoding to exactly what protocol/src/schema/protobuf.ts
 * encodeFlowDelimited() gives (a property test holds them equal). protobufjs' fromObject +
 * encode per flow, with a BigInt per timestamp, cost more than decoding the flow did.
 *
 * Fields at their default (0, empty) are left out, as proto3 allows; every field is written
 * in schema order. Timestamps are milliseconds × 10^6 as uint64, computed exactly in two
 * 32-bit halves (a double cannot hold nanoseconds since 1970).
 */
import { COLUMNS, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { writeIp16 } from '../../../storage/src/rowbinary.ts';
import type { FlowRowBuffer } from '../../../storage/src/flow-rowbinary.ts';

const scratch = Buffer.allocUnsafe(1 << 16);
let sOff = 0;

function varint32(v: number): void {
  v >>>= 0;
  while (v > 127) {
    scratch[sOff++] = (v & 127) | 128;
    v >>>= 7;
  }
  scratch[sOff++] = v;
}

/** An unsigned 64-bit varint from its high and low 32-bit halves. */
function varint64(hi: number, lo: number): void {
  hi >>>= 0;
  lo >>>= 0;
  while (hi > 0 || lo > 127) {
    scratch[sOff++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  scratch[sOff++] = lo;
}

function u64(v: number | bigint): void {
  if (typeof v === 'bigint') {
    const x = BigInt.asUintN(64, v);
    varint64(Number(x >> 32n), Number(x & 0xffffffffn));
  } else {
    const n = v > 0 && Number.isFinite(v) ? Math.floor(v) : 0;
    varint64(Math.floor(n / 4294967296), n % 4294967296);
  }
}

/** ms since the epoch → ns as uint64, exactly: ns = A·2^20 + B with A = q·10^6, B = r·10^6. */
function nanos(ms: number): void {
  const m = ms > 0 && Number.isFinite(ms) ? Math.round(ms) : 0;
  const q = Math.floor(m / 1048576);
  const r = m - q * 1048576;
  const a = q * 1e6;
  const b = r * 1e6;
  const ah = Math.floor(a / 4096);
  const al = a - ah * 4096;
  const low = al * 1048576 + b;
  const carry = Math.floor(low / 4294967296);
  varint64(ah + carry, low - carry * 4294967296);
}

function ip(s: string): void {
  if (s === '') return;
  scratch[sOff++] = 16;
  writeIp16(s, scratch, sOff);
  sOff += 16;
}

function text(s: string): void {
  const len = Buffer.byteLength(s);
  varint32(len);
  sOff += scratch.write(s, sOff, 'utf8');
}

type MessageWriter = (rec: FlowRecord) => void;

function compile(): MessageWriter {
  const lines: string[] = [];
  for (const c of COLUMNS) {
    const get = `r.${c.name}`;
    const tagVarint = (c.protobufField << 3) | 0;
    const tagBytes = (c.protobufField << 3) | 2;
    switch (c.kind) {
      case 'datetime':
        lines.push(`if (${get} > 0) { varint32(${tagVarint}); nanos(${get}); }`);
        break;
      case 'ip':
        lines.push(`if (${get} !== '') { varint32(${tagBytes}); ip(${get}); }`);
        break;
      case 'mac':
      case 'u64':
        lines.push(`if (${get} !== 0 && ${get} !== 0n) { varint32(${tagVarint}); u64(${get}); }`);
        break;
      case 'u8':
      case 'u16':
      case 'u32':
        lines.push(`if (${get} !== 0) { varint32(${tagVarint}); varint32(${get}); }`);
        break;
      case 'string':
        lines.push(`if (${get}) { varint32(${tagBytes}); text(${get}); }`);
        break;
    }
  }
  const factory = new Function(
    'varint32',
    'nanos',
    'ip',
    'u64',
    'text',
    `return function (r) {\n${lines.join('\n')}\n};`,
  );
  return factory(varint32, nanos, ip, u64, text) as MessageWriter;
}

const writeMessage = compile();

function grow(out: FlowRowBuffer, need: number): void {
  let size = out.buf.length * 2;
  while (size < out.off + need) size *= 2;
  const next = Buffer.allocUnsafeSlow(size);
  out.buf.copy(next, 0, 0, out.off);
  out.buf = next;
}

/** Appends one length-delimited FlowMessage. */
export function writeProtobufRecord(out: FlowRowBuffer, rec: FlowRecord): void {
  sOff = 0;
  writeMessage(rec);
  const len = sOff;
  if (out.off + len + 5 > out.buf.length) grow(out, len + 5);
  let o = out.off;
  let v = len;
  while (v > 127) {
    out.buf[o++] = (v & 127) | 128;
    v >>>= 7;
  }
  out.buf[o++] = v;
  scratch.copy(out.buf, o, 0, len);
  out.off = o + len;
  out.rows++;
}
