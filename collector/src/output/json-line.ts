/**
 * The collector's JSON-lines encoder: the same bytes as protocol/src/schema/json.ts
 * toJsonLine() + '\n' in UTF-8 (a property test holds them equal), written straight into a
 * byte buffer, because at high rates building an object and a string per flow (and then
 * joining and re-encoding the strings) was nearly all of the collector's CPU on the file
 * output, most of it garbage collection.
 *
 * How: a writer generated once from the column list stores the quoted names as literal
 * bytes, and the values, after one capacity check per row; integers are written digit by digit; datetimes
 * reuse the text of the last second seen per column and add the milliseconds; text that
 * needs no escaping is copied by char code. Records with extra (non-canonical) fields, and
 * values out of the ordinary, go through toJsonLine / JSON.stringify themselves.
 */
import { COLUMNS, type ColumnKind, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
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

/** Copies text known to be ASCII. */
function ascii(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
  return o + s.length;
}

/** JSON of a number: digits by hand for 32-bit non-negative integers (exact arithmetic). */
function num(b: Buffer, o: number, v: number): number {
  if (v >= 0 && v <= 0x7fffffff && (v | 0) === v) {
    if (v < 10) {
      b[o] = 48 + v;
      return o + 1;
    }
    // small integers (Smis): integer division, no floating point
    const len =
      v < 100
        ? 2
        : v < 1000
          ? 3
          : v < 10000
            ? 4
            : v < 100000
              ? 5
              : v < 1000000
                ? 6
                : v < 10000000
                  ? 7
                  : v < 100000000
                    ? 8
                    : v < 1000000000
                      ? 9
                      : 10;
    let n = v;
    for (let i = o + len - 1; i >= o; i--) {
      const q = (n / 10) | 0;
      b[i] = 48 + n - q * 10;
      n = q;
    }
    return o + len;
  }
  if (v >= 0 && v <= 4294967295 && Math.floor(v) === v) {
    let n = v;
    let len = 0;
    while (n >= 1) {
      n = Math.floor(n / 10);
      len++;
    }
    n = v;
    for (let i = o + len - 1; i >= o; i--) {
      const q = Math.floor(n / 10);
      b[i] = 48 + (n - q * 10);
      n = q;
    }
    return o + len;
  }
  return ascii(b, o, Number.isFinite(v) ? `${v}` : 'null');
}

function u64(b: Buffer, o: number, v: number | bigint): number {
  return typeof v === 'bigint' ? ascii(b, o, `"${v}"`) : num(b, o, v);
}

const ZERO_MAC = Buffer.from('"00:00:00:00:00:00"');
function mac(b: Buffer, o: number, v: number): number {
  // most flows carry no MAC (0): its text is a constant
  if (v === 0) {
    for (let i = 0; i < ZERO_MAC.length; i++) b[o + i] = ZERO_MAC[i];
    return o + ZERO_MAC.length;
  }
  return ascii(b, o, JSON.stringify(macToString(v)));
}

/** A JSON string: copied when it holds only printable ASCII needing no escape. */
function text(b: Buffer, o: number, s: string): number {
  const n = s.length;
  b[o] = 34;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) break;
    b[o + 1 + i] = c;
  }
  if (i === n) {
    b[o + 1 + n] = 34;
    return o + n + 2;
  }
  return o + b.write(JSON.stringify(s), o, 'utf8');
}

function isoWriter(): (b: Buffer, o: number, ms: number) => number {
  let second = -1;
  let prefix = '';
  return (b, o, ms) => {
    if (!(ms > 0)) return ascii(b, o, 'null');
    // beyond what a Date holds (garbage from an exporter) toISOString() throws: null
    // instead, rather than a dead worker
    if (!(ms <= MAX_DATE_MS)) return ascii(b, o, 'null');
    if (ms > MAX_PLAIN_ISO_MS || Math.floor(ms) !== ms)
      return ascii(b, o, JSON.stringify(new Date(ms).toISOString()));
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      // '"2026-11-25T02:18:21.' (the quote, then date and time up to the dot)
      prefix = `"${new Date(s * 1000).toISOString().slice(0, 20)}`;
    }
    let p = ascii(b, o, prefix);
    const milli = ms - s * 1000;
    b[p++] = 48 + Math.floor(milli / 100);
    b[p++] = 48 + (Math.floor(milli / 10) % 10);
    b[p++] = 48 + (milli % 10);
    b[p++] = 90; // Z
    b[p++] = 34;
    return p;
  };
}

type LineWriter = (out: OutputBuffer, rec: FlowRecord) => void;

function compile(): LineWriter {
  const isoNames = COLUMNS.filter((c) => c.kind === 'datetime').map((c) => c.name);
  const texts = COLUMNS.filter((c) => c.kind === 'string' || c.kind === 'ip').map((c) => `r.${c.name}`);
  let fixed = 2; // '}' and the newline
  const body: string[] = [];
  let first = true;
  for (const c of COLUMNS) {
    if (!/^[a-z_0-9]+$/.test(c.name)) throw new Error(`column name ${c.name} cannot be compiled`);
    const key = `${first ? '{' : ','}"${c.name}":`;
    first = false;
    fixed += key.length + VALUE_MAX[c.kind];
    const get = `r.${c.name}`;
    // the quoted name as literal stores: a TypedArray.set per key cost more than the value
    const write = `${[...Buffer.from(key)].map((x, i) => `b[o + ${i}] = ${x};`).join(' ')} o += ${key.length};`;
    switch (c.kind) {
      case 'datetime':
        body.push(write, `o = iso_${c.name}(b, o, ${get});`);
        break;
      case 'mac':
        body.push(write, `o = mac(b, o, ${get});`);
        break;
      case 'u64':
        body.push(write, `o = u64(b, o, ${get});`);
        break;
      case 'ip':
      case 'string':
        // JSON.stringify leaves out a key whose value is undefined
        body.push(`if (${get} !== undefined) { ${write} o = text(b, o, ${get}); }`);
        break;
      default:
        body.push(write, `o = num(b, o, ${get});`);
    }
  }
  const src = [
    'return function writeJsonLine(out, r) {',
    '  if (r.extra !== undefined) { for (const _ in r.extra) return slow(out, r); }',
    // escaping takes at most 6 bytes per UTF-16 unit (\\uXXXX)
    `  const need = ${fixed}${texts.map((t) => ` + 6 * (typeof ${t} === 'string' ? ${t}.length : 0)`).join('')};`,
    '  if (out.off + need > out.buf.length) grow(out, need);',
    '  const b = out.buf;',
    '  let o = out.off;',
    ...body.map((l) => `  ${l}`),
    '  b[o++] = 125;',
    '  b[o++] = 10;',
    '  out.off = o;',
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
  const names = ['slow', 'grow', 'ascii', 'num', 'u64', 'mac', 'text', ...isoNames.map((n) => `iso_${n}`)];
  const factory = new Function(...names, src);
  return factory(
    slow,
    growOutputBuffer,
    ascii,
    num,
    u64,
    mac,
    text,
    ...isoNames.map(() => isoWriter()),
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
