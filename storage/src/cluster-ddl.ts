/**
 * The cluster form of the schema, written as a rewriter over the single-server statements
 * (migrations.ts, ddl.ts, app-tables.ts, alert-tables.ts…) so there is one schema: every
 * statement that `vxflow migrate` runs goes through rewriteForCluster(), which turns it into
 * what a cluster of shards and replicas needs. Pure: SQL text in, SQL text out.
 *
 * Two kinds of tables:
 * - Flow data (`flows` and every table named `flows_…`: the rollups, a staging table) is
 *   sharded: on every node `<name>_local`, a Replicated*MergeTree at
 *   /clickhouse/tables/{shard}/<db>/<name>_local (one copy per replica of its shard), and
 *   under the original name a Distributed table over them, so every query and insert that
 *   names `flows` or `flows_1m` works unchanged. Materialized views move onto the `_local`
 *   tables and write into `_local` tables: each shard rolls up its own rows, on the replica
 *   that took the insert (views do not run on replicated fetches), so nothing counts twice.
 * - State (exporters, tokens, sessions, audit, inventory, alert tables, schema_migrations,
 *   template state, anything else) is small and is replicated whole to every node: one
 *   Replicated*MergeTree per node at /clickhouse/tables/all/<db>/<name> (no {shard}), so
 *   every dashboard and collector reads the same state from the node it talks to. Log-family
 *   engines (schema_migrations' TinyLog) become ReplicatedMergeTree ORDER BY tuple().
 *
 * The sharding key of a Distributed table (where an insert through it sends each row):
 * - tables with `batch_id` (the raw flows, a staging table): intHash64(batch_id). Every row
 *   of one insert chunk goes to the same shard, which is what keeps the collector's
 *   exactly-once replay correct across shards (storage/src/flow-batches.ts: for each
 *   (chunk, partition) the rows stored are a prefix of the chunk's rows; a chunk split over
 *   two shards, one of them down, would break that: the check would cut the wrong rows).
 *   What it costs: a tenant's rows are spread over every shard, so a tenant's query reads
 *   every shard (as every Distributed query does on 18.16 anyway: it has no
 *   optimize_skip_unused_shards) and the rollup rows of one key are summed per shard and
 *   then across shards at query time (every dashboard query already sums). What it buys
 *   besides: a big tenant cannot fill one shard; load spreads evenly.
 * - other flow tables (rollups, when rows are inserted into them directly): cityHash64(tenant),
 *   so one tenant's rollup rows stay together and the rows of one key merge on one shard;
 *   the cost is that a big tenant's rows land on one shard.
 * - anything else: rand().
 *
 * Every statement uses only what 18.16 (with ZooKeeper) and current releases (with Keeper)
 * both accept: CREATE … ON CLUSTER, Replicated*MergeTree('path', '{replica}', …) with
 * macros, Distributed(cluster, db, table, key), ALTER … ON CLUSTER.
 */

export interface ClusterDdlOptions {
  cluster: string;
  /** names of the sharded (flow data) tables; see shardedTablesOf() */
  sharded: ReadonlySet<string>;
  /** the sharding key of each sharded table (shardingKeysOf()); default by its name's columns unknown: rand() */
  keys?: ReadonlyMap<string, string>;
}

/** What is flow data, by name: `flows` and `flows_…`. */
export const isFlowTableName = (name: string): boolean => name === 'flows' || name.startsWith('flows_');

export const localName = (name: string): string => `${name}_local`;

/** The sharded tables: every table (not view) that the statements create with a flow name. */
export function shardedTablesOf(statements: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const s of statements) {
    const m = /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:(\w+)\.)?(\w+)/i.exec(s);
    if (m && isFlowTableName(m[2])) out.add(m[2]);
  }
  return out;
}

/** The sharding key of every flow table the statements create (from its columns). */
export function shardingKeysOf(statements: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of statements) {
    if (!/^\s*CREATE\s+TABLE\b/i.test(s)) continue;
    const p = parseCreateTable(s);
    if (p && isFlowTableName(p.name)) out.set(p.name, shardingKeyFor(columnNames(p.columns)));
  }
  return out;
}

export class ClusterDdlError extends Error {
  constructor(
    message: string,
    readonly statement: string,
  ) {
    super(`${message}: ${statement.slice(0, 200)}`);
    this.name = 'ClusterDdlError';
  }
}

/** Index just past the parenthesis closing the one at `open` (quotes respected). */
function closeParen(s: string, open: number): number {
  let depth = 0;
  let quote = '';
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new Error('unbalanced parentheses');
}

export interface ParsedCreateTable {
  ifNotExists: boolean;
  db: string;
  name: string;
  /** the column list, without its parentheses */
  columns: string;
  engine: string;
  /** the engine's arguments, without parentheses ('' when it has none) */
  engineArgs: string;
  /** PARTITION BY / ORDER BY / SETTINGS … after the engine */
  rest: string;
}

export function parseCreateTable(stmt: string): ParsedCreateTable | undefined {
  const head = /^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\.(\w+)\s*\(/i.exec(stmt);
  if (!head) return undefined;
  const open = head[0].length - 1;
  const close = closeParen(stmt, open);
  const columns = stmt.slice(open + 1, close - 1);
  const eng = /^\s*ENGINE\s*=\s*(\w+)/i.exec(stmt.slice(close));
  if (!eng) return undefined;
  let at = close + eng[0].length;
  let engineArgs = '';
  if (stmt[at] === '(') {
    const end = closeParen(stmt, at);
    engineArgs = stmt.slice(at + 1, end - 1);
    at = end;
  }
  return {
    ifNotExists: Boolean(head[1]),
    db: head[2],
    name: head[3],
    columns,
    engine: eng[1],
    engineArgs,
    rest: stmt.slice(at),
  };
}

/** The column names of a column list (`name Type, …`), nested types respected. */
export function columnNames(columns: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let start = 0;
  const push = (part: string) => {
    const m = /^\s*`?(\w+)`?/.exec(part);
    if (m) names.push(m[1]);
  };
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      push(columns.slice(start, i));
      start = i + 1;
    }
  }
  push(columns.slice(start));
  return names;
}

export function shardingKeyFor(columns: readonly string[]): string {
  if (columns.includes('batch_id')) return 'intHash64(batch_id)';
  if (columns.includes('tenant')) return 'cityHash64(tenant)';
  return 'rand()';
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function replicated(
  engine: string,
  args: string,
  path: string,
  stmt: string,
): { engine: string; args: string } {
  if (/^Replicated/i.test(engine)) throw new ClusterDdlError('already replicated', stmt);
  if (!/MergeTree$/i.test(engine)) throw new ClusterDdlError(`engine ${engine} has no replicated form`, stmt);
  const base = [quote(path), quote('{replica}')];
  return {
    engine: `Replicated${engine}`,
    args: args.trim() ? [...base, args.trim()].join(', ') : base.join(', '),
  };
}

function createTable(p: ParsedCreateTable, opts: ClusterDdlOptions, stmt: string): string[] {
  const ine = p.ifNotExists ? 'IF NOT EXISTS ' : '';
  const on = `ON CLUSTER ${opts.cluster}`;
  if (opts.sharded.has(p.name)) {
    const local = localName(p.name);
    // Null (a staging table whose views do the storing) has nothing to replicate
    const engine = /^(Null)$/i.test(p.engine)
      ? { engine: p.engine, args: p.engineArgs }
      : replicated(p.engine, p.engineArgs, `/clickhouse/tables/{shard}/${p.db}/${local}`, stmt);
    const args = engine.args ? `(${engine.args})` : '';
    const key = shardingKeyFor(columnNames(p.columns));
    return [
      `CREATE TABLE ${ine}${p.db}.${local} ${on} (${p.columns}) ENGINE = ${engine.engine}${args}${p.rest}`,
      `CREATE TABLE ${ine}${p.db}.${p.name} ${on} (${p.columns}) ENGINE = Distributed(${opts.cluster}, ${p.db}, ${local}, ${key})`,
    ];
  }
  let { engine: name, engineArgs, rest } = p;
  if (/^(TinyLog|Log|StripeLog)$/i.test(name)) {
    // no replicated form: the same rows in a MergeTree with no sort order
    name = 'MergeTree';
    engineArgs = '';
    rest = `${rest} ORDER BY tuple()`;
  }
  const engine = replicated(name, engineArgs, `/clickhouse/tables/all/${p.db}/${p.name}`, stmt);
  return [
    `CREATE TABLE ${ine}${p.db}.${p.name} ${on} (${p.columns}) ENGINE = ${engine.engine}(${engine.args})${rest}`,
  ];
}

/** db.name references to sharded tables after FROM / JOIN / TO, pointed at their _local tables. */
function toLocalRefs(text: string, opts: ClusterDdlOptions, keywords: string): string {
  return text.replace(
    new RegExp(`\\b(${keywords})(\\s+)(\\w+)\\.(\\w+)\\b`, 'gi'),
    (all, kw, sp, db, name) => (opts.sharded.has(name) ? `${kw}${sp}${db}.${localName(name)}` : all),
  );
}

function createMaterializedView(stmt: string, opts: ClusterDdlOptions): string[] {
  const m = /^(\s*CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\.\w+)(\s+TO\s+[\s\S]*)$/i.exec(
    stmt,
  );
  if (!m)
    throw new ClusterDdlError(
      'a materialized view needs TO <table> in cluster mode (its storage is a table)',
      stmt,
    );
  const readsSharded = new RegExp(
    `\\b(FROM|JOIN)\\s+\\w+\\.(${[...opts.sharded].map((s) => s.replace(/\W/g, '')).join('|') || '(?!)'})\\b`,
    'i',
  ).test(m[2]);
  const to = /^\s+TO\s+(\w+)\.(\w+)/i.exec(m[2]);
  if (readsSharded && to && !opts.sharded.has(to[2]))
    throw new ClusterDdlError(
      `view reads flow data per shard but writes into ${to[2]}, which is not sharded (every shard would write it)`,
      stmt,
    );
  return [
    `${m[1]} ON CLUSTER ${opts.cluster}${toLocalRefs(toLocalRefs(m[2], opts, 'TO'), opts, 'FROM|JOIN')}`,
  ];
}

/** ALTER operations that change columns: the Distributed table must follow them. */
const COLUMN_OPS = /^\s*(ADD|DROP|MODIFY|CLEAR|COMMENT|RENAME)\s+COLUMN\b/i;

function alter(stmt: string, opts: ClusterDdlOptions): string[] {
  const m = /^\s*ALTER\s+TABLE\s+(\w+)\.(\w+)(\s+ON\s+CLUSTER\s+\w+)?\s+([\s\S]*)$/i.exec(stmt);
  if (!m) throw new ClusterDdlError('unrecognised ALTER', stmt);
  const [, db, name, onCluster, ops] = m;
  if (onCluster) throw new ClusterDdlError('already ON CLUSTER', stmt);
  // state tables: one replicated table across the cluster; ZooKeeper carries the change
  // to every replica (ON CLUSTER would run it once per shard, on the same table)
  if (!opts.sharded.has(name)) return [stmt];
  const on = `ON CLUSTER ${opts.cluster}`;
  const out = [`ALTER TABLE ${db}.${localName(name)} ${on} ${ops}`];
  // The Distributed table follows by being created again over the altered _local table:
  // 18.16 refuses ALTER … ON CLUSTER on a table that is not replicated in a cluster whose
  // shards use internal_replication ("Table flows isn't replicated, but shard #2 is
  // replicated"), and a Distributed table holds no rows (inserts are synchronous), so
  // nothing is lost; inserts and queries fail for the moment between the two statements,
  // and the collector's spool covers that.
  if (COLUMN_OPS.test(ops)) {
    const key = opts.keys?.get(name);
    if (!key) throw new ClusterDdlError(`no sharding key known for ${name}`, stmt);
    out.push(
      `DROP TABLE IF EXISTS ${db}.${name} ${on}`,
      `CREATE TABLE IF NOT EXISTS ${db}.${name} ${on} AS ${db}.${localName(name)} ENGINE = Distributed(${opts.cluster}, ${db}, ${localName(name)}, ${key})`,
    );
  }
  return out;
}

/**
 * The statements a cluster runs for one single-server statement. CREATE DATABASE / TABLE /
 * VIEW, DROP and ALTER are rewritten; INSERT, SELECT and the rest run as they are (through
 * the Distributed tables). Throws ClusterDdlError on a form it does not know how to place,
 * so a new kind of migration is noticed rather than created on one node only.
 */
export function rewriteForCluster(stmt: string, opts: ClusterDdlOptions): string[] {
  const on = `ON CLUSTER ${opts.cluster}`;
  const db = /^\s*CREATE\s+DATABASE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*$/i.exec(stmt);
  if (db) return [`CREATE DATABASE ${db[1] ?? ''}${db[2]} ${on}`];
  if (/^\s*CREATE\s+TABLE\b/i.test(stmt)) {
    const p = parseCreateTable(stmt);
    if (!p)
      throw new ClusterDdlError('unrecognised CREATE TABLE (expected db.name (columns) ENGINE = …)', stmt);
    return createTable(p, opts, stmt);
  }
  if (/^\s*CREATE\s+MATERIALIZED\s+VIEW\b/i.test(stmt)) return createMaterializedView(stmt, opts);
  const view = /^(\s*CREATE\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\.\w+)(\s+AS\s+[\s\S]*)$/i.exec(stmt);
  if (view) return [`${view[1]} ${on}${view[2]}`];
  const drop = /^\s*DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?(\w+)\.(\w+)\s*$/i.exec(stmt);
  if (drop) {
    const [, kind, ifExists, d, name] = drop;
    const out = [`DROP ${kind} ${ifExists ?? ''}${d}.${name} ${on}`];
    if (opts.sharded.has(name)) out.push(`DROP TABLE IF EXISTS ${d}.${localName(name)} ${on}`);
    return out;
  }
  if (/^\s*ALTER\s+TABLE\b/i.test(stmt)) return alter(stmt, opts);
  if (/^\s*(CREATE|DROP|RENAME|EXCHANGE|ATTACH|DETACH)\b/i.test(stmt))
    throw new ClusterDdlError('no cluster form for this statement', stmt);
  return [stmt];
}
