import { describe, expect, it } from 'vitest';
import { rewriteForCluster, shardedTablesOf, shardingKeyFor, shardingKeysOf } from './cluster-ddl.ts';
import { MIGRATIONS } from './migrations.ts';

const opts = {
  cluster: 'vxflow',
  sharded: new Set(['flows', 'flows_1m']),
  keys: new Map([['flows', 'intHash64(batch_id)']]),
};

describe('cluster DDL rewriter', () => {
  it('turns a flow table into a replicated _local table per shard and a Distributed table of the same name', () => {
    const out = rewriteForCluster(
      'CREATE TABLE IF NOT EXISTS db.flows (\n  time_received DateTime,\n  tenant String,\n  batch_id UInt64\n) ENGINE = MergeTree\nPARTITION BY toYYYYMMDD(time_received)\nORDER BY (tenant, time_received)',
      opts,
    );
    expect(out).toEqual([
      "CREATE TABLE IF NOT EXISTS db.flows_local ON CLUSTER vxflow (\n  time_received DateTime,\n  tenant String,\n  batch_id UInt64\n) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/flows_local', '{replica}')\nPARTITION BY toYYYYMMDD(time_received)\nORDER BY (tenant, time_received)",
      'CREATE TABLE IF NOT EXISTS db.flows ON CLUSTER vxflow (\n  time_received DateTime,\n  tenant String,\n  batch_id UInt64\n) ENGINE = Distributed(vxflow, db, flows_local, intHash64(batch_id))',
    ]);
  });

  it('keeps engine arguments after the replication path (SummingMergeTree columns)', () => {
    const [local, dist] = rewriteForCluster(
      'CREATE TABLE IF NOT EXISTS db.flows_1m (time DateTime, tenant String, bytes UInt64) ENGINE = SummingMergeTree((bytes))\nORDER BY (tenant, time)',
      opts,
    );
    expect(local).toContain(
      "ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db/flows_1m_local', '{replica}', (bytes))",
    );
    expect(dist).toContain('Distributed(vxflow, db, flows_1m_local, cityHash64(tenant))');
  });

  it('replicates a state table to every node, without {shard}; TinyLog becomes MergeTree', () => {
    expect(
      rewriteForCluster(
        'CREATE TABLE IF NOT EXISTS db.tokens (id String, version UInt64) ENGINE = ReplacingMergeTree(version)\nORDER BY id',
        opts,
      ),
    ).toEqual([
      "CREATE TABLE IF NOT EXISTS db.tokens ON CLUSTER vxflow (id String, version UInt64) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/db/tokens', '{replica}', version)\nORDER BY id",
    ]);
    expect(
      rewriteForCluster(
        'CREATE TABLE IF NOT EXISTS db.schema_migrations (version UInt32) ENGINE = TinyLog',
        opts,
      ),
    ).toEqual([
      "CREATE TABLE IF NOT EXISTS db.schema_migrations ON CLUSTER vxflow (version UInt32) ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/db/schema_migrations', '{replica}') ORDER BY tuple()",
    ]);
  });

  it('moves materialized views onto the _local tables', () => {
    expect(
      rewriteForCluster(
        'CREATE MATERIALIZED VIEW IF NOT EXISTS db.flows_1m_mv TO db.flows_1m AS SELECT toStartOfMinute(time_received) AS time, sum(bytes) AS bytes FROM db.flows GROUP BY time',
        opts,
      ),
    ).toEqual([
      'CREATE MATERIALIZED VIEW IF NOT EXISTS db.flows_1m_mv ON CLUSTER vxflow TO db.flows_1m_local AS SELECT toStartOfMinute(time_received) AS time, sum(bytes) AS bytes FROM db.flows_local GROUP BY time',
    ]);
    // a view from flow data into a state table would be written once per shard
    expect(() =>
      rewriteForCluster('CREATE MATERIALIZED VIEW db.v TO db.tokens AS SELECT 1 FROM db.flows', opts),
    ).toThrow(/not sharded/);
  });

  it('alters the _local and the Distributed table ON CLUSTER; state tables through replication', () => {
    expect(rewriteForCluster('ALTER TABLE db.flows ADD COLUMN x UInt8', opts)).toEqual([
      'ALTER TABLE db.flows_local ON CLUSTER vxflow ADD COLUMN x UInt8',
      // 18.16 refuses ALTER ON CLUSTER of a Distributed table when shards replicate internally
      'DROP TABLE IF EXISTS db.flows ON CLUSTER vxflow',
      'CREATE TABLE IF NOT EXISTS db.flows ON CLUSTER vxflow AS db.flows_local ENGINE = Distributed(vxflow, db, flows_local, intHash64(batch_id))',
    ]);
    expect(rewriteForCluster('ALTER TABLE db.flows DROP PARTITION 20260101', opts)).toEqual([
      'ALTER TABLE db.flows_local ON CLUSTER vxflow DROP PARTITION 20260101',
    ]);
    expect(rewriteForCluster('ALTER TABLE db.tokens ADD COLUMN x UInt8', opts)).toEqual([
      'ALTER TABLE db.tokens ADD COLUMN x UInt8',
    ]);
  });

  it('drops ON CLUSTER, the _local table too; refuses what it cannot place', () => {
    expect(rewriteForCluster('DROP TABLE IF EXISTS db.flows_1m', opts)).toEqual([
      'DROP TABLE IF EXISTS db.flows_1m ON CLUSTER vxflow',
      'DROP TABLE IF EXISTS db.flows_1m_local ON CLUSTER vxflow',
    ]);
    expect(rewriteForCluster('DROP TABLE IF EXISTS db.flows_1m_mv', opts)).toEqual([
      'DROP TABLE IF EXISTS db.flows_1m_mv ON CLUSTER vxflow',
    ]);
    expect(() => rewriteForCluster('RENAME TABLE db.a TO db.b', opts)).toThrow(/no cluster form/);
    expect(() => rewriteForCluster('CREATE TABLE db.x (a UInt8) ENGINE = Memory', opts)).toThrow(/Memory/);
    expect(rewriteForCluster('INSERT INTO db.flows SELECT 1', opts)).toEqual([
      'INSERT INTO db.flows SELECT 1',
    ]);
  });

  it('rewrites every statement of every migration, flow tables sharded by a key that keeps a chunk together', () => {
    const statements = MIGRATIONS.flatMap((m) => m.statements('db'));
    const sharded = shardedTablesOf(statements);
    expect([...sharded]).toEqual(expect.arrayContaining(['flows', 'flows_1m', 'flows_5m', 'flows_1h']));
    for (const s of statements)
      expect(rewriteForCluster(s, { cluster: 'c', sharded }).length).toBeGreaterThan(0);
    expect(shardingKeyFor(['time_received', 'tenant', 'batch_id'])).toBe('intHash64(batch_id)');
    const keys = shardingKeysOf(statements);
    expect(keys.get('flows')).toBe('intHash64(batch_id)');
    for (const t of sharded) expect(keys.get(t), t).toMatch(/^(intHash64\(batch_id\)|cityHash64\(tenant\))$/);
  });
});
