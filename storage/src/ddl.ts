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

/** How each table is partitioned, for retention. */
export const PARTITIONING: Record<string, 'toYYYYMMDD' | 'toYYYYMM'> = {
  flows: 'toYYYYMMDD',
  ...Object.fromEntries(ROLLUPS.map((r) => [r.table, r.partition])),
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

/** Each rollup reads the raw table: materialized views do not cascade on 18.16. */
export function createRollupView(db: string, r: Rollup): string {
  const dims = ROLLUP_DIMENSIONS.map((c) => c.name);
  const select = [
    `${r.bucket}(time_received) AS time`,
    ...dims,
    ...ROLLUP_MEASURES.map((m) => `${m.expr} AS ${m.name}`),
  ];
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${r.table}_mv TO ${db}.${r.table} AS SELECT ${select.join(', ')} FROM ${db}.flows GROUP BY time, ${dims.join(', ')}`;
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
