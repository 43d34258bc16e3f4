/**
 * Sums the rollup rows of a whole insert batch (the staging rows of its chunks, each chunk
 * summed by a decode worker) into one row per minute and key, under one new batch id,
 * before they go to ClickHouse. A worker's chunk is 5 000 flows at most; a batch holds up
 * to 200 000 from every worker: on the simulator's traffic with four interleaved exporters
 * that is ~5 raw flows per rollup row per chunk and ~120 per batch (bench/rollup.bench.ts:
 * the exporter is a rollup key), so ClickHouse's views
 * aggregate and write far fewer rows. The cost lands on the receiving thread, but per
 * rollup row, not per flow.
 *
 * Rows are compared as bytes: everything between the batch id and the three measures (the
 * minute and the dimensions, ROLLUP_INSERT_COLUMNS order) is the key. Sums stay exact:
 * Float64 while at most 2^53, BigInt past it, written modulo 2^64 as ClickHouse sums UInt64.
 */
import { growOutputBuffer } from '../../../common/output-buffer.ts';
import { type FlowRowBuffer, newFlowRowBuffer, nextBatchId } from '../../../storage/src/flow-rowbinary.ts';
import { scanRollupRows } from '../../../storage/src/rollup-rows.ts';

const MEASURES = 3;
const MEASURE_BYTES = 8 * MEASURES;
const TWO32 = 4294967296;

interface Entry {
  part: Buffer;
  /** key bytes: [start, end) in part */
  start: number;
  end: number;
  sums: number[];
  big?: bigint[];
}

function readU64(b: Buffer, o: number): number | bigint {
  const lo = b.readUInt32LE(o);
  const hi = b.readUInt32LE(o + 4);
  return hi < 0x200000 ? hi * TWO32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

function add(e: Entry, m: number, v: number | bigint): void {
  if (!e.big && typeof v === 'number') {
    const s = e.sums[m] + v;
    if (s <= Number.MAX_SAFE_INTEGER) {
      e.sums[m] = s;
      return;
    }
  }
  e.big ??= e.sums.map(BigInt);
  e.big[m] += BigInt(v);
}

/** The merged staging rows of `parts` (each in ROLLUP_INSERT_COLUMNS), and how many there are. */
export function mergeRollupParts(parts: readonly Buffer[]): { body: Buffer; rows: number } {
  const byKey = new Map<string, Entry>();
  const order: Entry[] = [];
  for (const part of parts) {
    scanRollupRows(part, (_hi, _lo, _t, start, end) => {
      const kStart = start + 8;
      const kEnd = end - MEASURE_BYTES;
      const key = part.toString('latin1', kStart, kEnd);
      let e = byKey.get(key);
      if (!e) {
        e = { part, start: kStart, end: kEnd, sums: [0, 0, 0] };
        byKey.set(key, e);
        order.push(e);
      }
      for (let m = 0; m < MEASURES; m++) add(e, m, readU64(part, kEnd + 8 * m));
    });
  }
  const out: FlowRowBuffer = newFlowRowBuffer(
    64 + order.reduce((n, e) => n + 8 + (e.end - e.start) + MEASURE_BYTES, 0),
  );
  nextBatchId(out);
  for (const e of order) {
    const need = 8 + (e.end - e.start) + MEASURE_BYTES;
    if (out.off + need > out.buf.length) growOutputBuffer(out, need);
    const b = out.buf;
    b.writeUInt32LE(out.batchLo, out.off);
    b.writeUInt32LE(out.batchHi, out.off + 4);
    e.part.copy(b, out.off + 8, e.start, e.end);
    let o = out.off + 8 + (e.end - e.start);
    for (let m = 0; m < MEASURES; m++, o += 8) {
      if (e.big) b.writeBigUInt64LE(BigInt.asUintN(64, e.big[m]), o);
      else {
        const v = e.sums[m];
        b.writeUInt32LE(v % TWO32, o);
        b.writeUInt32LE(Math.floor(v / TWO32), o + 4);
      }
    }
    out.off = o;
    out.rows++;
  }
  return { body: out.buf.subarray(0, out.off), rows: out.rows };
}
