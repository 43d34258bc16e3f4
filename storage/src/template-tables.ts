/**
 * The decoder state several collectors share (issue 14): NetFlow v9 / IPFIX templates and
 * each observation domain's sampling rates, keyed by exporter address + version +
 * observation domain (+ template id). A collector writes a row when a definition changes
 * (collector/src/templates/), and reads an exporter's rows when that exporter first sends to
 * it, so a collector that takes over an exporter from one that died decodes its data sets
 * before the exporter's next template refresh.
 *
 * Newest wins: two collectors writing the same key are ordered by `updated_ms` (when the
 * definition was last seen on the wire), both in the ReplacingMergeTree and in the reader's
 * argMax, which does not wait for merges. Monthly partitions by `updated_ms` let old
 * rows go by dropping partitions: every collector rewrites what it holds once a day, so only
 * exporters no collector has heard for weeks lose their rows.
 */
import type { ClickHouse } from './clickhouse.ts';
import { expiredPartitions } from './retention.ts';
import { sql } from './sql.ts';

export const EXPORTER_TEMPLATES_TABLE = 'exporter_templates';

/** template_id of the row that holds a domain's own state (sampling rates, init time); templates are >= 256 */
export const DOMAIN_ROW_ID = 0;

/** Partition scheme of the table (as retention.ts names them). */
export const EXPORTER_TEMPLATES_PARTITIONING = 'toYYYYMM' as const;

/** Columns in insert order: the collector's RowBinary encoder writes them in this order. */
export const EXPORTER_TEMPLATES_INSERT_COLUMNS =
  'exporter, version, observation_domain, template_id, definition, updated_ms, collector';

export function createExporterTemplatesTable(db: string): string {
  // exporter is the address text the decoder keys templates by (IPv4 dotted, IPv6
  // compressed), not the flows table's FixedString(16): it goes back to the decoder as is
  return `CREATE TABLE IF NOT EXISTS ${db}.${EXPORTER_TEMPLATES_TABLE} (
  exporter String,
  version UInt8,
  observation_domain UInt32,
  template_id UInt16,
  definition String,
  updated_ms UInt64,
  collector String
) ENGINE = ReplacingMergeTree(updated_ms)
PARTITION BY toYYYYMM(toDateTime(intDiv(updated_ms, 1000)))
ORDER BY (exporter, version, observation_domain, template_id)`;
}

export interface StoredTemplateRow {
  exporter: string;
  version: number;
  observation_domain: number;
  template_id: number;
  newest_definition: string;
  newest_ms: string | number;
}

/**
 * The newest row of every key of these exporters, seen within `maxAgeDays`, at most
 * `perExporter` rows per exporter (its limits: a forged address cannot load more than the
 * decoder would accept from the wire).
 */
export function exporterTemplatesQuery(
  db: string,
  exporters: readonly string[],
  perExporter: number,
  maxAgeDays: number,
  nowMs: number,
): string {
  const since = Math.max(0, Math.floor(nowMs - maxAgeDays * 86_400_000));
  const list = exporters.map((e) => sql`${e}`).join(', ');
  return `SELECT exporter, version, observation_domain, template_id,
  argMax(definition, updated_ms) AS newest_definition, max(updated_ms) AS newest_ms
FROM ${db}.${EXPORTER_TEMPLATES_TABLE}
WHERE exporter IN (${list}) AND updated_ms >= ${since}
GROUP BY exporter, version, observation_domain, template_id
ORDER BY exporter, newest_ms DESC
LIMIT ${Math.max(1, Math.floor(perExporter))} BY exporter`;
}

/**
 * Drops the table's monthly partitions that lie wholly before `maxAgeDays` (rows no
 * collector rewrote). On a cluster the table is replicated to every node, and a replicated
 * DROP PARTITION reaches every replica.
 */
export async function dropExpiredTemplatePartitions(
  ch: ClickHouse,
  maxAgeDays: number,
  nowMs: number,
): Promise<void> {
  const parts = await ch.query<{ partition: string }>(
    sql`SELECT DISTINCT partition FROM system.parts WHERE database = ${ch.database} AND table = ${EXPORTER_TEMPLATES_TABLE} AND active`,
  );
  for (const p of expiredPartitions(
    parts.map((x) => x.partition),
    EXPORTER_TEMPLATES_PARTITIONING,
    maxAgeDays,
    nowMs,
  ))
    await ch.command(`ALTER TABLE ${ch.database}.${EXPORTER_TEMPLATES_TABLE} DROP PARTITION ${p}`);
}
