import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { takeOutputBuffer } from '../../../common/output-buffer.ts';
import { emptyFlow, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { newFlowRowBuffer } from '../../../storage/src/flow-rowbinary.ts';
import { scanRollupRows } from '../../../storage/src/rollup-rows.ts';
import { createRollupAggregator } from './rollup-aggregator.ts';
import { mergeRollupParts } from './rollup-merge.ts';

/** key bytes (minute and dimensions) → summed measures, modulo 2^64; and the batch ids seen */
function decode(parts: readonly Buffer[]): { sums: Map<string, bigint[]>; ids: Set<bigint>; rows: number } {
  const sums = new Map<string, bigint[]>();
  const ids = new Set<bigint>();
  let rows = 0;
  for (const b of parts)
    scanRollupRows(b, (_hi, _lo, _t, start, end) => {
      rows++;
      ids.add(b.readBigUInt64LE(start));
      const key = b.toString('latin1', start + 8, end - 24);
      const m = [0, 1, 2].map((i) => b.readBigUInt64LE(end - 24 + 8 * i));
      const had = sums.get(key);
      sums.set(key, had ? m.map((v, i) => BigInt.asUintN(64, v + had[i])) : m);
    });
  return { sums, ids, rows };
}

function chunkRows(rows: FlowRecord[]): Buffer {
  const agg = createRollupAggregator();
  for (const r of rows) agg.add(r);
  const out = newFlowRowBuffer(64);
  agg.writeTo(out);
  return Buffer.from(takeOutputBuffer(out));
}

const T0 = 1_796_000_000_000;
const record = fc
  .record({
    time_received: fc.integer({ min: T0, max: T0 + 3 * 60_000 }),
    tenant: fc.constantFrom('acme', 'globex', 'ü'),
    dst_port: fc.constantFrom(443, 53),
    vni: fc.constantFrom(1, 2),
    bytes: fc.oneof(
      fc.nat({ max: 10_000 }),
      fc.constant(2 ** 53),
      fc.bigInt({ min: 2n ** 60n, max: 2n ** 64n - 1n }),
    ),
    packets: fc.nat({ max: 100 }),
  })
  .map((f) => Object.assign(emptyFlow(), f) as FlowRecord);

describe('rollup merge', () => {
  it('sums the chunks of a batch into one row per key, the same sums, one new batch id', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(record, { minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 8 }),
        (chunks) => {
          const parts = chunks.map(chunkRows);
          const merged = mergeRollupParts(parts);
          const before = decode(parts);
          const after = decode([merged.body]);
          expect(after.sums).toEqual(before.sums);
          expect(after.rows).toBe(after.sums.size); // one row per key
          expect(merged.rows).toBe(after.rows);
          expect(after.ids.size).toBe(1);
          expect(before.ids.has([...after.ids][0])).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
