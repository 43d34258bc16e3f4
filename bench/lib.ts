/**
 * The benchmark contract: each `bench/<area>.bench.ts` default-exports a function that
 * measures, prints its own progress if long, and records figures with `ctx.record`. The
 * runner (bench/run.ts) prints one table and writes bench/results/<area>.json.
 *
 * Measure repeatedly and report the median; where an issue names a peer, run the peer on
 * the same input in the same run and record the ratio.
 */
export interface BenchFigure {
  /** what was measured, e.g. "decode v9 (20-field template)" */
  name: string;
  /** headline figure */
  value: number;
  /** unit of value, e.g. "records/s" */
  unit: string;
  /** the peer's figure on the same input in the same run, when there is one */
  peer?: { name: string; value: number };
  /** value / peer.value for rates (higher is better) */
  ratio?: number;
  /** every sample, for the record */
  samples?: number[];
  note?: string;
}

export interface BenchContext {
  record(fig: BenchFigure): void;
  log(message: string): void;
  /** true when `--quick` was given: fewer repetitions, smaller inputs */
  quick: boolean;
}

export type Bench = (ctx: BenchContext) => Promise<void>;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs fn `runs` times (after one warm-up) and returns each run's wall time in seconds. */
export async function timeRuns(runs: number, fn: () => unknown | Promise<unknown>): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return times;
}
