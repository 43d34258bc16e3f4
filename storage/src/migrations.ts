/**
 * Schema migrations: the only place that issues DDL. Versioned (table
 * `schema_migrations`), idempotent (every statement is IF NOT EXISTS or checks first, and
 * applied versions are skipped), and run automatically at start by every part that uses
 * the database. After the versioned steps, columns that the schema gained since the flows
 * table was created are added, so adding a field stays one edit. Storage-only columns
 * (rowbinary.ts, STORAGE_COLUMNS) are not schema fields: each comes with its own
 * versioned step.
 */
import { COLUMNS } from '../../protocol/src/schema/columns.ts';
import type { ClickHouse } from './clickhouse.ts';
import {
  columnType,
  createExportersTable,
  createFlowsTable,
  createRollupStagingTable,
  createRollupStagingView,
  createRollupTable,
  createRollupView,
  dropRawRollupView,
  ROLLUPS,
} from './ddl.ts';
import {
  createAuditTable,
  createInventoryTable,
  createSessionsTable,
  createTokensTable,
  createTokenUsageTable,
} from './app-tables.ts';
import {
  createAlertDeliveriesTable,
  createAlertDeliveryAttemptsTable,
  createAlertEventsTable,
  createAlertLeaseTable,
  createAlertRulesTable,
  createAlertStateTable,
} from './alert-tables.ts';
import { STORAGE_COLUMNS } from './rowbinary.ts';
import { createExporterTemplatesTable } from './template-tables.ts';
import { ident, sql } from './sql.ts';

export interface Migration {
  version: number;
  name: string;
  statements: (db: string) => string[];
  /** a step that has to look before it acts (18.16 has no ADD COLUMN IF NOT EXISTS) */
  run?: (ch: ClickHouse, db: string) => Promise<void>;
}

/** Column names of a table, as the server has them. */
async function columnsOf(ch: ClickHouse, db: string, table: string): Promise<Set<string>> {
  const rows = await ch.query<{ name: string }>(
    sql`SELECT name FROM system.columns WHERE database = ${db} AND table = ${table}`,
  );
  return new Set(rows.map((r) => r.name));
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'flows table, rollups per minute / 5 minutes / hour, exporters',
    statements: (db) => [
      createFlowsTable(db),
      ...ROLLUPS.flatMap((r) => [createRollupTable(db, r), createRollupView(db, r)]),
      createExportersTable(db),
    ],
  },
  {
    version: 2,
    name: 'flows.batch_id: the insert chunk identity that lets the collector skip replays already stored',
    statements: () => [],
    // new tables have it from createFlowsTable; older ones get it here (existing rows read 0).
    // The rollup views select named columns, so they do not see it.
    run: async (ch, db) => {
      const have = await columnsOf(ch, db, 'flows');
      for (const c of STORAGE_COLUMNS)
        if (!have.has(c.name)) await ch.command(`ALTER TABLE ${db}.flows ADD COLUMN ${c.name} ${c.type}`);
    },
  },
  {
    version: 3,
    name: 'dashboard state: tokens, token_usage, sessions, audit, inventory',
    statements: (db) => [
      createTokensTable(db),
      createTokenUsageTable(db),
      createSessionsTable(db),
      createAuditTable(db),
      createInventoryTable(db),
    ],
  },
  {
    version: 4,
    name: 'alerts: rules, state, events, deliveries, delivery attempts, evaluator lease',
    statements: (db) => [
      createAlertRulesTable(db),
      createAlertStateTable(db),
      createAlertEventsTable(db),
      createAlertDeliveriesTable(db),
      createAlertDeliveryAttemptsTable(db),
      createAlertLeaseTable(db),
    ],
  },
  {
    version: 5,
    name: 'rollups computed by the collector: staging table flows_rollup_in and its views feed the rollups; the views on flows go',
    // The staging table and its views come first, so a new collector's rollup rows have
    // somewhere to go; then the raw table's views are dropped. Nothing in the rollup tables
    // is touched, so what they hold stays exact. Rows an older collector inserts into flows
    // after this step reach the rollups only through `vxflow rollup` (it adds what is
    // missing, never what is there: storage/src/rollup-backfill.ts).
    statements: (db) => [
      createRollupStagingTable(db),
      ...ROLLUPS.map((r) => createRollupStagingView(db, r)),
      ...ROLLUPS.map((r) => dropRawRollupView(db, r)),
    ],
  },
  {
    version: 6,
    name: 'exporter_templates: decoder templates and sampling rates shared by several collectors',
    statements: (db) => [createExporterTemplatesTable(db)],
  },
];

export interface MigrateResult {
  applied: number[];
  addedColumns: string[];
}

export async function migrate(
  ch: ClickHouse,
  /** upTo: apply versions up to this one only (tests that build an older installation) */
  opts: { log?: (msg: string) => void; upTo?: number } = {},
): Promise<MigrateResult> {
  const log = opts.log ?? (() => {});
  const db = ident(ch.database);
  const dbName = ch.database;
  await ch.command(`CREATE DATABASE IF NOT EXISTS ${dbName}`);
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${dbName}.schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = TinyLog`,
  );
  const done = new Set(
    (await ch.query<{ version: number }>(`SELECT version FROM ${dbName}.schema_migrations`)).map((r) =>
      Number(r.version),
    ),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version) || m.version > (opts.upTo ?? Number.POSITIVE_INFINITY)) continue;
    log(`migration ${m.version}: ${m.name}`);
    for (const stmt of m.statements(dbName)) await ch.command(stmt);
    await m.run?.(ch, dbName);
    await ch.command(
      sql`INSERT INTO ${db}.schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, now())`,
    );
    applied.push(m.version);
  }
  const existing = await columnsOf(ch, dbName, 'flows');
  const addedColumns: string[] = [];
  for (const c of COLUMNS) {
    if (existing.has(c.name)) continue;
    log(`flows: adding column ${c.name} ${columnType(c)}`);
    await ch.command(`ALTER TABLE ${dbName}.flows ADD COLUMN ${c.name} ${columnType(c)}`);
    addedColumns.push(c.name);
  }
  if (applied.length === 0 && addedColumns.length === 0) log(`schema of database ${dbName} is up to date`);
  return { applied, addedColumns };
}
