/**
 * Retention by dropping whole partitions older than each table's limit (ClickHouse 18.16
 * has no TTL). Daily partitions (toYYYYMMDD) go when their day is entirely before the
 * cutoff; monthly ones (toYYYYMM) when their whole month is.
 */
import type { ClickHouse } from './clickhouse.ts';
import { PARTITIONING, ROLLUP_STAGING_RETENTION_DAYS, ROLLUP_STAGING_TABLE } from './ddl.ts';
import { sql } from './sql.ts';

/** Last instant (exclusive end, ms) covered by a partition id. */
export function partitionEndMs(partition: string, scheme: 'toYYYYMMDD' | 'toYYYYMM'): number | undefined {
  if (scheme === 'toYYYYMMDD' && /^\d{8}$/.test(partition)) {
    const y = Number(partition.slice(0, 4));
    const m = Number(partition.slice(4, 6));
    const d = Number(partition.slice(6, 8));
    return Date.UTC(y, m - 1, d + 1);
  }
  if (scheme === 'toYYYYMM' && /^\d{6}$/.test(partition)) {
    const y = Number(partition.slice(0, 4));
    const m = Number(partition.slice(4, 6));
    return Date.UTC(y, m, 1);
  }
  return undefined;
}

/** Which of the given partitions lie entirely before now - days. */
export function expiredPartitions(
  partitions: readonly string[],
  scheme: 'toYYYYMMDD' | 'toYYYYMM',
  days: number,
  nowMs: number,
): string[] {
  const cutoff = nowMs - days * 86_400_000;
  return partitions.filter((p) => {
    const end = partitionEndMs(p, scheme);
    return end !== undefined && end <= cutoff;
  });
}

/**
 * The limit of every table that has one: the configured days (clickhouse.retentionDays),
 * and the rollup staging table's own short limit unless the configuration names it. Its
 * rows are receipts for the replay check, already summed into the rollups, so dropping
 * them loses no traffic.
 */
export function retentionLimits(days: Readonly<Record<string, number>>): Record<string, number> {
  return { [ROLLUP_STAGING_TABLE]: ROLLUP_STAGING_RETENTION_DAYS, ...days };
}

export async function applyRetention(
  ch: ClickHouse,
  days: Readonly<Record<string, number>>,
  opts: { nowMs?: number; log?: (msg: string) => void } = {},
): Promise<{ table: string; partition: string }[]> {
  const now = opts.nowMs ?? Date.now();
  const dropped: { table: string; partition: string }[] = [];
  for (const [table, limit] of Object.entries(retentionLimits(days))) {
    const scheme = PARTITIONING[table];
    if (!scheme) continue;
    const rows = await ch.query<{ partition: string }>(
      sql`SELECT DISTINCT partition FROM system.parts WHERE database = ${ch.database} AND table = ${table} AND active`,
    );
    for (const p of expiredPartitions(
      rows.map((r) => r.partition),
      scheme,
      limit,
      now,
    )) {
      await ch.command(
        `ALTER TABLE ${ch.database}.${table} DROP PARTITION ${/^\d+$/.test(p) ? p : `'${p}'`}`,
      );
      opts.log?.(`retention: dropped ${table} partition ${p} (older than ${limit} days)`);
      dropped.push({ table, partition: p });
    }
  }
  return dropped;
}
