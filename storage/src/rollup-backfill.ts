/**
 * The rollup backfill behind `vxflow rollup`: brings into flows_1m / flows_5m / flows_1h the
 * rows of `flows` that reached it without the collector (another tool's inserts, a tool
 * that loads old data, an older collector still running after migration 5), and only those.
 *
 * How it cannot double anything: it does not guess which raw rows are missing from the
 * rollups, it measures it. For every minute and rollup key in the range it takes the raw
 * table's sums minus flows_1m's sums, and inserts into the staging table (batch_id 0, "not
 * from a collector") only what is positive; the staging table's views add it to all three
 * rollups. Run twice, the second run finds nothing missing. Running over rows the collector
 * already rolled up adds nothing either, because the collector's sink inserts a chunk's
 * rollup rows before its raw rows (collector/src/sink/clickhouse-sink.ts): whatever of the
 * collector's rows the raw table holds, flows_1m holds too, so they never count as missing.
 *
 * Limits, said plainly: flows_1m is the reference, so a day whose flows_1m partition
 * retention has dropped while flows still has it would be added again to flows_5m and
 * flows_1h (the command refuses days older than flows_1m's retention). Two backfills at
 * once on one database would each add what is missing: every backfill insert runs under
 * one query_id per database, which ClickHouse refuses to run twice at the same time.
 */
import type { ClickHouse } from './clickhouse.ts';
import { errorCode } from './clickhouse.ts';
import { ROLLUP_DIMENSIONS, ROLLUP_INSERT_COLUMNS, ROLLUP_STAGING_TABLE, ROLLUPS } from './ddl.ts';
import { UserError } from '../../common/errors.ts';

const MINUTE = 60;
const DAY = 86_400;
/** ClickHouse's QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING */
const SAME_QUERY_ID_RUNNING = 216;

const ONE_MINUTE = ROLLUPS.find((r) => r.seconds === MINUTE);
if (!ONE_MINUTE) throw new Error('the backfill measures against the 1-minute rollup, and there is none');

export interface BackfillRange {
  /** seconds, inclusive (rounded down to a minute) */
  fromSec: number;
  /** seconds, exclusive (rounded up to a minute) */
  toSec: number;
}

export interface BackfillStep extends BackfillRange {
  /** rollup rows (minute × key) the rollups missed */
  rows: number;
  /** raw flows, bytes and packets they add */
  flows: number;
  bytes: number;
  packets: number;
  /** false on a dry run or when nothing was missing */
  inserted: boolean;
  ms: number;
}

/** [from, to) cut at UTC midnights, so progress comes once per day. */
export function daysOf(range: BackfillRange): BackfillRange[] {
  const from = Math.floor(range.fromSec / MINUTE) * MINUTE;
  const to = Math.ceil(range.toSec / MINUTE) * MINUTE;
  const out: BackfillRange[] = [];
  for (let a = from; a < to; ) {
    const b = Math.min(to, (Math.floor(a / DAY) + 1) * DAY);
    out.push({ fromSec: a, toSec: b });
    a = b;
  }
  return out;
}

/**
 * Per minute and rollup key: raw sums minus flows_1m's, as Int64 (b, p, f). Minutes are
 * toStartOfMinute on the server, as the rollups have them.
 */
function missingSql(db: string, r: BackfillRange): string {
  const dims = ROLLUP_DIMENSIONS.map((c) => c.name).join(', ');
  const from = `toDateTime(${r.fromSec})`;
  const to = `toDateTime(${r.toSec})`;
  return `SELECT minute, ${dims}, sum(b) AS b, sum(p) AS p, sum(f) AS f FROM (
  SELECT toStartOfMinute(time_received) AS minute, ${dims}, toInt64(sum(bytes)) AS b, toInt64(sum(packets)) AS p, toInt64(count()) AS f
    FROM ${db}.flows WHERE time_received >= ${from} AND time_received < ${to} GROUP BY minute, ${dims}
  UNION ALL
  SELECT time AS minute, ${dims}, -toInt64(sum(bytes)) AS b, -toInt64(sum(packets)) AS p, -toInt64(sum(flows)) AS f
    FROM ${db}.${ONE_MINUTE?.table} WHERE time >= ${from} AND time < ${to} GROUP BY minute, ${dims}
) GROUP BY minute, ${dims}`;
}

/** What is missing, keys where any measure is positive; each measure clamped at 0. */
function positiveSql(db: string, r: BackfillRange): string {
  const dims = ROLLUP_DIMENSIONS.map((c) => c.name).join(', ');
  return `SELECT minute, ${dims}, toUInt64(greatest(b, 0)) AS pb, toUInt64(greatest(p, 0)) AS pp, toUInt64(greatest(f, 0)) AS pf
  FROM (${missingSql(db, r)}) WHERE b > 0 OR p > 0 OR f > 0`;
}

export async function backfillRollups(
  ch: ClickHouse,
  range: BackfillRange,
  opts: { dryRun?: boolean; onStep?: (s: BackfillStep) => void } = {},
): Promise<BackfillStep[]> {
  const db = ch.database;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw new UserError(`not a database name: ${db}`);
  const steps: BackfillStep[] = [];
  for (const day of daysOf(range)) {
    const t0 = Date.now();
    const [sum] = await ch.query<{ rows: string; flows: string; bytes: string; packets: string }>(
      `SELECT count() AS rows, sum(pf) AS flows, sum(pb) AS bytes, sum(pp) AS packets FROM (${positiveSql(db, day)})`,
    );
    const step: BackfillStep = {
      ...day,
      rows: Number(sum?.rows ?? 0),
      flows: Number(sum?.flows ?? 0),
      bytes: Number(sum?.bytes ?? 0),
      packets: Number(sum?.packets ?? 0),
      inserted: false,
      ms: 0,
    };
    if (step.rows > 0 && !opts.dryRun) {
      const insert = `INSERT INTO ${db}.${ROLLUP_STAGING_TABLE} (${ROLLUP_INSERT_COLUMNS}) SELECT toUInt64(0), * FROM (${positiveSql(db, day)})`;
      try {
        await ch.client.command({ query: insert, query_id: `vxflow-rollup-backfill-${db}` });
      } catch (err) {
        if (errorCode(err) === SAME_QUERY_ID_RUNNING || /already running/i.test((err as Error).message))
          throw new UserError(
            `another \`vxflow rollup\` is running on database ${db}`,
            'wait for it to finish: two at once would both add what is missing',
          );
        throw err;
      }
      step.inserted = true;
    }
    step.ms = Date.now() - t0;
    steps.push(step);
    opts.onStep?.(step);
  }
  return steps;
}

/** The range of time_received the raw table holds (undefined when it is empty). */
export async function flowsTimeRange(ch: ClickHouse): Promise<BackfillRange | undefined> {
  const [r] = await ch.query<{ a: number; b: number; n: string }>(
    `SELECT toUInt32(min(time_received)) AS a, toUInt32(max(time_received)) AS b, count() AS n FROM ${ch.database}.flows`,
  );
  return Number(r?.n ?? 0) > 0 ? { fromSec: Number(r.a), toSec: Number(r.b) + 1 } : undefined;
}

/**
 * The backfill over everything flows holds: for tools (and test fixtures) that load rows
 * straight into flows and then want the rollups to have them.
 */
export async function backfillAllRollups(ch: ClickHouse): Promise<BackfillStep[]> {
  const range = await flowsTimeRange(ch);
  return range ? backfillRollups(ch, range) : [];
}
