/**
 * ClickHouse's Native format for flows: one block per chunk, columnar, the same columns and
 * values as the RowBinary encoder (flow-rowbinary.ts: batch_id, then every canonical column
 * in schema order, FLOW_INSERT_COLUMNS), generated from the same schema and types
 * (CLICKHOUSE_TYPE, STORAGE_COLUMNS). ClickHouse deserializes a Native column with one
 * bulk read instead of one call per value and row, so it spends less CPU on the insert
 * (bench/native.bench.ts measures both sides).
 *
 * The block, as 18.16 and current releases read and write it over HTTP (no block-info
 * header there: that is the native TCP protocol's, for clients that send a revision):
 *   varint columns, varint rows, then per column: String name, String type, the data.
 * Data: fixed-width values little-endian and contiguous (DateTime: UInt32 seconds;
 * FixedString(16): 16 bytes per row); String: varint length + bytes per row. A body of
 * several blocks is several chunks: ClickHouse reads them in turn and squashes them into
 * one insert block as it does RowBinary rows (min_insert_block_size_rows).
 *
 * Why it is fast: each column is a preallocated typed array (or a byte buffer for String
 * columns) written at the row's index, one store per value (two for UInt64, four word
 * stores for an address), from a writer generated once from the column list like the
 * RowBinary one (named property loads, so V8 sees monomorphic code); batch_id, constant over
 * a chunk, is not written per row at all but filled at take(); take() copies every column
 * once into the block. Values are converted exactly as flow-rowbinary.ts converts them (the
 * tests hold the two equal, through ClickHouse too).
 */
import { COLUMNS, type ColumnKind, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import { writeIp16 } from '../../protocol/src/schema/ip.ts';
import { allocTransfer } from '../../common/transfer-pool.ts';
import { newFlowRowBuffer, nextBatchId, writeVarintString } from './flow-rowbinary.ts';
import { CLICKHOUSE_TYPE, STORAGE_COLUMNS } from './rowbinary.ts';

/** Typed arrays hold the platform's byte order; the format is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The Native type name and the bytes per row of a fixed-width column kind (0: String). */
const NATIVE_WIDTH: Record<ColumnKind, number> = {
  datetime: 4,
  ip: 16,
  mac: 8,
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  string: 0,
};

/** The block's columns in insert order: batch_id first, then the schema's (FLOW_INSERT_COLUMNS). */
export const NATIVE_FLOW_COLUMNS: readonly { name: string; type: string }[] = (() => {
  if (
    STORAGE_COLUMNS.length !== 1 ||
    STORAGE_COLUMNS[0].name !== 'batch_id' ||
    STORAGE_COLUMNS[0].type !== 'UInt64'
  )
    throw new Error(
      'flow-native.ts writes batch_id UInt64 as the only storage column: update it with STORAGE_COLUMNS',
    );
  return [...STORAGE_COLUMNS, ...COLUMNS.map((c) => ({ name: c.name, type: CLICKHOUSE_TYPE[c.kind] }))];
})();

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A Native String: varint length, then UTF-8. */
function nativeString(s: string): Buffer {
  const text = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from(varintBytes(text.length)), text]);
}

/** Each column's name and type as they precede its data in a block. */
const COLUMN_HEADERS: readonly Buffer[] = NATIVE_FLOW_COLUMNS.map((c) =>
  Buffer.concat([nativeString(c.name), nativeString(c.type)]),
);

/** One flows encoder: rows in, one Native block per take(). */
export interface NativeFlowEncoder {
  /** Appends one flow to the current block. */
  write(rec: FlowRecord): void;
  /**
   * The block of the rows written since the last take, as a view over a transferable
   * ArrayBuffer of its own (common/transfer-pool.ts; empty when no row); starts the next block.
   */
  take(): Uint8Array;
  /** rows in the current block */
  readonly rows: number;
  /** the current block's batch id, high and low 32 bits (0 before its first row) */
  readonly batchHi: number;
  readonly batchLo: number;
}

interface IpCache {
  key: string;
  bytes: Uint8Array;
  words: Uint32Array;
}

/** Parses an address into the cache when its text differs from the last one (see flow-rowbinary.ts). */
function ipWords(s: string, c: IpCache): Uint32Array {
  if (s !== c.key) {
    writeIp16(s, c.bytes, 0);
    c.key = s;
  }
  return c.words;
}

/** u64 values the fast path does not take: bigint, above 2^32, negative, fractional, NaN (as u64Slow in flow-rowbinary.ts). */
function u64Slow(a: Uint32Array, i: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    const x = BigInt.asUintN(64, v);
    a[i] = Number(x & 0xffffffffn);
    a[i + 1] = Number(x >> 32n);
  } else {
    const n = v < 0 || !Number.isFinite(v) ? 0 : Math.floor(v);
    a[i] = n % 4294967296;
    a[i + 1] = Math.floor(n / 4294967296) >>> 0;
  }
}

/** A typed array twice as long (at least `need`), the first `keep` elements kept. */
function growArray<T extends Uint8Array | Uint16Array | Uint32Array>(a: T, keep: number, need: number): T {
  let size = a.length * 2;
  while (size < need) size *= 2;
  const next = new (a.constructor as new (n: number) => T)(size);
  next.set(a.subarray(0, keep));
  return next;
}

/** String column bytes: a Buffer (writeVarintString writes UTF-8 through Buffer.write), grown like the others. */
function growBytes(b: Buffer, keep: number, need: number): Buffer {
  let size = b.length * 2;
  while (size < keep + need) size *= 2;
  const next = Buffer.allocUnsafe(size);
  b.copy(next, 0, 0, keep);
  return next;
}

/** Reverses each `width`-byte element of b[start..end) (big-endian hosts only). */
function swapBytes(b: Uint8Array, start: number, end: number, width: number): void {
  for (let o = start; o < end; o += width)
    for (let i = 0, j = width - 1; i < j; i++, j--) {
      const t = b[o + i];
      b[o + i] = b[o + j];
      b[o + j] = t;
    }
}

/** What the generated factory needs from this module. */
const RUNTIME = {
  ipWords,
  u64Slow,
  growArray,
  growBytes,
  str: writeVarintString,
  swapBytes,
  nextBatchId,
  allocBlock: allocTransfer,
  newIdHolder: () => newFlowRowBuffer(0),
  headers: COLUMN_HEADERS,
  blockPrefixColumns: varintBytes(NATIVE_FLOW_COLUMNS.length),
  varintBytes,
  littleEndian: LITTLE_ENDIAN,
};

/**
 * Generates the encoder factory from the column list: one typed array per fixed column
 * (Uint32Array for u64/mac, two words a row, and for addresses, four), one byte buffer per
 * String column, all closure variables of one generated function so the row writer loads
 * them directly.
 */
function compileEncoderFactory(): (rowsHint: number) => NativeFlowEncoder {
  const decl: string[] = [];
  const grow: string[] = [];
  const row: string[] = [];
  const sizes: string[] = [];
  const copy: string[] = [];
  COLUMNS.forEach((c, k) => {
    if (!/^[a-z_0-9]+$/.test(c.name)) throw new Error(`column name ${c.name} cannot be compiled`);
    const get = `r.${c.name}`;
    const a = `c${k}`;
    const h = `headers[${k + 1}]`;
    const width = NATIVE_WIDTH[c.kind];
    const fixed = (ctor: string, perRow: number, swapWidth: number) => {
      decl.push(`let ${a} = new ${ctor}(cap * ${perRow});`);
      grow.push(`${a} = growArray(${a}, n * ${perRow}, cap * ${perRow});`);
      sizes.push(`${h}.length + n * ${width}`);
      copy.push(
        `out.set(${h}, o); o += ${h}.length;`,
        `out.set(new Uint8Array(${a}.buffer, 0, n * ${width}), o);`,
        swapWidth > 1 ? `if (!littleEndian) swapBytes(out, o, o + n * ${width}, ${swapWidth});` : '',
        `o += n * ${width};`,
      );
    };
    switch (c.kind) {
      case 'datetime':
        fixed('Uint32Array', 1, 4);
        row.push(`v = ${get}; ${a}[i] = v > 0 ? Math.floor(v / 1000) >>> 0 : 0;`);
        break;
      case 'u8':
        fixed('Uint8Array', 1, 1);
        row.push(`${a}[i] = ${get};`);
        break;
      case 'u16':
        fixed('Uint16Array', 1, 2);
        row.push(`${a}[i] = ${get};`);
        break;
      case 'u32':
        fixed('Uint32Array', 1, 4);
        row.push(`${a}[i] = ${get};`);
        break;
      case 'u64':
      case 'mac':
        // two little-endian words a row: low, then high
        fixed('Uint32Array', 2, 4);
        row.push(
          `v = ${get};`,
          `if (typeof v === "number" && v >= 0 && v <= 4294967295 && (v >>> 0) === v) { ${a}[2 * i] = v; ${a}[2 * i + 1] = 0; }`,
          `else u64Slow(${a}, 2 * i, v);`,
        );
        break;
      case 'ip':
        // the 16 octets as four words, copied from the parsed cache (same bytes, whatever the byte order)
        fixed('Uint32Array', 4, 1);
        decl.push(
          `const ip${k} = { key: '', bytes: new Uint8Array(16), words: null }; ip${k}.words = new Uint32Array(ip${k}.bytes.buffer);`,
        );
        row.push(
          `w = ipWords(${get}, ip${k});`,
          `${a}[4 * i] = w[0]; ${a}[4 * i + 1] = w[1]; ${a}[4 * i + 2] = w[2]; ${a}[4 * i + 3] = w[3];`,
        );
        break;
      case 'string':
        decl.push(`let ${a} = Buffer.allocUnsafe(cap * 16); let o${k} = 0;`);
        row.push(
          `s = ${get} ?? '';`,
          // 3 bytes per UTF-16 unit bounds the UTF-8 length, 5 the varint
          `if (o${k} + 3 * s.length + 5 > ${a}.length) ${a} = growBytes(${a}, o${k}, 3 * s.length + 5);`,
          `o${k} = str(${a}, o${k}, s);`,
        );
        sizes.push(`${h}.length + o${k}`);
        copy.push(`out.set(${h}, o); o += ${h}.length;`, `out.set(${a}.subarray(0, o${k}), o); o += o${k};`);
        break;
    }
    if (width === 0 && c.kind !== 'string') throw new Error(`no Native width for ${c.kind}`);
  });
  const resetStrings = COLUMNS.flatMap((c, k) => (c.kind === 'string' ? [`o${k} = 0;`] : []));
  const saveStrings = COLUMNS.flatMap((c, k) => (c.kind === 'string' ? [`const at${k} = o${k};`] : []));
  const restoreStrings = COLUMNS.flatMap((c, k) => (c.kind === 'string' ? [`o${k} = at${k};`] : []));
  const body = `
return function create(rowsHint) {
  let cap = Math.max(16, rowsHint | 0);
  let n = 0;
  const id = newIdHolder();
  ${decl.join('\n  ')}
  function growRows() {
    cap *= 2;
    ${grow.join('\n    ')}
  }
  function write(r) {
    if (n === 0) nextBatchId(id);
    else if (n === cap) growRows();
    const i = n;
    let v, w, s;
    ${saveStrings.join(' ')}
    try {
      ${row.join('\n      ')}
    } catch (err) {
      // a value no column can take: the row is left out whole, as the RowBinary writer leaves it
      ${restoreStrings.join(' ')}
      throw err;
    }
    n = i + 1;
  }
  function take() {
    if (n === 0) return new Uint8Array(0);
    const rowsVarint = varintBytes(n);
    const total = blockPrefixColumns.length + rowsVarint.length + headers[0].length + 8 * n + ${sizes.join(' + ')};
    // every byte is written below (checked); an own ArrayBuffer, to transfer
    const out = allocBlock(total);
    let o = 0;
    out.set(blockPrefixColumns, o); o += blockPrefixColumns.length;
    out.set(rowsVarint, o); o += rowsVarint.length;
    // batch_id: the chunk's id in every row, written once and doubled
    out.set(headers[0], o); o += headers[0].length;
    const lo = id.batchLo, hi = id.batchHi;
    out[o] = lo; out[o + 1] = lo >>> 8; out[o + 2] = lo >>> 16; out[o + 3] = lo >>> 24;
    out[o + 4] = hi; out[o + 5] = hi >>> 8; out[o + 6] = hi >>> 16; out[o + 7] = hi >>> 24;
    for (let filled = 8, all = 8 * n; filled < all; filled *= 2) out.copyWithin(o + filled, o, o + Math.min(filled, all - filled));
    o += 8 * n;
    ${copy.filter((l) => l !== '').join('\n    ')}
    if (o !== total) throw new Error('Native block size mismatch: ' + o + ' of ' + total);
    n = 0;
    ${resetStrings.join(' ')}
    return out;
  }
  return {
    write,
    take,
    get rows() { return n; },
    get batchHi() { return n === 0 ? 0 : id.batchHi; },
    get batchLo() { return n === 0 ? 0 : id.batchLo; },
  };
};`;
  const names = Object.keys(RUNTIME);
  const factory = new Function(...names, body);
  return factory(...names.map((k) => RUNTIME[k as keyof typeof RUNTIME])) as (
    rowsHint: number,
  ) => NativeFlowEncoder;
}

const createEncoder = compileEncoderFactory();

/**
 * A Native flows encoder whose columns start with room for `rowsHint` rows (they grow past
 * it); the decode worker's chunk size is the right hint.
 */
export function newNativeFlowEncoder(rowsHint = 5000): NativeFlowEncoder {
  return createEncoder(rowsHint);
}

/** Encodes whole rows into one Native block (one chunk: one batch id), for an INSERT … (FLOW_INSERT_COLUMNS) FORMAT Native. */
export function encodeFlowsNative(rows: readonly FlowRecord[]): Buffer {
  const enc = newNativeFlowEncoder(rows.length);
  for (const r of rows) enc.write(r);
  const block = enc.take();
  return Buffer.from(block.buffer, block.byteOffset, block.byteLength);
}

/** Thrown for bytes that are not whole Native blocks of the expected columns. */
export class NativeFormatError extends Error {}

/** One column of a block read back: where its data lies, and for String columns each value's [start, end). */
export interface NativeColumn {
  name: string;
  type: string;
  /** bytes per row; 0 for String */
  width: number;
  start: number;
  end: number;
  /** String only: row i's text is b[textStart[i] .. textEnd[i]) */
  textStart?: number[];
  textEnd?: number[];
}

export interface NativeBlock {
  rows: number;
  columns: NativeColumn[];
  /** the block's byte range in the body */
  start: number;
  end: number;
}

const FIXED_TYPE_WIDTH: Record<string, number> = {
  UInt8: 1,
  Int8: 1,
  UInt16: 2,
  Int16: 2,
  UInt32: 4,
  Int32: 4,
  Float32: 4,
  DateTime: 4,
  Date: 2,
  UInt64: 8,
  Int64: 8,
  Float64: 8,
};

/**
 * Reads the layout of a Native body (one block after another) of fixed-width, FixedString
 * and String columns: what the tests compare and what a Native batch's readers (the
 * stored check, a replay) need. Not the hot path. Throws NativeFormatError on anything else.
 */
export function readNativeBlocks(b: Uint8Array): NativeBlock[] {
  const blocks: NativeBlock[] = [];
  let o = 0;
  const varint = (what: string): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (o >= b.length || shift > 28) throw new NativeFormatError(`bad ${what} at byte ${o}`);
      const x = b[o++];
      v += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) return v;
    }
  };
  const text = (what: string): string => {
    const n = varint(`${what} length`);
    if (o + n > b.length) throw new NativeFormatError(`${what} cut short at byte ${o}`);
    const s = Buffer.from(b.buffer, b.byteOffset + o, n).toString('utf8');
    o += n;
    return s;
  };
  while (o < b.length) {
    const start = o;
    const ncols = varint('column count');
    const rows = varint('row count');
    const columns: NativeColumn[] = [];
    for (let c = 0; c < ncols; c++) {
      const name = text('column name');
      const type = text('column type');
      const fixed = /^FixedString\((\d+)\)$/.exec(type);
      const width = fixed ? Number(fixed[1]) : (FIXED_TYPE_WIDTH[type] ?? (type === 'String' ? 0 : -1));
      if (width < 0) throw new NativeFormatError(`column ${name}: type ${type} is not read here`);
      const colStart = o;
      if (width > 0) {
        o += width * rows;
        if (o > b.length) throw new NativeFormatError(`column ${name} cut short`);
        columns.push({ name, type, width, start: colStart, end: o });
      } else {
        const textStart: number[] = new Array(rows);
        const textEnd: number[] = new Array(rows);
        for (let r = 0; r < rows; r++) {
          const n = varint(`column ${name} string length`);
          textStart[r] = o;
          o += n;
          if (o > b.length) throw new NativeFormatError(`column ${name} cut short`);
          textEnd[r] = o;
        }
        columns.push({ name, type, width, start: colStart, end: o, textStart, textEnd });
      }
    }
    blocks.push({ rows, columns, start, end: o });
  }
  return blocks;
}

/** The batch id of the first row of a Native flows body (for the insert's query_id), or undefined when it has no row. */
export function firstNativeBatchId(b: Uint8Array): { hi: number; lo: number } | undefined {
  for (const block of readNativeBlocks(b)) {
    if (block.rows === 0) continue;
    const col = block.columns[0];
    if (col?.name !== 'batch_id' || col.type !== 'UInt64')
      throw new NativeFormatError('the block does not start with batch_id UInt64');
    const d = Buffer.from(b.buffer, b.byteOffset + col.start, 8);
    return { hi: d.readUInt32LE(4), lo: d.readUInt32LE(0) };
  }
  return undefined;
}

/**
 * The same rows as RowBinary (FLOW_INSERT_COLUMNS, byte for byte what flow-rowbinary.ts
 * writes for them): so a Native batch can go through what reads RowBinary rows (the stored
 * check of flow-batches.ts, a partial replay). Throws NativeFormatError unless every block
 * has exactly NATIVE_FLOW_COLUMNS in order.
 */
export function nativeFlowsToRowBinary(b: Uint8Array): Buffer {
  const blocks = readNativeBlocks(b);
  for (const block of blocks) {
    const got = block.columns.map((c) => `${c.name} ${c.type}`).join(', ');
    const want = NATIVE_FLOW_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ');
    if (got !== want)
      throw new NativeFormatError(`a block's columns are not the flows insert columns: ${got}`);
  }
  // every value once, plus at most 4 more bytes per String varint than the Native one took (none: same varints)
  const out = Buffer.allocUnsafe(blocks.reduce((n, k) => n + (k.end - k.start), 0));
  const src = Buffer.from(b.buffer, b.byteOffset, b.length);
  let o = 0;
  for (const block of blocks) {
    for (let r = 0; r < block.rows; r++) {
      for (const c of block.columns) {
        if (c.width > 0) o += src.copy(out, o, c.start + r * c.width, c.start + (r + 1) * c.width);
        else {
          const s = (c.textStart as number[])[r];
          const e = (c.textEnd as number[])[r];
          for (const x of varintBytes(e - s)) out[o++] = x;
          o += src.copy(out, o, s, e);
        }
      }
    }
  }
  return out.subarray(0, o);
}

/** How every Native flows block starts after its two varints: the batch_id column's name and type. */
const FIRST_COLUMN_HEADER = COLUMN_HEADERS[0];

/**
 * Whether a body is Native flows blocks (as this encoder writes them) rather than RowBinary
 * rows: for the paths that may hold either (a spooled batch, a replay). A RowBinary body
 * starts with a batch id and a time; for it to read as this header, the random half of the
 * id and the time would have to spell "atch_id", which they cannot do by chance (2^-56).
 */
export function isNativeFlowsBody(b: Uint8Array): boolean {
  const prefix = RUNTIME.blockPrefixColumns;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  let o = prefix.length;
  while (o < b.length && b[o] >= 0x80) o++; // the row count
  o++;
  if (o + FIRST_COLUMN_HEADER.length > b.length) return false;
  for (let i = 0; i < FIRST_COLUMN_HEADER.length; i++) if (b[o + i] !== FIRST_COLUMN_HEADER[i]) return false;
  return true;
}

/**
 * The insert's query_id for Native parts, as flow-batches.ts's insertQueryId makes it for
 * RowBinary ones: `prefix` (FLOW_ROWS.queryIdPrefix) and the first row's batch id in hex.
 */
export function nativeInsertQueryId(parts: readonly Uint8Array[], prefix: string): string | undefined {
  for (const p of parts) {
    const id = firstNativeBatchId(p);
    if (id) return `${prefix}${id.hi.toString(16).padStart(8, '0')}${id.lo.toString(16).padStart(8, '0')}`;
  }
  return undefined;
}
