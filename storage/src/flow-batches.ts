/**
 * Which rows of a flows batch ClickHouse already holds. Plain MergeTree (18.16's default,
 * and what vxflow creates) has no insert deduplication, so before a batch that may already
 * be stored is sent again (its insert failed after the request went out; a spooled batch
 * whose acknowledgement came just before the process died), the collector asks here and
 * sends only what is missing.
 *
 * How: every row carries its chunk's batch_id (flow-rowbinary.ts). The batch's rows are read
 * back (ids, time_received, byte ranges), then ClickHouse counts the rows it has per
 * (batch_id, partition), restricted to the batch's own time range, so only the partitions
 * and parts that overlap it are read (the partition key is toYYYYMMDD(time_received) and
 * every part keeps its min/max time_received).
 *
 * What a count means: of each partition's rows in an INSERT, ClickHouse stores a prefix (in
 * body order), never a scattered subset. Blocks are written in order; within a block, each
 * partition's rows become one part, written whole or not at all (so a batch across midnight
 * can be stored for one day and not the other); and when the client goes away mid-body,
 * 18.16 stores the rows that arrived if they end on a row boundary (measured: a body cut
 * after 30 000 of 30 001 TSV rows stored 30 000). So for every (chunk, partition) the stored
 * rows are its first n rows in batch order, which is how the rest is cut out when a batch is
 * found partly stored.
 *
 * An attempt that is still running must not be raced: every insert gets a query_id made from
 * the batch id of its first row, and the check first looks for any of the batch's ids in
 * system.processes ("running": ask again later). A second insert with the id of one still
 * running is refused by ClickHouse itself. Only what the server has registered can be seen:
 * 18.16 lists an HTTP insert once it has read about the first megabyte of its body (measured:
 * not yet with 0.9 MB received, listed by 3.7 MB), and a request still waiting in the
 * server's connection queue is not listed at all.
 */
import type { ClickHouse } from './clickhouse.ts';
import { PARTITIONING, ROLLUP_STAGING_TABLE, ROLLUP_STAGING_TIME } from './ddl.ts';
import { batchIdText, scanFlowRows } from './flow-rowbinary.ts';
import { scanRollupRows } from './rollup-rows.ts';
import type { RowVisitor } from './flow-rowbinary.ts';
import { ident, quoteString, raw, sql } from './sql.ts';

/**
 * What the check needs to know of a table whose rows carry batch ids: how to walk its
 * RowBinary rows, its time column (the partition key's argument), its partitioning, and the
 * query_id prefix its inserts run under (apart per table, so the raw and the rollup insert
 * of one chunk never refuse each other's id).
 */
export interface BatchRows {
  scan(b: Buffer, visit: RowVisitor): number;
  time: string;
  partition: 'toYYYYMMDD' | 'toYYYYMM';
  queryIdPrefix: string;
}

/** Raw flow rows (FLOW_INSERT_COLUMNS) in flows. */
export const FLOW_ROWS: BatchRows = {
  scan: scanFlowRows,
  time: 'time_received',
  partition: PARTITIONING.flows,
  queryIdPrefix: 'vxflow-flows-',
};

/** Rollup staging rows (ROLLUP_INSERT_COLUMNS) in flows_rollup_in. */
export const ROLLUP_ROWS: BatchRows = {
  scan: scanRollupRows,
  time: ROLLUP_STAGING_TIME,
  partition: PARTITIONING[ROLLUP_STAGING_TABLE],
  queryIdPrefix: 'vxflow-rollup-',
};

/** ids per query, so a batch of very many chunks stays far below max_query_size (256 KiB) */
const IDS_PER_QUERY = 1000;

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const queryIdOf = (kind: BatchRows, hi: number, lo: number) => `${kind.queryIdPrefix}${hex8(hi)}${hex8(lo)}`;

/** The query_id to insert these parts with: from the batch id of the first row. */
export function insertQueryId(parts: readonly Buffer[], kind: BatchRows = FLOW_ROWS): string | undefined {
  const first = parts.find((p) => p.length >= 8);
  return first ? queryIdOf(kind, first.readUInt32LE(4), first.readUInt32LE(0)) : undefined;
}

export type StoredCheck =
  /** none of its rows: insert it as it is */
  | { state: 'absent'; rows: number; chunks: number }
  /** every row is there already: do not insert it */
  | { state: 'stored'; rows: number; chunks: number }
  /** some rows are there: insert `rest` (restRows rows) only */
  | { state: 'partial'; rows: number; chunks: number; stored: number; rest: Buffer[]; restRows: number }
  /** an earlier insert of these rows is still running: decide later */
  | { state: 'running'; queryIds: string[] };

interface RowIndex {
  part: number[];
  start: number[];
  end: number[];
  /** index into ids */
  chunk: number[];
  time: number[];
  ids: { hi: number; lo: number; text: string }[];
  tMin: number;
  tMax: number;
}

/** Reads the rows back; throws FlowRowsFormatError on bytes that are not rows of `kind`. */
function indexRows(parts: readonly Buffer[], kind: BatchRows): RowIndex {
  const ix: RowIndex = {
    part: [],
    start: [],
    end: [],
    chunk: [],
    time: [],
    ids: [],
    tMin: 0xffffffff,
    tMax: 0,
  };
  const idIndex = new Map<string, number>();
  let lastHi = -1;
  let lastLo = -1;
  let last = -1;
  for (const [p, body] of parts.entries()) {
    kind.scan(body, (hi, lo, t, start, end) => {
      // rows of a chunk are consecutive: one map lookup per chunk, not per row
      if (hi !== lastHi || lo !== lastLo) {
        const key = `${hi}:${lo}`;
        let i = idIndex.get(key);
        if (i === undefined) {
          i = ix.ids.length;
          idIndex.set(key, i);
          ix.ids.push({ hi, lo, text: batchIdText(hi, lo) });
        }
        lastHi = hi;
        lastLo = lo;
        last = i;
      }
      ix.part.push(p);
      ix.start.push(start);
      ix.end.push(end);
      ix.chunk.push(last);
      ix.time.push(t);
      if (t < ix.tMin) ix.tMin = t;
      if (t > ix.tMax) ix.tMax = t;
    });
  }
  return ix;
}

function groups<T>(all: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
}

/**
 * What of this batch (RowBinary parts in FLOW_INSERT_COLUMNS, as the collector inserts them;
 * or staging rows in ROLLUP_INSERT_COLUMNS with kind ROLLUP_ROWS) the table `table`
 * (db.flows; db.flows_rollup_in) already holds.
 */
export async function checkStored(
  ch: ClickHouse,
  table: string,
  parts: readonly Buffer[],
  kind: BatchRows = FLOW_ROWS,
): Promise<StoredCheck> {
  const ix = indexRows(parts, kind);
  const partitionOf = (e: string) => `${kind.partition}(${e})`;
  const time = kind.time;
  const rows = ix.part.length;
  const chunks = ix.ids.length;
  if (rows === 0) return { state: 'stored', rows, chunks };

  const running: string[] = [];
  for (const g of groups(ix.ids, IDS_PER_QUERY)) {
    const ids = g.map((id) => quoteString(queryIdOf(kind, id.hi, id.lo))).join(', ');
    const r = await ch.query<{ query_id: string }>(
      `SELECT query_id FROM system.processes WHERE query_id IN (${ids})`,
    );
    running.push(...r.map((x) => x.query_id));
  }
  if (running.length > 0) return { state: 'running', queryIds: running };

  // stored rows per (chunk, partition)
  const storedBy = new Map<string, number>();
  let found = 0;
  for (const g of groups(ix.ids, IDS_PER_QUERY)) {
    const r = await ch.query<{ id: string; day: number; n: string }>(
      sql`SELECT toString(batch_id) AS id, ${raw(partitionOf(time))} AS day, count() AS n FROM ${ident(table)}
          WHERE ${ident(time)} >= toDateTime(${ix.tMin}) AND ${ident(time)} <= toDateTime(${ix.tMax})
            AND batch_id IN (${raw(g.map((id) => id.text).join(', '))})
          GROUP BY id, day`,
    );
    for (const x of r) {
      storedBy.set(`${x.id}|${x.day}`, Number(x.n));
      found += Number(x.n);
    }
  }
  if (found === 0) return { state: 'absent', rows, chunks };
  if (found >= rows && storedPerChunkCovers(ix, storedBy)) return { state: 'stored', rows, chunks };

  // partly there: the partition of each row, as ClickHouse computes it (server time zone)
  const seconds = [...new Set(ix.time)];
  const dayOf = new Map<number, number>();
  for (const g of groups(seconds, 10_000)) {
    const r = await ch.query<{ t: number; day: number }>(
      `SELECT t, ${partitionOf('toDateTime(t)')} AS day FROM (SELECT arrayJoin([${g.join(', ')}]) AS t)`,
    );
    for (const x of r) dayOf.set(Number(x.t), Number(x.day));
  }
  // the first n rows of each (chunk, partition) are the stored ones
  const left = new Map(storedBy);
  const rest: Buffer[] = [];
  let restRows = 0;
  let runPart = -1;
  let runStart = 0;
  let runEnd = 0;
  const flush = () => {
    if (runPart >= 0 && runEnd > runStart) rest.push(parts[runPart].subarray(runStart, runEnd));
    runPart = -1;
  };
  for (let i = 0; i < rows; i++) {
    const key = `${ix.ids[ix.chunk[i]].text}|${dayOf.get(ix.time[i])}`;
    const n = left.get(key) ?? 0;
    if (n > 0) {
      left.set(key, n - 1);
      flush();
      continue;
    }
    restRows++;
    if (runPart === ix.part[i] && runEnd === ix.start[i]) runEnd = ix.end[i];
    else {
      flush();
      runPart = ix.part[i];
      runStart = ix.start[i];
      runEnd = ix.end[i];
    }
  }
  flush();
  if (restRows === 0) return { state: 'stored', rows, chunks };
  return { state: 'partial', rows, chunks, stored: rows - restRows, rest, restRows };
}

/** true when every chunk has at least as many stored rows as it has rows here */
function storedPerChunkCovers(ix: RowIndex, storedBy: Map<string, number>): boolean {
  const need = new Map<string, number>();
  for (const c of ix.chunk) {
    const t = ix.ids[c].text;
    need.set(t, (need.get(t) ?? 0) + 1);
  }
  const have = new Map<string, number>();
  for (const [key, n] of storedBy) {
    const id = key.slice(0, key.indexOf('|'));
    have.set(id, (have.get(id) ?? 0) + n);
  }
  for (const [id, n] of need) if ((have.get(id) ?? 0) < n) return false;
  return true;
}
