/**
 * `vxflow migrate --cluster NAME`: the same migrations as on one server (migrations.ts, all
 * of MIGRATIONS and the column-adding step, whatever they hold), run through a ClickHouse
 * handle whose command() turns each statement into its cluster form (cluster-ddl.ts) before
 * sending it. So there is no second copy of the schema, and a migration added tomorrow is
 * clustered too, or refused with a clear error if the rewriter does not know its form.
 *
 * Idempotent as the single-server run is: applied versions are read from
 * schema_migrations, which is itself replicated to every node, and every CREATE is IF NOT
 * EXISTS ON CLUSTER. A column added to the `_local` tables on an earlier run that stopped
 * before the Distributed table got it is not added twice.
 */
import { UserError } from '../../common/errors.ts';
import type { ClickHouse } from './clickhouse.ts';
import {
  type ClusterDdlOptions,
  localName,
  rewriteForCluster,
  shardedTablesOf,
  shardingKeysOf,
} from './cluster-ddl.ts';
import { MIGRATIONS, type MigrateResult, migrate } from './migrations.ts';
import { sql } from './sql.ts';

export interface ClusterMigrateResult extends MigrateResult {
  cluster: string;
  sharded: string[];
}

/** A cluster name as remote_servers spells it; throws a UserError naming a bad one. */
export function checkClusterName(cluster: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster))
    throw new UserError(`--cluster: ${JSON.stringify(cluster)} is not a cluster name (letters, digits, _)`);
  return cluster;
}

/** The cluster as this node sees it; throws a UserError naming what is missing. */
export async function checkCluster(
  ch: ClickHouse,
  cluster: string,
): Promise<{ shards: number; replicas: number }> {
  checkClusterName(cluster);
  const rows = await ch.query<{ shard_num: number }>(
    sql`SELECT shard_num FROM system.clusters WHERE cluster = ${cluster}`,
  );
  if (rows.length === 0) {
    const names = (await ch.query<{ cluster: string }>('SELECT DISTINCT cluster FROM system.clusters')).map(
      (r) => r.cluster,
    );
    throw new UserError(
      `--cluster: ClickHouse at ${ch.url} has no cluster ${JSON.stringify(cluster)} in remote_servers`,
      `it has: ${names.join(', ') || 'none'}; see deploy/clickhouse/cluster/remote_servers.xml`,
    );
  }
  const macros = new Set(
    (await ch.query<{ macro: string }>('SELECT macro FROM system.macros')).map((r) => r.macro),
  );
  for (const m of ['shard', 'replica'])
    if (!macros.has(m))
      throw new UserError(
        `--cluster: ClickHouse at ${ch.url} has no {${m}} macro`,
        'every node needs <macros><shard>…</shard><replica>…</replica></macros>: see deploy/clickhouse/cluster/macros.xml',
      );
  try {
    await ch.query(`SELECT name FROM system.zookeeper WHERE path = '/'`);
  } catch (err) {
    throw new UserError(
      `--cluster: ClickHouse at ${ch.url} cannot reach ZooKeeper/Keeper (${(err as Error).message})`,
      'see deploy/clickhouse/cluster/zookeeper.xml',
    );
  }
  return { shards: new Set(rows.map((r) => r.shard_num)).size, replicas: rows.length };
}

/** A handle on the same server whose command() runs the cluster form of each statement. */
export function clusterHandle(
  ch: ClickHouse,
  opts: { cluster: string; sharded: Set<string>; keys?: Map<string, string> },
): ClickHouse {
  const keys = opts.keys ?? new Map<string, string>();
  const ddl: ClusterDdlOptions = { cluster: opts.cluster, sharded: opts.sharded, keys };
  return {
    ...ch,
    async command(stmt: string): Promise<void> {
      for (const name of shardedTablesOf([stmt])) opts.sharded.add(name);
      for (const [name, key] of shardingKeysOf([stmt])) keys.set(name, key);
      for (const name of opts.sharded) if (!keys.has(name)) keys.set(name, await existingKey(ch, name));
      for (const s of rewriteForCluster(stmt, ddl)) {
        if (await alreadyHasColumn(ch, s, opts.cluster)) continue;
        await ch.command(s);
      }
    },
  };
}

/** The sharding key of an existing Distributed table, as this node has it ('' if none). */
async function existingKey(ch: ClickHouse, name: string): Promise<string> {
  const [r] = await ch.query<{ q: string }>(
    sql`SELECT create_table_query AS q FROM system.tables WHERE database = ${ch.database} AND name = ${name}`,
  );
  const m = r ? /Distributed\([^,]+,[^,]+,[^,]+,\s*(.+)\)\s*$/.exec(r.q) : null;
  return m ? m[1] : '';
}

/** true for `ALTER TABLE db.x_local ON CLUSTER c ADD COLUMN col …` when x_local has col already */
async function alreadyHasColumn(ch: ClickHouse, stmt: string, cluster: string): Promise<boolean> {
  const m = new RegExp(`^ALTER TABLE (\\w+)\\.(\\w+_local) ON CLUSTER ${cluster} ADD COLUMN (\\w+)\\s`).exec(
    stmt,
  );
  if (!m) return false;
  const rows = await ch.query(
    sql`SELECT name FROM system.columns WHERE database = ${m[1]} AND table = ${m[2]} AND name = ${m[3]}`,
  );
  return rows.length > 0;
}

export async function migrateCluster(
  ch: ClickHouse,
  cluster: string,
  opts: { log?: (msg: string) => void } = {},
): Promise<ClusterMigrateResult> {
  await checkCluster(ch, cluster);
  const db = ch.database;
  const [existing] = await ch.query<{ engine: string }>(
    sql`SELECT engine FROM system.tables WHERE database = ${db} AND name = 'flows'`,
  );
  if (existing && existing.engine !== 'Distributed')
    throw new UserError(
      `--cluster: database ${db} at ${ch.url} already has a single-server schema (flows is ${existing.engine})`,
      `create the cluster schema in another database (clickhouse.database) and copy the rows with INSERT INTO <new>.flows SELECT * FROM ${db}.flows`,
    );
  const current = existing ? await clusterOfSchema(ch) : undefined;
  if (current && current !== cluster)
    throw new UserError(
      `--cluster: database ${db} at ${ch.url} was created for cluster ${current}, not ${cluster}`,
    );
  const statements = MIGRATIONS.flatMap((m) => m.statements(db));
  const sharded = shardedTablesOf(statements);
  const keys = shardingKeysOf(statements);
  const result = await migrate(clusterHandle(ch, { cluster, sharded, keys }), opts);
  opts.log?.(
    `cluster ${cluster}: sharded ${[...sharded].map((t) => `${t} (${localName(t)})`).join(', ')}; other tables replicated to every node`,
  );
  return { ...result, cluster, sharded: [...sharded] };
}

/**
 * The cluster a database's schema was created for (the first argument of its Distributed
 * `flows`), or undefined for a single-server schema or an empty database.
 */
export async function clusterOfSchema(ch: ClickHouse): Promise<string | undefined> {
  const [r] = await ch.query<{ q: string }>(
    sql`SELECT create_table_query AS q FROM system.tables WHERE database = ${ch.database} AND name = 'flows' AND engine = 'Distributed'`,
  );
  const m = r ? /Distributed\(\s*'?(\w+)'?\s*,/.exec(r.q) : null;
  return m?.[1];
}

/**
 * What a part (collector, dashboard) should run at start instead of migrate(): on a
 * database that `migrate --cluster` created, the cluster form (a single-server migration
 * there would create its new tables on the one node it talks to, outside the cluster);
 * otherwise the single-server one.
 */
export async function migrateAuto(
  ch: ClickHouse,
  opts: { log?: (msg: string) => void } = {},
): Promise<MigrateResult & { cluster?: string }> {
  const exists = await ch.query(sql`SELECT name FROM system.databases WHERE name = ${ch.database}`);
  const cluster = exists.length > 0 ? await clusterOfSchema(ch) : undefined;
  return cluster ? migrateCluster(ch, cluster, opts) : migrate(ch, opts);
}
