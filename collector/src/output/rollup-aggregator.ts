/**
 * The rollup aggregation of one chunk: flows summed by (minute of time_received, every
 * rollup dimension of the schema), then written as staging rows (ROLLUP_INSERT_COLUMNS,
 * RowBinary). It runs in the decode workers beside the RowBinary writer, once per flow, so
 * it is built for speed like that writer:
 *
 * - the hot function is generated from ROLLUP_DIMENSIONS (one straight function, named
 *   property loads), so a column marked `rollup: true` is one edit in the schema;
 * - the key is never built as a string or as bytes: each dimension is normalised the way
 *   the RowBinary writer stores it (u8 `& 0xff`, u16 `& 0xffff`, u32 `>>> 0`, strings `?? ''`),
 *   hashed, and compared field by field with the entry found in an open-addressing table
 *   (struct of arrays); a string's hash is cached per column while the text stays the same
 *   (the tenant, network and subnet strings come from the inventory, the exporter from the
 *   datagram, so consecutive flows share them);
 * - measures are summed in Float64Arrays while they stay exact (≤ 2^53); a bigint counter or
 *   a sum past 2^53 moves that entry to BigInt sums, so the rollup's totals equal the raw
 *   table's to the unit (UInt64 sums wrap alike on both sides).
 *
 * Entries are only written at take(): one row per distinct key, not per flow.
 */
import type { Column, FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { writeIp16 } from '../../../protocol/src/schema/ip.ts';
import { growOutputBuffer } from '../../../common/output-buffer.ts';
import { ROLLUP_DIMENSIONS, ROLLUP_MEASURES } from '../../../storage/src/ddl.ts';
import { type FlowRowBuffer, nextBatchId, writeVarintString } from '../../../storage/src/flow-rowbinary.ts';

const MAX_EXACT = Number.MAX_SAFE_INTEGER;
const TWO32 = 4294967296;

/** The u64 value the RowBinary writer stores for a counter (flow-rowbinary.ts: its fast path and u64Slow). */
export function storedU64(v: number | bigint): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  const n = v < 0 || !Number.isFinite(v) ? 0 : Math.floor(v);
  const lo = n % TWO32;
  const hi = Math.floor(n / TWO32) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** FNV-1a over UTF-16 units: short strings, hashed once per change of text. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** How a dimension's value is held per entry and normalised from the record. */
type DimStore = 'u32' | 'string' | 'any';

function storeOf(c: Column): DimStore {
  switch (c.kind) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'datetime':
      return 'u32';
    case 'ip':
    case 'string':
      return 'string';
    default:
      return 'any'; // u64, mac: number or bigint, compared as they come
  }
}

function normalise(c: Column, get: string): string {
  switch (c.kind) {
    case 'u8':
      return `(${get} & 0xff)`;
    case 'u16':
      return `(${get} & 0xffff)`;
    case 'u32':
      return `(${get} >>> 0)`;
    case 'datetime':
      return `(${get} > 0 ? Math.floor(${get} / 1000) >>> 0 : 0)`;
    case 'ip':
    case 'string':
      return `(${get} ?? '')`;
    default:
      return get;
  }
}

interface State {
  /** entries in use */
  count: number;
  capacity: number;
  /** open-addressing slots: entry index + 1, 0 = empty */
  slots: Int32Array;
  mask: number;
  hash: Int32Array;
  slotOf: Int32Array;
  minute: Uint32Array;
  /** one array per rollup dimension, in ROLLUP_DIMENSIONS order */
  dims: (Uint32Array | unknown[])[];
  /** bytes, packets, flows while exact */
  sums: Float64Array[];
  /** an entry's sums once one of them left the exact range (or a counter was a bigint) */
  big: (bigint[] | undefined)[];
}

function newState(capacity: number): State {
  const slots = 1 << Math.ceil(Math.log2(capacity * 2));
  return {
    count: 0,
    capacity,
    slots: new Int32Array(slots),
    mask: slots - 1,
    hash: new Int32Array(capacity),
    slotOf: new Int32Array(capacity),
    minute: new Uint32Array(capacity),
    dims: ROLLUP_DIMENSIONS.map((c) =>
      storeOf(c) === 'u32' ? new Uint32Array(capacity) : new Array(capacity),
    ),
    sums: ROLLUP_MEASURES.map(() => new Float64Array(capacity)),
    big: [],
  };
}

/** Doubles the entry arrays and rehashes into twice the slots. */
function grow(s: State): void {
  const next = newState(s.capacity * 2);
  next.count = s.count;
  next.minute.set(s.minute);
  next.hash.set(s.hash);
  for (const [i, d] of s.dims.entries()) {
    const to = next.dims[i];
    if (d instanceof Uint32Array) (to as Uint32Array).set(d);
    else for (let e = 0; e < s.count; e++) (to as unknown[])[e] = d[e];
  }
  for (const [i, m] of s.sums.entries()) next.sums[i].set(m);
  next.big = s.big;
  for (let e = 0; e < s.count; e++) {
    let slot = s.hash[e] & next.mask;
    while (next.slots[slot] !== 0) slot = (slot + 1) & next.mask;
    next.slots[slot] = e + 1;
    next.slotOf[e] = slot;
  }
  Object.assign(s, next);
}

/** Adds a counter the slow way: the entry's sums become BigInts. */
function addBig(s: State, e: number, measure: number, v: number | bigint): void {
  let b = s.big[e];
  if (!b) {
    b = s.sums.map((m) => BigInt(m[e]));
    s.big[e] = b;
  }
  b[measure] += storedU64(v);
}

type Add = (s: State, r: FlowRecord) => void;

/** Generates add(): hash, probe, compare, sum; one straight function over ROLLUP_DIMENSIONS. */
function compileAdd(): Add {
  const pre: string[] = [];
  const hashLines: string[] = [];
  const compare: string[] = ['s.minute[e] === m'];
  const store: string[] = ['s.minute[e] = m;'];
  const cacheVars: string[] = [];
  for (const [i, c] of ROLLUP_DIMENSIONS.entries()) {
    if (!/^[a-z_0-9]+$/.test(c.name)) throw new Error(`column name ${c.name} cannot be compiled`);
    const v = `v${i}`;
    pre.push(`const ${v} = ${normalise(c, `r.${c.name}`)};`);
    const st = storeOf(c);
    if (st === 'string') {
      cacheVars.push(`let t${i} = '', h${i} = ${hashString('')};`);
      pre.push(`if (${v} !== t${i}) { t${i} = ${v}; h${i} = hashString(${v}); }`);
      hashLines.push(`h = Math.imul(h ^ h${i}, 0x85ebca77); h ^= h >>> 15;`);
    } else if (st === 'u32') hashLines.push(`h = Math.imul(h ^ ${v}, 0x85ebca77); h ^= h >>> 15;`);
    else
      hashLines.push(
        `h = Math.imul(h ^ (typeof ${v} === 'number' ? (${v} | 0) ^ ((${v} / 4294967296) | 0) : hashString(String(${v}))), 0x85ebca77); h ^= h >>> 15;`,
      );
    compare.push(`d${i}[e] === ${v}`);
    store.push(`d${i}[e] = ${v};`);
  }
  const dimLoads = ROLLUP_DIMENSIONS.map((_, i) => `const d${i} = s.dims[${i}];`);
  const body = `
${cacheVars.join('\n')}
return function add(s, r) {
  const t = r.time_received;
  const sec = t > 0 ? Math.floor(t / 1000) >>> 0 : 0;
  const m = sec - (sec % 60);
  ${pre.join('\n  ')}
  let h = Math.imul(m, 0x9e3779b1); h ^= h >>> 16;
  ${hashLines.join('\n  ')}
  ${dimLoads.join('\n  ')}
  let slot = h & s.mask;
  let e;
  for (;;) {
    const x = s.slots[slot];
    if (x === 0) {
      if (s.count === s.capacity) { grow(s); return add(s, r); }
      e = s.count++;
      s.slots[slot] = e + 1;
      s.slotOf[e] = slot;
      s.hash[e] = h;
      ${store.join('\n      ')}
      s.sums[0][e] = 0; s.sums[1][e] = 0; s.sums[2][e] = 0;
      s.big[e] = undefined;
      break;
    }
    e = x - 1;
    if (s.hash[e] === h && ${compare.join(' && ')}) break;
    slot = (slot + 1) & s.mask;
  }
  const b = r.bytes;
  const p = r.packets;
  const big = s.big[e];
  if (big === undefined && typeof b === 'number' && typeof p === 'number' && b >= 0 && p >= 0 && b === Math.floor(b) && p === Math.floor(p)) {
    const sb = s.sums[0][e] + b;
    const sp = s.sums[1][e] + p;
    if (sb <= ${MAX_EXACT} && sp <= ${MAX_EXACT}) {
      s.sums[0][e] = sb;
      s.sums[1][e] = sp;
      s.sums[2][e] += 1;
      return;
    }
  }
  addBig(s, e, 0, b);
  addBig(s, e, 1, p);
  s.big[e][2] += 1n;
};`;
  if (ROLLUP_MEASURES.map((m) => m.name).join() !== 'bytes,packets,flows')
    throw new Error('the rollup aggregator sums bytes, packets and flows: update it with ROLLUP_MEASURES');
  return new Function('hashString', 'grow', 'addBig', body)(hashString, grow, addBig) as Add;
}

/** Bytes a staging row takes at most, apart from its strings' text. */
const ROW_FIXED_BYTES =
  8 +
  4 +
  ROLLUP_DIMENSIONS.reduce((n, c) => n + ({ ip: 16, u8: 1, u16: 2, string: 5 }[c.kind as string] ?? 8), 0) +
  24;

function writeU32(b: Buffer, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

function writeU64(b: Buffer, o: number, v: number | bigint): void {
  if (typeof v === 'bigint') b.writeBigUInt64LE(BigInt.asUintN(64, v), o);
  else {
    writeU32(b, o, v % TWO32);
    writeU32(b, o + 4, Math.floor(v / TWO32) >>> 0);
  }
}

export interface RollupAggregator {
  /** Adds one flow (after sampling and enrichment, as the RowBinary writer sees it). */
  add(r: FlowRecord): void;
  /** distinct keys held */
  readonly size: number;
  /**
   * Appends one staging row per key to `out` under a new batch id, then forgets them; the
   * caller takes the bytes (takeOutputBuffer).
   */
  writeTo(out: FlowRowBuffer): void;
}

/** Each dimension's kind, and the indexes of the String ones (plain arrays: the write loop runs per rollup row). */
const DIM_KINDS: readonly string[] = ROLLUP_DIMENSIONS.map((c) => c.kind);
const STRING_DIMS: readonly number[] = DIM_KINDS.flatMap((k, i) => (k === 'string' ? [i] : []));

export function createRollupAggregator(initialKeys = 1024): RollupAggregator {
  const s = newState(initialKeys);
  const add = compileAdd();
  const ipBytes = new Uint8Array(16);
  /** the last address text written and its 16 octets: a chunk's rows share few exporters */
  let ipText: string | undefined;
  return {
    add: (r) => add(s, r),
    get size() {
      return s.count;
    },
    writeTo(out) {
      if (s.count === 0) return;
      nextBatchId(out);
      for (let e = 0; e < s.count; e++) {
        let need = ROW_FIXED_BYTES;
        for (let k = 0; k < STRING_DIMS.length; k++)
          need += 3 * (s.dims[STRING_DIMS[k]] as string[])[e].length;
        if (out.off + need > out.buf.length) growOutputBuffer(out, need);
        const b = out.buf;
        let o = out.off;
        writeU32(b, o, out.batchLo);
        writeU32(b, o + 4, out.batchHi);
        writeU32(b, o + 8, s.minute[e]);
        o += 12;
        for (let i = 0; i < DIM_KINDS.length; i++) {
          const d = s.dims[i];
          switch (DIM_KINDS[i]) {
            case 'u8':
              b[o++] = (d as Uint32Array)[e];
              break;
            case 'u16':
              b[o] = (d as Uint32Array)[e];
              b[o + 1] = (d as Uint32Array)[e] >>> 8;
              o += 2;
              break;
            case 'u32':
            case 'datetime':
              writeU32(b, o, (d as Uint32Array)[e]);
              o += 4;
              break;
            case 'ip': {
              const text = (d as string[])[e];
              if (text !== ipText) {
                writeIp16(text, ipBytes, 0);
                ipText = text;
              }
              for (let k = 0; k < 16; k++) b[o + k] = ipBytes[k];
              o += 16;
              break;
            }
            case 'string':
              o = writeVarintString(b, o, (d as string[])[e]);
              break;
            default: {
              const x = (d as (number | bigint)[])[e];
              writeU64(
                b,
                o,
                typeof x === 'number' && x >= 0 && x <= 0xffffffff && x >>> 0 === x ? x : storedU64(x),
              );
              o += 8;
            }
          }
        }
        const big = s.big[e];
        for (let m = 0; m < 3; m++) {
          writeU64(b, o, big ? BigInt.asUintN(64, big[m]) : s.sums[m][e]);
          o += 8;
        }
        out.off = o;
        out.rows++;
        s.slots[s.slotOf[e]] = 0;
      }
      s.count = 0;
      s.big.length = 0;
    },
  };
}
