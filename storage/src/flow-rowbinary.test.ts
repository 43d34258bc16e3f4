import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMNS, emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import {
  batchIdText,
  encodeFlowsRowBinary,
  FlowRowsFormatError,
  newFlowRowBuffer,
  scanFlowRows,
  writeFlowRowFast,
} from './flow-rowbinary.ts';
import { RowBinaryWriter } from './rowbinary.ts';

/**
 * The oracle: the plainest possible writer, one RowBinaryWriter call per column, after the
 * row's batch id (one id for all rows, or ids[i] for row i).
 */
function canonical(rows: FlowRecord[], ids: bigint | bigint[]): Buffer {
  const w = new RowBinaryWriter(64);
  for (const [i, r] of rows.entries()) {
    w.u64(typeof ids === 'bigint' ? ids : ids[i]);
    for (const c of COLUMNS) {
      const v = r[c.name] as never;
      switch (c.kind) {
        case 'datetime':
          w.dateTime(v);
          break;
        case 'ip':
          w.ip(v);
          break;
        case 'mac':
        case 'u64':
          w.u64(v);
          break;
        case 'u8':
          w.u8(v);
          break;
        case 'u16':
          w.u16(v);
          break;
        case 'u32':
          w.u32(v);
          break;
        case 'string':
          w.string(v ?? '');
          break;
      }
    }
  }
  return Buffer.from(w.finish());
}

const idOf = (hi: number, lo: number) => (BigInt(hi) << 32n) | BigInt(lo);

/**
 * The fast writer over rows, a new chunk starting at each index in `cuts` (rows back to 0,
 * as the decode worker's take() does); returns the bytes and each row's batch id.
 */
function fast(rows: FlowRecord[], capacity = 16, cuts: number[] = []): { bytes: Buffer; ids: bigint[] } {
  const out = newFlowRowBuffer(capacity);
  const ids: bigint[] = [];
  let chunkRows = 0;
  for (const [i, r] of rows.entries()) {
    if (cuts.includes(i)) {
      out.rows = 0;
      chunkRows = 0;
    }
    writeFlowRowFast(out, r);
    chunkRows++;
    ids.push(idOf(out.batchHi, out.batchLo));
  }
  expect(out.rows).toBe(chunkRows);
  return { bytes: Buffer.from(out.buf.subarray(0, out.off)), ids };
}

const ipText = fc.oneof(
  fc.constant(''),
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom(
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '::ffff:10.0.0.1',
    'not an address',
    '1..2.3',
  ),
);
const text = fc.oneof(
  fc.constant(''),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ minLength: 120, maxLength: 300 }),
);
const u64 = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.integer({ min: -5, max: 2 ** 53 - 1 }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.constantFrom(Number.NaN, 1.5, 2 ** 32, Number.POSITIVE_INFINITY),
);
const small = (bits: number) =>
  fc.oneof(fc.integer({ min: 0, max: 2 ** bits - 1 }), fc.constantFrom(-1, 2 ** bits, 1.5, Number.NaN));

const record: fc.Arbitrary<FlowRecord> = fc.record(
  Object.fromEntries(
    COLUMNS.map((c) => {
      switch (c.kind) {
        case 'ip':
          return [c.name, ipText];
        case 'string':
          return [c.name, text];
        case 'u64':
        case 'mac':
          return [c.name, u64];
        case 'datetime':
          return [c.name, fc.oneof(fc.integer({ min: -1000, max: 2 ** 42 }), fc.constant(Date.now()))];
        case 'u8':
          return [c.name, small(8)];
        case 'u16':
          return [c.name, small(16)];
        default:
          return [c.name, small(32)];
      }
    }),
  ) as never,
) as never;

describe('writeFlowRowFast', () => {
  it('writes the same bytes as the canonical RowBinary encoder for any record, one batch id per chunk', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 20 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 19 }), { maxLength: 4 }),
        (rows, cuts) => {
          const { bytes, ids } = fast(rows, 16, cuts);
          expect(bytes.equals(canonical(rows, ids))).toBe(true);
          // every chunk has its own non-zero id, constant over the chunk
          const starts = [0, ...cuts.filter((c) => c < rows.length).sort((a, b) => a - b)];
          const chunkIds = starts.map((s) => ids[s]);
          expect(new Set(chunkIds).size).toBe(chunkIds.length);
          expect(chunkIds.every((id) => id > 0n)).toBe(true);
          for (const [i, id] of ids.entries()) {
            const chunk = starts.filter((s) => s <= i).length - 1;
            expect(id).toBe(chunkIds[chunk]);
          }
          // and the rows read back: ids, times, boundaries
          const seen: [bigint, number, number, number][] = [];
          scanFlowRows(bytes, (hi, lo, t, start, end) => seen.push([idOf(hi, lo), t, start, end]));
          expect(seen.map((s) => s[0])).toEqual(ids);
          expect(seen.map((s) => s[1])).toEqual(
            rows.map((r) => (r.time_received > 0 ? Math.floor(r.time_received / 1000) >>> 0 : 0)),
          );
          expect(seen[0][2]).toBe(0);
          expect(seen[seen.length - 1][3]).toBe(bytes.length);
          for (let i = 1; i < seen.length; i++) expect(seen[i][2]).toBe(seen[i - 1][3]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives ids that differ between buffers and stay unique over many chunks', () => {
    const a = newFlowRowBuffer(64);
    const b = newFlowRowBuffer(64);
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      for (const out of [a, b]) {
        out.off = 0;
        out.rows = 0;
        writeFlowRowFast(out, emptyFlow());
        seen.add(batchIdText(out.batchHi, out.batchLo));
      }
    }
    expect(seen.size).toBe(10_000);
    expect(seen.has('0')).toBe(false);
  });

  it('grows its buffer across many rows and keeps typical flows exact', () => {
    const rows: FlowRecord[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = emptyFlow();
      Object.assign(r, {
        time_received: 1_764_000_000_000 + i,
        exporter: '192.0.2.1',
        src_addr: `10.${i & 255}.${(i >> 8) & 255}.${i % 7}`,
        dst_addr: i % 3 === 0 ? '2001:db8::1' : '172.16.0.1',
        bytes: i * 1000,
        packets: i,
        tenant: i % 2 ? 'acme' : 'gñu',
        traffic_class: 'east-west',
      });
      rows.push(r);
    }
    const { bytes: got, ids } = fast(rows, 64);
    expect(new Set(ids).size).toBe(1);
    expect(got.equals(canonical(rows, ids[0]))).toBe(true);
    // IPv4 is written IPv4-mapped: ::ffff:10.0.0.0 for the first src_addr
    const first = canonical([rows[0]], ids[0]);
    expect(got.subarray(0, first.length).equals(first)).toBe(true);
  });
});

describe('scanFlowRows', () => {
  it('refuses bytes that are not whole rows', () => {
    const body = encodeFlowsRowBinary([emptyFlow(), Object.assign(emptyFlow(), { tenant: 'acme' })]);
    expect(scanFlowRows(body, () => {})).toBe(2);
    expect(() => scanFlowRows(body.subarray(0, body.length - 1), () => {})).toThrow(FlowRowsFormatError);
    expect(() => scanFlowRows(Buffer.concat([body, Buffer.alloc(3)]), () => {})).toThrow(FlowRowsFormatError);
  });
});

describe('encodeFlowsRowBinary', () => {
  it('is the fast writer over whole rows', () => {
    const rows = [
      Object.assign(emptyFlow(), { src_addr: '10.0.0.1', tenant: 'acme', bytes: 5 }),
      emptyFlow(),
    ];
    const body = encodeFlowsRowBinary(rows);
    const id = body.readBigUInt64LE(0);
    expect(id).toBeGreaterThan(0n);
    expect(body).toEqual(canonical(rows, id));
    // each call is its own chunk
    expect(encodeFlowsRowBinary(rows).readBigUInt64LE(0)).not.toBe(id);
  });
});
