/**
 * ClickHouse DDL generated from the one flow schema (protocol/src/schema/columns.ts).
 * Pure: returns SQL text. Uses only what ClickHouse 18.16 has and current releases keep
 * (MergeTree with PARTITION BY/ORDER BY, SummingMergeTree, ReplacingMergeTree, materialized
 * views TO a table; no TTL, no LowCardinality, no IPv6 type, no codecs).
 */
import { COLUMNS, type Column } from '../../protocol/src/schema/columns.ts';
import { CLICKHOUSE_TYPE, STORAGE_COLUMNS } from './rowbinary.ts';

export interface Rollup {
  table: string;
  /** ClickHouse function truncating time_received */
  bucket: 'toStartOfMinute' | 'toStartOfFiveMinute' | 'toStartOfHour';
  /** seconds per bucket, for queries that pick the coarsest table */
  seconds: number;
  partition: 'toYYYYMMDD' | 'toYYYYMM';
}

export const ROLLUPS: readonly Rollup[] = [
  { table: 'flows_1m', bucket: 'toStartOfMinute', seconds: 60, partition: 'toYYYYMMDD' },
  { table: 'flows_5m', bucket: 'toStartOfFiveMinute', seconds: 300, partition: 'toYYYYMMDD' },
  { table: 'flows_1h', bucket: 'toStartOfHour', seconds: 3600, partition: 'toYYYYMM' },
];

/**
 * The rollup staging table: the collector's per-chunk rollup rows (one per minute and
 * rollup key, with the chunk's batch_id) land here, and one materialized view per rollup
 * feeds flows_1m / flows_5m / flows_1h from it. Plain MergeTree, so a replayed batch can be
 * checked by batch_id like the raw rows (storage/src/flow-batches.ts); kept only a few days
 * (ROLLUP_STAGING_RETENTION_DAYS): the rollups hold the sums, this holds the receipts.
 */
export const ROLLUP_STAGING_TABLE = 'flows_rollup_in';
/** Its time column: the minute bucket (named apart from the rollups' `time`, see createRollupStagingView). */
export const ROLLUP_STAGING_TIME = 'minute';
/**
 * Days the staging table keeps its partitions: longer than a batch can wait in a
 * collector's spool before its replay is checked against them.
 */
export const ROLLUP_STAGING_RETENTION_DAYS = 7;

/** How each table is partitioned, for retention. */
export const PARTITIONING: Record<string, 'toYYYYMMDD' | 'toYYYYMM'> = {
  flows: 'toYYYYMMDD',
  ...Object.fromEntries(ROLLUPS.map((r) => [r.table, r.partition])),
  [ROLLUP_STAGING_TABLE]: 'toYYYYMMDD',
};

export const columnType = (c: Column): string => CLICKHOUSE_TYPE[c.kind];

export const SORT_KEY: readonly string[] = COLUMNS.filter((c) => 'sortKey' in c)
  .sort((a, b) => (a as { sortKey: number }).sortKey - (b as { sortKey: number }).sortKey)
  .map((c) => c.name);

export const ROLLUP_DIMENSIONS: readonly Column[] = COLUMNS.filter((c) => c.rollup);

/**
 * Sums kept by every rollup. sampling_rate is a rollup dimension, so queries scale with
 * `sum(bytes * sampling_rate)` on any table. (A scaled sum cannot be computed inside the
 * view on 18.16: `sum(bytes) AS bytes` makes every other `bytes` name the alias, and
 * materialized views over a subquery fail with "Unknown identifier".)
 */
export const ROLLUP_MEASURES = [
  { name: 'bytes', type: 'UInt64', expr: 'sum(bytes)' },
  { name: 'packets', type: 'UInt64', expr: 'sum(packets)' },
  { name: 'flows', type: 'UInt64', expr: 'count()' },
] as const;

/** flows: every schema column in schema order, then the storage-only columns (batch_id). */
export function createFlowsTable(db: string): string {
  const cols = [
    ...COLUMNS.map((c) => `  ${c.name} ${columnType(c)}`),
    ...STORAGE_COLUMNS.map((c) => `  ${c.name} ${c.type}`),
  ].join(',\n');
  return `CREATE TABLE IF NOT EXISTS ${db}.flows (\n${cols}\n) ENGINE = MergeTree\nPARTITION BY toYYYYMMDD(time_received)\nORDER BY (${SORT_KEY.join(', ')})`;
}

export function createRollupTable(db: string, r: Rollup): string {
  const dims = ROLLUP_DIMENSIONS.map((c) => `  ${c.name} ${columnType(c)}`);
  const measures = ROLLUP_MEASURES.map((m) => `  ${m.name} ${m.type}`);
  const key = [...SORT_KEY.map((k) => (k === 'time_received' ? 'time' : k)), ...rollupKeyRest()];
  return `CREATE TABLE IF NOT EXISTS ${db}.${r.table} (\n  time DateTime,\n${[...dims, ...measures].join(',\n')}\n) ENGINE = SummingMergeTree((${ROLLUP_MEASURES.map((m) => m.name).join(', ')}))\nPARTITION BY ${r.partition}(time)\nORDER BY (${key.join(', ')})`;
}

function rollupKeyRest(): string[] {
  return ROLLUP_DIMENSIONS.map((c) => c.name).filter((n) => !SORT_KEY.includes(n));
}

/**
 * Migration 1's views: each rollup read the raw table (materialized views do not cascade on
 * 18.16). Migration 5 drops them (dropRawRollupView): the collector now sends rollup rows
 * itself, through the staging table.
 */
export function createRollupView(db: string, r: Rollup): string {
  const dims = ROLLUP_DIMENSIONS.map((c) => c.name);
  const select = [
    `${r.bucket}(time_received) AS time`,
    ...dims,
    ...ROLLUP_MEASURES.map((m) => `${m.expr} AS ${m.name}`),
  ];
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${r.table}_mv TO ${db}.${r.table} AS SELECT ${select.join(', ')} FROM ${db}.flows GROUP BY time, ${dims.join(', ')}`;
}

/** The name of migration 1's view of a rollup on the raw table. */
export const rawRollupViewName = (r: Rollup) => `${r.table}_mv`;

export function dropRawRollupView(db: string, r: Rollup): string {
  return `DROP TABLE IF EXISTS ${db}.${rawRollupViewName(r)}`;
}

/**
 * flows_rollup_in: batch_id, the minute, the rollup dimensions, the measures. Ordered by
 * batch_id so the replay check's `batch_id IN (…)` reads few granules; partitioned by day
 * like flows, so retention and the check's time range prune the same way.
 */
export function createRollupStagingTable(db: string): string {
  const cols = [
    '  batch_id UInt64',
    `  ${ROLLUP_STAGING_TIME} DateTime`,
    ...ROLLUP_DIMENSIONS.map((c) => `  ${c.name} ${columnType(c)}`),
    ...ROLLUP_MEASURES.map((m) => `  ${m.name} ${m.type}`),
  ].join(',\n');
  return `CREATE TABLE IF NOT EXISTS ${db}.${ROLLUP_STAGING_TABLE} (\n${cols}\n) ENGINE = MergeTree\nPARTITION BY toYYYYMMDD(${ROLLUP_STAGING_TIME})\nORDER BY (batch_id, ${ROLLUP_STAGING_TIME})`;
}

/** The staging table's insert column list, in table order (the rollup output writes rows in it). */
export const ROLLUP_INSERT_COLUMNS = [
  'batch_id',
  ROLLUP_STAGING_TIME,
  ...ROLLUP_DIMENSIONS.map((c) => c.name),
  ...ROLLUP_MEASURES.map((m) => m.name),
].join(', ');

export const rollupStagingViewName = (r: Rollup) => `${r.table}_from_in`;

/**
 * A rollup fed from the staging table: the minute truncated to the rollup's bucket, the
 * dimensions, the measures summed. The staging time column is `minute`, not `time`, because
 * `toStartOfHour(time) AS time` would be a cyclic alias on 18.16; `sum(bytes) AS bytes` is
 * the form migration 1's views already used there.
 */
export function createRollupStagingView(db: string, r: Rollup): string {
  const dims = ROLLUP_DIMENSIONS.map((c) => c.name);
  const select = [
    `${r.bucket}(${ROLLUP_STAGING_TIME}) AS time`,
    ...dims,
    ...ROLLUP_MEASURES.map((m) => `sum(${m.name}) AS ${m.name}`),
  ];
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${rollupStagingViewName(r)} TO ${db}.${r.table} AS SELECT ${select.join(', ')} FROM ${db}.${ROLLUP_STAGING_TABLE} GROUP BY time, ${dims.join(', ')}`;
}

export const EXPORTERS_COLUMNS: readonly [string, string][] = [
  ['exporter', 'FixedString(16)'],
  ['name', 'String'],
  ['version', 'UInt8'],
  ['observation_domain', 'UInt32'],
  ['templates', 'UInt32'],
  ['sampling_rate', 'UInt32'],
  ['packets', 'UInt64'],
  ['records', 'UInt64'],
  ['lost_packets', 'UInt64'],
  ['lost_records', 'UInt64'],
  ['errors', 'UInt64'],
  ['first_seen', 'DateTime'],
  ['last_seen', 'DateTime'],
];

export function createExportersTable(db: string): string {
  const cols = EXPORTERS_COLUMNS.map(([n, t]) => `  ${n} ${t}`).join(',\n');
  return `CREATE TABLE IF NOT EXISTS ${db}.exporters (\n${cols}\n) ENGINE = ReplacingMergeTree(last_seen)\nORDER BY (exporter, observation_domain)`;
}
