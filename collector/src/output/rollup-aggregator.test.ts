import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { takeOutputBuffer } from '../../../common/output-buffer.ts';
import { COLUMNS, emptyFlow, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { ROLLUP_DIMENSIONS } from '../../../storage/src/ddl.ts';
import { encodeFlowsRowBinary, newFlowRowBuffer } from '../../../storage/src/flow-rowbinary.ts';
import { ROLLUP_ROW_KINDS, scanRollupRows } from '../../../storage/src/rollup-rows.ts';
import { createRollupAggregator } from './rollup-aggregator.ts';

/** Reads one RowBinary value of `kind` at o; returns [text form, next offset]. */
function readValue(b: Buffer, o: number, kind: string): [string, number] {
  switch (kind) {
    case 'u8':
      return [String(b[o]), o + 1];
    case 'u16':
      return [String(b.readUInt16LE(o)), o + 2];
    case 'u32':
    case 'datetime':
      return [String(b.readUInt32LE(o)), o + 4];
    case 'u64':
    case 'mac':
      return [b.readBigUInt64LE(o).toString(), o + 8];
    case 'ip':
      return [b.subarray(o, o + 16).toString('hex'), o + 16];
    default: {
      let len = 0;
      let shift = 0;
      for (;;) {
        const x = b[o++];
        len += (x & 0x7f) * 2 ** shift;
        if (x < 0x80) break;
        shift += 7;
      }
      return [b.toString('latin1', o, o + len), o + len];
    }
  }
}

/** The raw rows as ClickHouse would store them, summed the way the rollups sum them. */
function sumsFromRaw(rows: FlowRecord[]): Map<string, bigint[]> {
  const body = encodeFlowsRowBinary(rows);
  const out = new Map<string, bigint[]>();
  let o = 0;
  while (o < body.length) {
    o += 8; // batch_id
    const row: Record<string, string> = {};
    for (const c of COLUMNS) [row[c.name], o] = readValue(body, o, c.kind);
    const sec = Number(row.time_received);
    const key = [sec - (sec % 60), ...ROLLUP_DIMENSIONS.map((c) => row[c.name])].join('|');
    const s = out.get(key) ?? [0n, 0n, 0n];
    s[0] = BigInt.asUintN(64, s[0] + BigInt(row.bytes));
    s[1] = BigInt.asUintN(64, s[1] + BigInt(row.packets));
    s[2] += 1n;
    out.set(key, s);
  }
  return out;
}

function sumsFromRollup(rows: FlowRecord[]): { sums: Map<string, bigint[]>; rows: number; ids: Set<string> } {
  const agg = createRollupAggregator(4); // small, so the table grows under the test
  for (const r of rows) agg.add(r);
  const out = newFlowRowBuffer(64);
  agg.writeTo(out);
  expect(agg.size).toBe(0);
  const body = Buffer.from(takeOutputBuffer(out));
  const sums = new Map<string, bigint[]>();
  const ids = new Set<string>();
  let o = 0;
  while (o < body.length) {
    ids.add(body.readBigUInt64LE(o).toString());
    o += 8;
    const values: string[] = [];
    for (const kind of ROLLUP_ROW_KINDS) {
      let v: string;
      [v, o] = readValue(body, o, kind);
      values.push(v);
    }
    const measures = values.splice(values.length - 3).map(BigInt);
    // two texts of one address ('192.0.2.1', '::ffff:192.0.2.1') are two keys here and one
    // stored key: two rows that ClickHouse sums, as SummingMergeTree does
    const key = values.join('|');
    const had = sums.get(key);
    sums.set(key, had ? [0, 1, 2].map((i) => BigInt.asUintN(64, had[i] + measures[i])) : measures);
  }
  return { sums, rows: scanRollupRows(body), ids };
}

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const T0 = 1_796_000_000_000;
const record = fc
  .record({
    time_received: fc.oneof(fc.integer({ min: T0, max: T0 + 5 * 60_000 }), fc.constantFrom(0, -1, 1.5)),
    exporter: pick(['192.0.2.1', '2001:db8::1', '::ffff:192.0.2.1', '', 'not an address']),
    tenant: pick(['acme', 'globex', '', 'é—ü', undefined]),
    network: pick(['a', 'b']),
    src_subnet: pick(['10.0.0.0/24', '']),
    dst_subnet: pick(['10.0.1.0/24', '']),
    traffic_class: pick(['east-west', 'north-south', '']),
    vni: fc.oneof(fc.constantFrom(0, 1001, 2 ** 24 - 1), fc.constant(2 ** 32 + 5)),
    dst_port: fc.oneof(fc.constantFrom(443, 53), fc.constant(70_000)),
    proto: fc.constantFrom(6, 17, 300),
    ip_version: fc.constantFrom(4, 6),
    tunnel_type: fc.constantFrom(0, 1),
    sampling_rate: fc.constantFrom(1, 100, 0),
    bytes: fc.oneof(
      fc.nat({ max: 100_000 }),
      fc.constantFrom(2 ** 52, Number.MAX_SAFE_INTEGER, 2 ** 60, 1.5, -4, Number.NaN),
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
    ),
    packets: fc.oneof(fc.nat({ max: 1000 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
  })
  .map((fields) => Object.assign(emptyFlow(), fields) as FlowRecord);

describe('rollup aggregator', () => {
  it('sums exactly what the raw rows store, one row per minute and key, for any flows', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 300 }), (rows) => {
        const got = sumsFromRollup(rows);
        expect(got.sums).toEqual(sumsFromRaw(rows));
        expect(got.rows).toBeGreaterThanOrEqual(got.sums.size);
        expect(got.ids.size).toBe(1); // one batch id per chunk
      }),
      { numRuns: 300 },
    );
  });

  it('starts every chunk empty, under a new batch id', () => {
    const agg = createRollupAggregator();
    const out = newFlowRowBuffer(64);
    const flow = Object.assign(emptyFlow(), { time_received: T0, tenant: 'acme', bytes: 10, packets: 1 });
    agg.add(flow);
    agg.add(flow);
    agg.writeTo(out);
    const first = Buffer.from(takeOutputBuffer(out));
    agg.add(flow);
    agg.writeTo(out);
    const second = Buffer.from(takeOutputBuffer(out));
    expect(scanRollupRows(first)).toBe(1); // one row for the two flows of one key
    expect(first.length).toBe(second.length);
    expect(first.readBigUInt64LE(first.length - 8)).toBe(2n); // flows
    expect(second.readBigUInt64LE(second.length - 8)).toBe(1n);
    expect(first.readBigUInt64LE(0)).not.toBe(second.readBigUInt64LE(0));
  });
});
