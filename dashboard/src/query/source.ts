/**
 * Which table answers a query, and at which bucket interval: the coarsest rollup that
 * keeps every column the query groups or filters by, whose bucket divides both ends of the
 * range (so totals are exact, never rounded out to a bucket), and is no coarser than the
 * interval the caller's number of points asks for; else the raw `flows` table.
 */
import { ROLLUPS } from '../../../storage/src/ddl.ts';
import { ROLLUP_COLUMNS } from './columns.ts';
import type { TimeRange } from './time-range.ts';

export interface Source {
  table: string;
  /** seconds per row's time bucket: 1 for the raw table */
  resolution: number;
  /** its time column */
  time: string;
  raw: boolean;
}

const RAW: Source = { table: 'flows', resolution: 1, time: 'time_received', raw: true };
const BY_COARSENESS: readonly Source[] = [...ROLLUPS]
  .sort((a, b) => b.seconds - a.seconds)
  .map((r) => ({ table: r.table, resolution: r.seconds, time: 'time', raw: false }));

const NICE = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];

/** The smallest "nice" interval ≥ range/points. */
export function intervalFor(range: TimeRange, points: number): number {
  const wanted = (range.end - range.start) / Math.max(1, points);
  return NICE.find((n) => n >= wanted) ?? Math.ceil(wanted / 86400) * 86400;
}

export function chooseSource(range: TimeRange, columns: Iterable<string>, maxResolution: number): Source {
  const needed = [...columns];
  const rollupOk = needed.every((c) => ROLLUP_COLUMNS.has(c));
  if (rollupOk) {
    for (const s of BY_COARSENESS) {
      if (s.resolution > maxResolution) continue;
      if (range.start % s.resolution !== 0 || range.end % s.resolution !== 0) continue;
      return s;
    }
  }
  return RAW;
}

/** The bucket interval a series uses on a source: a multiple of its resolution. */
export function bucketOn(source: Source, interval: number): number {
  return Math.max(source.resolution, Math.ceil(interval / source.resolution) * source.resolution);
}
