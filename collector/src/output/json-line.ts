/**
 * The JSON-lines encoder of the collector's file output and of `vxflow decode`: the same
 * bytes as protocol/src/schema/json.ts toJsonLine() + '\n' in UTF-8 (a property test holds
 * them equal), written straight into a byte buffer, because building an object, three Dates
 * and a string per flow (and then joining and re-encoding the strings) was nearly all of
 * the CPU of both, most of it garbage collection.
 *
 * How: a writer generated once from the column list, after one capacity check per row,
 * stores the quoted names from a table of constants 8 bytes at a time (a store may run up
 * to 7 bytes past the text it writes: what follows overwrites them, and the capacity check
 * leaves room at the end), and a run of columns that all hold their default (the columns a
 * template does not carry) as one constant. Integers are written up to four digits per store
 * from tables; a datetime reuses the stored text of its second and adds the milliseconds; a
 * text column reuses the stored text of a value that repeats (flows of one datagram share
 * exporter, next hop, tunnel endpoints); other text that needs no escaping is copied by char
 * code. Extra (non-canonical) fields are appended as protocol/src/schema/json-extras.ts writes
 * them. Records with values out of the ordinary go through toJsonLine itself. About 0.5 µs
 * per row on this machine, against 1.1 µs for the byte-by-byte writer before it and 10 µs
 * for toJsonLine.
 */
import { COLUMNS, type ColumnKind, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { extraFieldsJson } from '../../../protocol/src/schema/json-extras.ts';
import { macToString, toJsonLine } from '../../../protocol/src/schema/json.ts';
import { OUTPUT_BUFFER_BYTES, type OutputDriver } from './output.ts';
import {
  growOutputBuffer,
  newOutputBuffer,
  type OutputBuffer,
  takeOutputBuffer,
} from '../../../common/output-buffer.ts';

/** Years 1970..9999: what toISOString writes as YYYY-MM-DDTHH:MM:SS.mmmZ. */
const MAX_PLAIN_ISO_MS = 253_402_300_799_999;
/** The last instant a Date holds (ECMAScript: 8.64e15 ms after the epoch). */
const MAX_DATE_MS = 8.64e15;
/** Room past the row for the last store's overrun. */
const SLACK = 8;

/** Most bytes a value of each kind takes, apart from the text of strings and addresses. */
const VALUE_MAX: Record<ColumnKind, number> = {
  datetime: 40,
  ip: 2,
  mac: 40,
  u8: 30,
  u16: 30,
  u32: 30,
  u64: 30,
  string: 2,
};

/** Four ASCII bytes as the little-endian 32-bit word that stores them. */
function word(a: number, b: number, c: number, d: number): number {
  return (a | (b << 8) | (c << 16) | (d << 24)) >>> 0;
}

/** DIGITS[n]: the digits of n (0..9999) without leading zeros, as a word (unused bytes 0). */
const DIGITS = new Uint32Array(10000);
/** PADDED[n]: the four digits of n (0..9999) with leading zeros, as a word. */
const PADDED = new Uint32Array(10000);
/** MILLIS[n]: '.' and the three digits of n (0..999), as a word. */
const MILLIS = new Uint32Array(1000);
for (let n = 0; n < 10000; n++) {
  const s = String(n);
  DIGITS[n] = word(s.charCodeAt(0), s.charCodeAt(1) | 0, s.charCodeAt(2) | 0, s.charCodeAt(3) | 0);
  const p = s.padStart(4, '0');
  PADDED[n] = word(p.charCodeAt(0), p.charCodeAt(1), p.charCodeAt(2), p.charCodeAt(3));
  if (n < 1000) MILLIS[n] = word(46, p.charCodeAt(1), p.charCodeAt(2), p.charCodeAt(3));
}
const Z_QUOTE = word(90, 34, 0, 0); // 'Z"'

/**
 * Set by a value writer that met something only toJsonLine gets exactly right (a value of
 * an unexpected type); the row is then written again by toJsonLine over the same bytes.
 */
let odd = false;

/** Copies text known to be ASCII. */
function ascii(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
  return o + s.length;
}

/** 0..9999, without leading zeros. */
function small(d: DataView, o: number, v: number): number {
  d.setUint32(o, DIGITS[v], true);
  return o + (v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : 4);
}

/** JSON of a number: exact integers up to 2^53 four digits at a time, the rest as V8 prints them. */
function num(b: Buffer, d: DataView, o: number, v: unknown): number {
  if (typeof v !== 'number') {
    odd = true;
    return o;
  }
  if (v >= 0 && v < 10000 && (v | 0) === v) return small(d, o, v);
  if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v))
    return ascii(b, o, Number.isFinite(v) ? `${v}` : 'null');
  // exact: every quotient and remainder of an integer below 2^53 by a power of ten is exact
  const low = v % 10000;
  const high = (v - low) / 10000;
  if (high < 10000) o = small(d, o, high);
  else {
    const mid = high % 10000;
    const top = (high - mid) / 10000;
    if (top < 10000) o = small(d, o, top);
    else {
      const m2 = top % 10000;
      o = small(d, o, (top - m2) / 10000);
      d.setUint32(o, PADDED[m2], true);
      o += 4;
    }
    d.setUint32(o, PADDED[mid], true);
    o += 4;
  }
  d.setUint32(o, PADDED[low], true);
  return o + 4;
}

/** Longest u64 text the row's capacity allows for (a bigint above 2^64 is not a u64: toJsonLine prints it). */
const U64_MAX_TEXT = 28;

function u64(b: Buffer, d: DataView, o: number, v: unknown): number {
  if (typeof v !== 'bigint') return num(b, d, o, v);
  const text = `"${v}"`;
  if (text.length > U64_MAX_TEXT) {
    odd = true;
    return o;
  }
  return ascii(b, o, text);
}

type ValueWriter = (b: Buffer, d: DataView, o: number, v: unknown) => number;

/** The words of the bytes b[o, o + n) (rounded up to whole words), into `into`. */
function readWords(d: DataView, o: number, n: number, into: Uint32Array): void {
  for (let i = 0; i < n; i += 4) into[i >> 2] = d.getUint32(o + i, true);
}

function writeWords(d: DataView, o: number, n: number, words: Uint32Array): number {
  for (let i = 0; i < n; i += 4) d.setUint32(o + i, words[i >> 2], true);
  return o + n;
}

/** A writer for one datetime column: its own cache of the text of the current second. */
function datetimeColumn(): ValueWriter {
  let second = Number.NaN;
  // '"2026-11-25T02:18:21' (the quote, then date and time up to the dot): 20 bytes
  const prefix = new Uint32Array(5);
  return (b, d, o, v) => {
    if (typeof v !== 'number') {
      odd = true;
      return o;
    }
    if (!(v > 0)) return ascii(b, o, 'null');
    // beyond what a Date holds (garbage from an exporter) toISOString() throws: null
    // instead, rather than a dead worker
    if (!(v <= MAX_DATE_MS)) return ascii(b, o, 'null');
    if (v > MAX_PLAIN_ISO_MS || Math.floor(v) !== v) return ascii(b, o, `"${new Date(v).toISOString()}"`);
    const milli = v % 1000;
    const s = v - milli;
    if (s !== second) {
      second = s;
      ascii(b, o, `"${new Date(s).toISOString().slice(0, 19)}`);
      readWords(d, o, 20, prefix);
    } else writeWords(d, o, 20, prefix);
    d.setUint32(o + 20, MILLIS[milli], true);
    d.setUint32(o + 24, Z_QUOTE, true);
    return o + 26;
  };
}

const ZERO_MAC = '"00:00:00:00:00:00"';
function macColumn(): ValueWriter {
  let last = 0;
  const words = new Uint32Array(5);
  let ready = false;
  return (b, d, o, v) => {
    if (v === last && ready) return writeWords(d, o, ZERO_MAC.length, words);
    if (typeof v !== 'number') {
      odd = true;
      return o;
    }
    const end = ascii(b, o, v === 0 ? ZERO_MAC : `"${macToString(v)}"`);
    readWords(d, o, ZERO_MAC.length, words);
    last = v;
    ready = true;
    return end;
  };
}

/** Longest value text (with its quotes) a text column keeps for reuse. */
const TEXT_CACHE_BYTES = 64;

/** A writer for one text column (addresses, names); JSON.stringify's escapes where needed. */
function textColumn(): ValueWriter {
  let last = '';
  /** the text of `last` is in `words` (read back after `last` came twice in a row) */
  let cachedBytes = 0;
  const words = new Uint32Array(TEXT_CACHE_BYTES / 4);
  return (b, d, o, v) => {
    const again = v === last;
    if (again && cachedBytes > 0) return writeWords(d, o, cachedBytes, words);
    if (typeof v !== 'string') {
      if (v === null) return ascii(b, o, 'null');
      odd = true;
      return o;
    }
    const n = v.length;
    let end: number;
    b[o] = 34;
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) break;
      b[o + 1 + i] = c;
    }
    if (i === n) {
      b[o + 1 + n] = 34;
      end = o + n + 2;
    } else end = o + b.write(JSON.stringify(v), o, 'utf8');
    // a column whose value changes every row (addresses, ports' text) is not worth reading back
    if (again && end - o <= TEXT_CACHE_BYTES) {
      cachedBytes = end - o;
      readWords(d, o, cachedBytes, words);
    } else {
      last = v;
      cachedBytes = 0;
    }
    return end;
  };
}

/**
 * A constant's stores: a loop over its bytes, 8 at a time, in `table` (which they are
 * appended to; the last piece padded with zeros, which what follows overwrites). Stores
 * written out one by one in the generated function ran faster once optimized, but made the
 * function so large that the optimizing compiler took 0.3 s over it, all the while the
 * rows went through the interpreter: longer than printing 100,000 rows.
 *
 * 8 bytes go as one double: exact for text, since a double is NaN (whose bits may change
 * on the way) only when its top byte is 0x7f or 0xff, and no key or value constant holds
 * either (checked below).
 */
function constantStores(text: string, table: number[]): string {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.some((x) => x >= 0x7f)) throw new Error(`constant ${JSON.stringify(text)} is not plain ASCII`);
  const padded = Buffer.alloc(Math.ceil(bytes.length / 8) * 8);
  bytes.copy(padded);
  const from = table.length;
  for (let i = 0; i < padded.length; i += 8) table.push(padded.readDoubleLE(i));
  return `o = put(d, o, ${from}, ${padded.length / 8}, ${bytes.length});`;
}

/** Stores `count` pieces of 8 bytes of `table` from `from` at o; returns o + bytes. */
function putConstant(
  table: Float64Array,
): (d: DataView, o: number, from: number, count: number, bytes: number) => number {
  return (d, o, from, count, bytes) => {
    for (let i = 0; i < count; i++) d.setFloat64(o + 8 * i, table[from + i], true);
    return o + bytes;
  };
}

/** A column's value when the datagram did not carry it (emptyFlow's), and its JSON text. */
function defaultOf(kind: ColumnKind): { test: string; text: string } | undefined {
  switch (kind) {
    case 'datetime':
      return undefined;
    case 'ip':
    case 'string':
      return { test: "''", text: '""' };
    case 'mac':
      return { test: '0', text: ZERO_MAC };
    default:
      return { test: '0', text: '0' };
  }
}

/** Most columns in one run written as a single constant when all hold their default. */
const DEFAULT_RUN_MAX = 8;

type LineWriter = (out: OutputBuffer, rec: FlowRecord) => void;

function compile(): LineWriter {
  const textKinds: readonly ColumnKind[] = ['ip', 'string'];
  if (textKinds.includes(COLUMNS[0].kind))
    throw new Error('the first column must always be written (its key carries the opening brace)');
  const texts = COLUMNS.filter((c) => c.kind === 'string' || c.kind === 'ip').map((c) => `r.${c.name}`);
  let fixed = 2 + SLACK; // '}', the newline and the last store's overrun
  const writers: ValueWriter[] = [];
  const table: number[] = [];
  const keyOf = (i: number) => `${i === 0 ? '{' : ','}"${COLUMNS[i].name}":`;
  /** One column: the key's stores, then small integers and empty text inline, the rest by call. */
  const columnCode = (i: number): string => {
    const c = COLUMNS[i];
    if (!/^[a-z_0-9]+$/.test(c.name)) throw new Error(`column name ${c.name} cannot be compiled`);
    const key = keyOf(i);
    fixed += key.length + 7 + VALUE_MAX[c.kind];
    const head = `v = r.${c.name};`;
    const stores = constantStores(key, table);
    switch (c.kind) {
      case 'datetime':
      case 'mac':
        writers.push(c.kind === 'datetime' ? datetimeColumn() : macColumn());
        return `${head} ${stores} o = w${writers.length - 1}(b, d, o, v);`;
      case 'ip':
      case 'string':
        writers.push(textColumn());
        // JSON.stringify leaves out a key whose value is undefined
        return (
          `${head} if (v !== undefined) { ${stores} ` +
          `if (v === '') { d.setUint16(o, 0x2222, true); o += 2; } else o = w${writers.length - 1}(b, d, o, v); }`
        );
      default:
        return (
          `${head} ${stores} ` +
          'if (typeof v === "number" && v >= 0 && v < 10000 && (v | 0) === v) { ' +
          'd.setUint32(o, DIGITS[v], true); o += v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : 4; } ' +
          `else o = ${c.kind === 'u64' ? 'u64' : 'num'}(b, d, o, v);`
        );
    }
  };
  // runs of consecutive columns that have a default: when all hold it (the columns a
  // template does not carry, the inventory's before enrichment) the run is one constant
  const body: string[] = [];
  for (let i = 0; i < COLUMNS.length; ) {
    let j = i;
    while (j < COLUMNS.length && j - i < DEFAULT_RUN_MAX && defaultOf(COLUMNS[j].kind)) j++;
    if (j - i < 2) {
      body.push(columnCode(i));
      i++;
      continue;
    }
    const run = COLUMNS.slice(i, j);
    const all = run.map((c) => `r.${c.name} === ${defaultOf(c.kind)?.test}`).join(' && ');
    const text = run.map((c, k) => keyOf(i + k) + defaultOf(c.kind)?.text).join('');
    const each: string[] = [];
    for (let k = i; k < j; k++) each.push(columnCode(k));
    body.push(`if (${all}) { ${constantStores(text, table)} } else {`, ...each.map((l) => `  ${l}`), '}');
    i = j;
  }
  const src = [
    'let buffer = null;',
    'let view = null;',
    'return function writeJsonLine(out, r) {',
    "  let extra = '';",
    '  if (r.extra !== undefined) {',
    '    const x = extras(r.extra);',
    '    if (x === null) return slow(out, r);',
    '    extra = x;',
    '  }',
    // escaping takes at most 6 bytes per UTF-16 unit (\\uXXXX), UTF-8 at most 3
    `  const need = ${fixed} + 3 * extra.length${texts.map((t) => ` + 6 * (typeof ${t} === 'string' ? ${t}.length : 0)`).join('')};`,
    '  if (out.off + need > out.buf.length) grow(out, need);',
    '  const b = out.buf;',
    // grow() replaces the Buffer object: a new view then
    '  if (b !== buffer) { buffer = b; view = new DataView(b.buffer, b.byteOffset, b.length); }',
    '  const d = view;',
    '  let o = out.off;',
    '  let v;',
    ...body.map((l) => `  ${l}`),
    '  if (odd()) return slow(out, r);',
    "  if (extra !== '') o += b.write(extra, o, 'utf8');",
    '  d.setUint16(o, 0x0a7d, true);', // '}' then '\n'
    '  out.off = o + 2;',
    '  out.rows++;',
    '};',
  ].join('\n');
  const slow = (out: OutputBuffer, r: FlowRecord) => {
    const line = `${toJsonLine(r)}\n`;
    const need = Buffer.byteLength(line);
    if (out.off + need > out.buf.length) growOutputBuffer(out, need);
    out.off += out.buf.write(line, out.off, 'utf8');
    out.rows++;
  };
  const wasOdd = () => {
    if (!odd) return false;
    odd = false;
    return true;
  };
  const put = putConstant(Float64Array.from(table));
  const names = [
    'slow',
    'odd',
    'extras',
    'grow',
    'num',
    'u64',
    'DIGITS',
    'put',
    ...writers.map((_, i) => `w${i}`),
  ];
  const factory = new Function(...names, src);
  return factory(
    slow,
    wasOdd,
    extraFieldsJson,
    growOutputBuffer,
    num,
    u64,
    DIGITS,
    put,
    ...writers,
  ) as LineWriter;
}

/** Appends one flow as a JSON line with its newline: the bytes of toJsonLine(rec) + '\n'. */
export const writeJsonLine: LineWriter = compile();

/** The JSON-lines file output (output.ts); it keeps the non-canonical fields. */
export const jsonlOutput: OutputDriver = {
  name: 'jsonl',
  keepExtra: true,
  create() {
    const out = newOutputBuffer(OUTPUT_BUFFER_BYTES);
    return { write: (rec) => writeJsonLine(out, rec), take: () => takeOutputBuffer(out) };
  },
};
