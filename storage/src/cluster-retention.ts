/**
 * Retention on a cluster (`vxflow migrate --cluster NAME --retention`): the same rule and
 * limits as on one server (retention.ts: a partition goes when it lies entirely before
 * now - days; the rollup staging table keeps its own short limit), but
 * the partitions live in the `_local` tables of every shard. They are listed on one replica
 * of every shard (the `cluster()` table function over system.parts), and each expired one is
 * dropped with `ALTER TABLE <table>_local ON CLUSTER … DROP PARTITION`, which every shard runs
 * and ZooKeeper carries to the other replicas. A shard that is down makes the listing fail:
 * nothing is dropped, and the next run tries again.
 */
import type { ClickHouse } from './clickhouse.ts';
import { localName } from './cluster-ddl.ts';
import { PARTITIONING } from './ddl.ts';
import { expiredPartitions, retentionLimits } from './retention.ts';
import { quoteString, sql } from './sql.ts';

export async function applyClusterRetention(
  ch: ClickHouse,
  cluster: string,
  days: Readonly<Record<string, number>>,
  opts: { nowMs?: number; log?: (msg: string) => void } = {},
): Promise<{ table: string; partition: string }[]> {
  const now = opts.nowMs ?? Date.now();
  const db = ch.database;
  const dropped: { table: string; partition: string }[] = [];
  for (const [table, limit] of Object.entries(retentionLimits(days))) {
    const scheme = PARTITIONING[table];
    if (!scheme) continue;
    const local = localName(table);
    const rows = await ch.query<{ partition: string }>(
      `SELECT DISTINCT partition FROM cluster(${quoteString(cluster)}, system, parts) WHERE ${sql`database = ${db} AND table = ${local}`} AND active`,
    );
    for (const p of expiredPartitions(
      rows.map((r) => r.partition),
      scheme,
      limit,
      now,
    )) {
      await ch.command(
        `ALTER TABLE ${db}.${local} ON CLUSTER ${cluster} DROP PARTITION ${/^\d+$/.test(p) ? p : quoteString(p)}`,
      );
      opts.log?.(`retention: dropped ${table} partition ${p} on every shard (older than ${limit} days)`);
      dropped.push({ table, partition: p });
    }
  }
  return dropped;
}
