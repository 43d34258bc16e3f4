/**
 * The collector's protobuf file encoder: length-delimited FlowMessages (protocol/proto/flow.proto)
 * written straight into the output buffer by a writer generated from the schema, decoding to
 * exactly what protocol/src/schema/protobuf.ts encodeFlowDelimited() gives (a property test
 * holds them equal). protobufjs' fromObject + encode per flow, with a BigInt per timestamp,
 * cost more than decoding the flow did.
 *
 * Fields at their default (0, empty) are left out, as proto3 allows; every field is written
 * in schema order, its tag as literal bytes. Timestamps are milliseconds × 10^6 as uint64,
 * computed exactly in doubles (a double cannot hold nanoseconds since 1970). Each timestamp
 * and address field remembers its last value and encoding: the records of one datagram
 * mostly share their receive time, often their start and end and one of their addresses, and
 * comparing costs less than encoding again. The message is written after room for its
 * length prefix, guessed from the previous message; a wrong guess costs one copyWithin.
 */
import { COLUMNS, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { writeIp16 } from '../../../protocol/src/schema/ip.ts';
import {
  growOutputBuffer,
  newOutputBuffer,
  type OutputBuffer,
  takeOutputBuffer,
} from '../../../common/output-buffer.ts';
import { writeVarintString as text } from '../../../storage/src/flow-rowbinary.ts';
import { OUTPUT_BUFFER_BYTES, type OutputDriver } from './output.ts';

const TWO28 = 268435456;

function varint32(b: Buffer, o: number, v: number): number {
  v >>>= 0;
  while (v > 127) {
    b[o++] = (v & 127) | 128;
    v >>>= 7;
  }
  b[o++] = v;
  return o;
}

/** An unsigned varint of hi·2^28 + lo (lo < 2^28, hi < 2^36), from doubles. */
function varintSplit(b: Buffer, o: number, hi: number, lo: number): number {
  if (hi === 0) return varint32(b, o, lo);
  for (let k = 0; k < 4; k++) {
    b[o++] = (lo & 127) | 128;
    lo >>>= 7;
  }
  while (hi > 127) {
    b[o++] = (hi % 128) | 128;
    hi = Math.floor(hi / 128);
  }
  b[o++] = hi;
  return o;
}

function u64(b: Buffer, o: number, v: number | bigint): number {
  if (typeof v === 'number') {
    if (v >= 0 && v <= 0x7fffffff && Math.floor(v) === v) return varint32(b, o, v);
    const n = v > 0 && Number.isFinite(v) ? Math.floor(v) : 0;
    const hi = Math.floor(n / TWO28);
    return varintSplit(b, o, hi, n - hi * TWO28);
  }
  let x = BigInt.asUintN(64, v);
  while (x > 127n) {
    b[o++] = Number(x & 127n) | 128;
    x >>= 7n;
  }
  b[o++] = Number(x);
  return o;
}

/** ms since the epoch → ns as a uint64 varint, exactly: ms = q·2^28 + r, ns = q·10^6·2^28 + r·10^6. */
function nanos(b: Buffer, o: number, ms: number): number {
  const m = Number.isFinite(ms) ? Math.round(ms) : 0;
  const q = Math.floor(m / TWO28);
  const r1 = (m - q * TWO28) * 1e6;
  const carry = Math.floor(r1 / TWO28);
  return varintSplit(b, o, q * 1e6 + carry, r1 - carry * TWO28);
}

interface FieldCache {
  key: number | string;
  len: number;
  bytes: Uint8Array;
}

function cached(b: Buffer, o: number, c: FieldCache): number {
  const n = c.len;
  const src = c.bytes;
  for (let i = 0; i < n; i++) b[o + i] = src[i];
  return o + n;
}

function remember(b: Buffer, from: number, to: number, c: FieldCache, v: number | string): number {
  c.key = v;
  c.len = to - from;
  for (let i = from; i < to; i++) c.bytes[i - from] = b[i];
  return to;
}

/** Literal stores of a field's tag varint. */
function tagBytes(field: number, wireType: number): string {
  const bytes: number[] = [];
  let v = (field << 3) | wireType;
  while (v > 127) {
    bytes.push((v & 127) | 128);
    v >>>= 7;
  }
  bytes.push(v);
  return bytes.map((x) => `b[o++] = ${x};`).join(' ');
}

type MessageWriter = (b: Buffer, o: number, rec: FlowRecord) => number;

/** Largest size of every field but the strings' text (tag ≤ 3, varint ≤ 10, address 17). */
const FIXED_MAX = COLUMNS.length * 30;

function compile(): { write: MessageWriter; bound: (r: FlowRecord) => number } {
  const lines = ['let v;'];
  const caches: FieldCache[] = [];
  const cache = () => {
    caches.push({ key: -1, len: 0, bytes: new Uint8Array(20) });
    return `caches[${caches.length - 1}]`;
  };
  const strings: string[] = [];
  for (const c of COLUMNS) {
    if (!/^[a-z_0-9]+$/.test(c.name)) throw new Error(`column name ${c.name} cannot be compiled`);
    const get = `r.${c.name}`;
    const varintTag = tagBytes(c.protobufField, 0);
    const lenTag = tagBytes(c.protobufField, 2);
    switch (c.kind) {
      case 'datetime': {
        const k = cache();
        lines.push(
          `v = ${get}; if (v > 0) { ${varintTag} if (v === ${k}.key) o = cached(b, o, ${k}); else o = remember(b, o, nanos(b, o, v), ${k}, v); }`,
        );
        break;
      }
      case 'ip': {
        const k = cache();
        lines.push(
          `v = ${get}; if (v !== '') { ${lenTag} b[o++] = 16; if (v === ${k}.key) o = cached(b, o, ${k}); else { writeIp16(v, b, o); o = remember(b, o, o + 16, ${k}, v); } }`,
        );
        break;
      }
      case 'mac':
      case 'u64':
        lines.push(`v = ${get}; if (v !== 0 && v !== 0n) { ${varintTag} o = u64(b, o, v); }`);
        break;
      case 'u8':
      case 'u16':
      case 'u32':
        lines.push(
          `v = ${get}; if (v !== 0) { ${varintTag} if (v > 0 && v < 128) b[o++] = v; else o = varint32(b, o, v); }`,
        );
        break;
      case 'string':
        strings.push(get);
        lines.push(`v = ${get}; if (v) { ${lenTag} o = text(b, o, v); }`);
        break;
    }
  }
  lines.push('return o;');
  const factory = new Function(
    'varint32',
    'nanos',
    'writeIp16',
    'u64',
    'text',
    'caches',
    'cached',
    'remember',
    `return function writeFlowMessage(b, o, r) {\n${lines.join('\n')}\n};`,
  );
  // 3 octets per UTF-16 unit bound a string's UTF-8 length, 5 its length prefix
  const bound = new Function(
    'r',
    `return ${FIXED_MAX + 5}${strings.map((g) => ` + 3 * (${g} ?? '').length + 5`).join('')};`,
  );
  return {
    write: factory(varint32, nanos, writeIp16, u64, text, caches, cached, remember) as MessageWriter,
    bound: bound as (r: FlowRecord) => number,
  };
}

const { write: writeMessage, bound: messageBound } = compile();

/** Octets reserved for the next length prefix: what the previous message needed. */
let prefixGuess = 1;

/** Appends one length-delimited FlowMessage. */
export function writeProtobufRecord(out: OutputBuffer, rec: FlowRecord): void {
  const need = messageBound(rec);
  if (out.off + need > out.buf.length) growOutputBuffer(out, need);
  const b = out.buf;
  const start = out.off + prefixGuess;
  const len = writeMessage(b, start, rec) - start;
  const prefix = len < 128 ? 1 : len < 16384 ? 2 : len < 2097152 ? 3 : 4;
  if (prefix !== prefixGuess) {
    b.copyWithin(out.off + prefix, start, start + len);
    prefixGuess = prefix;
  }
  const end = varint32(b, out.off, len);
  out.off = end + len;
  out.rows++;
}

/** The protobuf file output (output.ts): length-delimited FlowMessages. */
export const protobufOutput: OutputDriver = {
  name: 'protobuf',
  keepExtra: false,
  create() {
    const out = newOutputBuffer(OUTPUT_BUFFER_BYTES);
    return { write: (rec) => writeProtobufRecord(out, rec), take: () => takeOutputBuffer(out) };
  },
};
