/**
 * The cluster schema on a real cluster (test/helpers/cluster.ts: ZooKeeper, shard 1 = ch1 +
 * ch2, shard 2 = ch3, all ClickHouse 18.16 on loopback): `migrate --cluster` twice, rows
 * placed by the sharding key, totals through the Distributed tables, a replica down, a
 * shard down for 30 s under a real collector's steady stream (spool, exactly-once replay
 * through the Distributed table), and retention on every shard.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClickHouse } from '../../storage/src/clickhouse.ts';
import { clusterHandle, migrateAuto, migrateCluster } from '../../storage/src/cluster-migrate.ts';
import { MIGRATIONS } from '../../storage/src/migrations.ts';
import { applyClusterRetention } from '../../storage/src/cluster-retention.ts';
import { ROLLUP_STAGING_TABLE, ROLLUP_STAGING_TIME } from '../../storage/src/ddl.ts';
import { checkStored } from '../../storage/src/flow-batches.ts';
import { batchIdText, encodeFlowsRowBinary } from '../../storage/src/flow-rowbinary.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';
import { emptyFlow } from '../../protocol/src/schema/columns.ts';
import { encoder, makeFlows, sendAll, startCollector, tempDir, waitFor } from '../collector/harness.ts';
import { useTestCluster } from '../helpers/use-test-cluster.ts';

const cluster = useTestCluster();
const DB = 'vxc';
const ROOT = resolve(import.meta.dirname, '../..');

async function onEveryNode<T>(fn: (ch: ClickHouse, node: string) => Promise<T>): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  for (const n of cluster().nodes) {
    const ch = await cluster().connect(DB, n.name);
    try {
      out[n.name] = await fn(ch, n.name);
    } finally {
      await ch.close();
    }
  }
  return out;
}

const tablesOf = (ch: ClickHouse) =>
  ch.query<{ name: string; engine: string; create_table_query: string }>(
    `SELECT name, engine, create_table_query FROM system.tables WHERE database = '${DB}' ORDER BY name`,
  );

const num = (v: unknown) => Number(v);

describe('ClickHouse cluster schema', () => {
  it('migrate --cluster creates the same tables on every node, and a second run changes nothing', async () => {
    const ch = await cluster().connect(DB);
    try {
      const first = await migrateCluster(ch, cluster().name);
      expect(first.applied.length).toBeGreaterThan(0);
      expect(first.sharded).toEqual(expect.arrayContaining(['flows', 'flows_1m', 'flows_5m', 'flows_1h']));
      const before = await onEveryNode(tablesOf);
      const second = await migrateCluster(ch, cluster().name);
      expect(second.applied).toEqual([]);
      expect(second.addedColumns).toEqual([]);
      expect(await onEveryNode(tablesOf)).toEqual(before);
      // what a collector or dashboard runs at start finds the cluster schema and keeps to it
      const auto = await migrateAuto(ch);
      expect(auto).toMatchObject({ applied: [], addedColumns: [], cluster: 'vxflow' });
      await expect(migrateCluster(ch, 'other')).rejects.toThrow(/no cluster "other"/);
      // a part newer than the schema (its last migration not applied yet) applies it ON CLUSTER
      const last = MIGRATIONS[MIGRATIONS.length - 1];
      const created = last
        .statements(DB)
        .map((st) => /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\.(\w+)/i.exec(st)?.[1])
        .filter((t): t is string => t !== undefined && !t.startsWith('flows'));
      if (created.length > 0) {
        for (const t of created) await ch.command(`DROP TABLE ${DB}.${t} ON CLUSTER vxflow`);
        await ch.command(`ALTER TABLE ${DB}.schema_migrations DELETE WHERE version = ${last.version}`);
        await waitFor(
          'the version row gone',
          async () =>
            (await ch.query(`SELECT version FROM ${DB}.schema_migrations WHERE version = ${last.version}`))
              .length,
          (n) => n === 0,
          20_000,
        );
        expect((await migrateAuto(ch)).applied).toEqual([last.version]);
        const again = await onEveryNode(tablesOf);
        for (const node of ['ch1', 'ch2', 'ch3'])
          for (const t of created)
            expect(again[node].find((x) => x.name === t)?.engine, `${node} ${t}`).toMatch(/^Replicated/);
      }
    } finally {
      await ch.close();
    }
    const tables = await onEveryNode(tablesOf);
    const engines = (node: string) => Object.fromEntries(tables[node].map((t) => [t.name, t.engine]));
    for (const node of ['ch1', 'ch2', 'ch3']) {
      const e = engines(node);
      // the names every query uses are Distributed tables over the _local ones
      for (const t of ['flows', 'flows_1m', 'flows_5m', 'flows_1h']) {
        expect(e[t], `${node} ${t}`).toBe('Distributed');
        expect(e[`${t}_local`], `${node} ${t}_local`).toMatch(/^Replicated\w*MergeTree$/);
      }
      // state is replicated whole to every node
      for (const t of [
        'exporters',
        'tokens',
        'sessions',
        'audit',
        'inventory',
        'alert_rules',
        'schema_migrations',
      ])
        expect(e[t], `${node} ${t}`).toMatch(/^Replicated\w*MergeTree$/);
      // materialized views read and write _local tables only
      for (const v of tables[node].filter((t) => t.engine === 'MaterializedView')) {
        const refs = [...v.create_table_query.matchAll(/\b(?:TO|FROM|JOIN)\s+\w+\.(\w+)/g)].map((m) => m[1]);
        expect(refs.length, v.name).toBeGreaterThanOrEqual(2);
        for (const r of refs) expect(r, `${node} ${v.name}`).toMatch(/_local$/);
      }
      expect(tables[node].map((t) => t.name)).toEqual(tables.ch1.map((t) => t.name));
    }
    // sharded tables per shard, state tables shared by every node
    const create = Object.fromEntries(tables.ch3.map((t) => [t.name, t.create_table_query]));
    expect(create.flows_local).toContain(`'/clickhouse/tables/{shard}/${DB}/flows_local', '{replica}'`);
    expect(create.tokens).toContain(`'/clickhouse/tables/all/${DB}/tokens', '{replica}'`);
    expect(create.flows).toContain(`Distributed(vxflow, ${DB}, flows_local, intHash64(batch_id))`);
    // the versions recorded on the node migrate talked to are read on every node
    const versions = await onEveryNode(async (c) =>
      num((await c.query<{ n: string }>(`SELECT count() AS n FROM ${DB}.schema_migrations`))[0].n),
    );
    expect(versions).toEqual({ ch1: MIGRATIONS.length, ch2: MIGRATIONS.length, ch3: MIGRATIONS.length });
  });

  it('vxflow migrate --cluster (the command) creates the cluster schema through any node, twice the same, and refuses an unknown cluster', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string }>((res) => {
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_')));
        execFile(
          process.execPath,
          [join(ROOT, 'bin/vxflow.js'), 'migrate', ...args],
          {
            env: { ...env, CLICKHOUSE_URL: cluster().node('ch3').url, VXFLOW_CLICKHOUSE_DATABASE: 'vxc_cli' },
            timeout: 120_000,
          },
          (err, stdout, stderr) =>
            res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
        );
      });
    const first = await run(['--cluster', 'vxflow', '--retention']);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/migrations applied: 1, 2/);
    const second = await run(['--cluster', 'vxflow']);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('migrations applied: none; columns added: none');
    const engines = await onEveryNode(async (c) =>
      (
        await c.query<{ engine: string }>(
          `SELECT engine FROM system.tables WHERE database = 'vxc_cli' AND name IN ('flows', 'flows_local', 'tokens') ORDER BY name`,
        )
      ).map((r) => r.engine),
    );
    for (const node of ['ch1', 'ch2', 'ch3'])
      expect(engines[node]).toEqual(['Distributed', 'ReplicatedMergeTree', 'ReplicatedReplacingMergeTree']);
    const wrong = await run(['--cluster', 'nope']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toContain('has no cluster "nope" in remote_servers');
  });

  it('a column added to flows reaches the _local table on every shard and replica and the Distributed table', async () => {
    const ch = await cluster().connect(DB);
    try {
      // what migrate's column step sends when the schema gains a field
      const handle = clusterHandle(ch, { cluster: cluster().name, sharded: new Set(['flows']) });
      const where = (col: string) =>
        onEveryNode(async (c) =>
          (
            await c.query<{ table: string }>(
              `SELECT table FROM system.columns WHERE database = '${DB}' AND name = '${col}' ORDER BY table`,
            )
          ).map((r) => r.table),
        );
      const everywhere = {
        ch1: ['flows', 'flows_local'],
        ch2: ['flows', 'flows_local'],
        ch3: ['flows', 'flows_local'],
      };
      await handle.command(`ALTER TABLE ${DB}.flows ADD COLUMN cluster_test_a UInt16`);
      expect(await where('cluster_test_a')).toEqual(everywhere);
      // a run that stopped after the _local tables got the column: not added twice, and the
      // Distributed table still gets it
      await ch.command(`ALTER TABLE ${DB}.flows_local ON CLUSTER vxflow ADD COLUMN cluster_test_b UInt16`);
      await handle.command(`ALTER TABLE ${DB}.flows ADD COLUMN cluster_test_b UInt16`);
      expect(await where('cluster_test_b')).toEqual(everywhere);
      // the Distributed table made again keeps its sharding key
      const [t] = await ch.query<{ q: string }>(
        `SELECT create_table_query AS q FROM system.tables WHERE database = '${DB}' AND name = 'flows'`,
      );
      expect(t.q).toContain(`Distributed(vxflow, ${DB}, flows_local, intHash64(batch_id))`);
      for (const col of ['cluster_test_a', 'cluster_test_b'])
        await handle.command(`ALTER TABLE ${DB}.flows DROP COLUMN ${col}`);
      expect(await where('cluster_test_a')).toEqual({ ch1: [], ch2: [], ch3: [] });
    } finally {
      await ch.close();
    }
  });

  it('rows inserted through the Distributed flows land on the shard of their batch_id and add up through it', async () => {
    const ch = await cluster().connect(DB, 'ch2');
    try {
      // 40 chunks of 250 rows, 5 tenants, today
      await ch.command(
        `INSERT INTO ${DB}.flows (batch_id, time_received, tenant, bytes, packets)
         SELECT 1000 + intDiv(number, 250), now(), concat('t', toString(number % 5)), number, 1 FROM numbers(10000)`,
      );
      const expected = await ch.query<{ shard: number; n: string }>(
        `SELECT intHash64(toUInt64(1000 + intDiv(number, 250))) % 2 + 1 AS shard, count() AS n FROM numbers(10000) GROUP BY shard ORDER BY shard`,
      );
      const localCount = async (c: ClickHouse) =>
        num(
          (
            await c.query<{ n: string }>(
              `SELECT count() AS n FROM ${DB}.flows_local WHERE batch_id BETWEEN 1000 AND 1039`,
            )
          )[0].n,
        );
      const perNode = await onEveryNode(localCount);
      const want = Object.fromEntries(expected.map((e) => [e.shard, num(e.n)]));
      expect(want[1]).toBeGreaterThan(0);
      expect(want[2]).toBeGreaterThan(0);
      expect(perNode.ch3).toBe(want[2]);
      // written on ch2 (the node asked); ch1, the other replica of shard 1, fetches them
      expect(perNode.ch2).toBe(want[1]);
      await waitFor(
        'ch1 to have shard 1 rows',
        async () => (await onEveryNode(localCount)).ch1,
        (x) => x === want[1],
        20_000,
      );
      // a chunk is on one shard only: its rows are never split
      const ids = await onEveryNode(async (c) =>
        (
          await c.query<{ id: string }>(
            `SELECT DISTINCT toString(batch_id) AS id FROM ${DB}.flows_local WHERE batch_id BETWEEN 1000 AND 1039`,
          )
        ).map((r) => r.id),
      );
      expect(ids.ch1.filter((id) => ids.ch3.includes(id))).toEqual([]);
      expect(ids.ch1.length + ids.ch3.length).toBe(40);
      const [t] = await ch.query<{ n: string; b: string }>(
        `SELECT count() AS n, sum(bytes) AS b FROM ${DB}.flows WHERE batch_id BETWEEN 1000 AND 1039`,
      );
      expect(num(t.n)).toBe(10000);
      expect(num(t.b)).toBe((9999 * 10000) / 2);
    } finally {
      await ch.close();
    }
  });

  it('the batch_id stored check through the Distributed flows finds the chunks one shard holds and leaves only the others to send', async () => {
    const ch = await cluster().connect(DB, 'ch1');
    try {
      const now = Math.floor(Date.now() / 1000) * 1000;
      // a batch of 8 chunks (each its own batch_id), several tenants in each, as a collector makes them
      const makeChunks = () =>
        Array.from({ length: 8 }, (_, c) =>
          encodeFlowsRowBinary(
            Array.from({ length: 50 }, (_, i) =>
              Object.assign(emptyFlow(), {
                time_received: now,
                observation_domain: 9301,
                tenant: `t${i % 3}`,
                src_port: c * 50 + i,
                bytes: 1,
              }),
            ),
          ),
        );
      const shardOf = async (chunk: Buffer) => {
        const id = batchIdText(chunk.readUInt32LE(4), chunk.readUInt32LE(0));
        const [r] = await ch.query<{ s: number }>(`SELECT intHash64(toUInt64(${id})) % 2 + 1 AS s`);
        return Number(r.s);
      };
      let parts = makeChunks();
      let shards = await Promise.all(parts.map(shardOf));
      while (new Set(shards).size < 2) {
        parts = makeChunks();
        shards = await Promise.all(parts.map(shardOf));
      }
      // what an insert that reached shard 1 and not shard 2 leaves behind
      const onShard1 = parts.filter((_, i) => shards[i] === 1);
      await ch.insertRowBinary(`${DB}.flows`, FLOW_INSERT_COLUMNS, Buffer.concat(onShard1));
      const found = await checkStored(ch, `${DB}.flows`, parts);
      expect(found.state).toBe('partial');
      if (found.state !== 'partial') return;
      expect(found.stored).toBe(onShard1.length * 50);
      expect(found.restRows).toBe((parts.length - onShard1.length) * 50);
      // the rest is exactly the chunks of shard 2
      expect(Buffer.concat(found.rest).equals(Buffer.concat(parts.filter((_, i) => shards[i] === 2)))).toBe(
        true,
      );
      await ch.insertRowBinary(`${DB}.flows`, FLOW_INSERT_COLUMNS, Buffer.concat(found.rest));
      expect((await checkStored(ch, `${DB}.flows`, parts)).state).toBe('stored');
      const [t] = await ch.query<{ n: string; u: string }>(
        `SELECT count() AS n, uniqExact(src_port) AS u FROM ${DB}.flows WHERE observation_domain = 9301`,
      );
      expect({ n: num(t.n), u: num(t.u) }).toEqual({ n: 400, u: 400 });
    } finally {
      await ch.close();
    }
  });

  it('with one replica of shard 1 stopped, queries through any node still return full totals', async () => {
    const total = async (node: string) => {
      const ch = await cluster().connect(DB, node);
      try {
        const [r] = await ch.query<{ n: string }>(
          `SELECT count() AS n FROM ${DB}.flows WHERE batch_id BETWEEN 1000 AND 1039`,
        );
        return num(r.n);
      } finally {
        await ch.close();
      }
    };
    const ch1 = cluster().node('ch1');
    await ch1.stop();
    try {
      for (let i = 0; i < 5; i++) {
        expect(await total('ch2')).toBe(10000);
        expect(await total('ch3')).toBe(10000);
      }
    } finally {
      await ch1.start();
    }
    expect(await total('ch1')).toBe(10000);
  });
});

describe('ClickHouse cluster faults under a real collector', () => {
  it('shard 2 stopped for 30 s under a steady stream: the spool holds, and after it returns every flow is stored once, rollups included', async () => {
    const dir = tempDir('cluster-shard-down');
    const c = await startCollector({
      stateDir: dir.path,
      clickhouse: cluster().config(DB, 'ch1'),
      // batches of about a second: the spool replays one batch at a time (a stored check and an
      // insert each), so 30 s of 100 ms batches took ~50 s to replay on this loaded machine
      config: { batchMaxRows: 5000, batchMaxWaitMs: 1000 },
    });
    const ch = await cluster().connect(DB, 'ch1');
    const domain = 7101;
    const t0 = Date.now();
    const lap = (what: string) => console.log(`shard-down test: ${what} at ${Date.now() - t0} ms`);
    const metric = async (name: string) =>
      (
        await (
          (c.metrics as unknown as Record<string, unknown>)[name] as {
            get(): Promise<{ values: { value: number }[] }>;
          }
        ).get()
      ).values.reduce((s, v) => s + v.value, 0);
    try {
      const enc = encoder(9, domain);
      await sendAll(c.udpPort, enc.templates(Date.now()));
      let sent = 0;
      let round = 0;
      const sendRound = async () => {
        // several tenants' networks, so chunks mix them as real traffic does
        await sendAll(
          c.udpPort,
          enc.encode(makeFlows(100, { vni: 5000 + (round % 4) }, round * 100), Date.now()),
        );
        sent += 100;
        round++;
      };
      const streamFor = async (ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          await sendRound();
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      await streamFor(3000);
      const ch3 = cluster().node('ch3');
      lap('stopping ch3');
      await ch3.stop();
      lap('ch3 stopped');
      const downAt = Date.now();
      try {
        await streamFor(30_000 - (Date.now() - downAt));
        // inserts failed and went to the spool, which still holds them
        expect(await metric('insertFailures')).toBeGreaterThan(0);
        expect(await metric('spooledRows')).toBeGreaterThan(0);
        expect(await metric('spoolBatches')).toBeGreaterThan(0);
      } finally {
        await ch3.start();
        lap('ch3 started');
      }
      await streamFor(3000);
      const totals = async () => {
        const [r] = await ch.query<{ n: string; u: string; b: string }>(
          `SELECT count() AS n, uniqExact(src_addr, src_port, vni) AS u, sum(bytes) AS b FROM ${DB}.flows WHERE vni BETWEEN 5000 AND 5003`,
        );
        return { n: num(r.n), u: num(r.u), b: num(r.b) };
      };
      await waitFor('every flow stored', totals, (x) => x.n >= sent, 60_000);
      lap('every flow stored');
      await waitFor(
        'spool replayed',
        () => metric('spoolBatches'),
        (n) => n === 0,
        30_000,
      );
      await new Promise((r) => setTimeout(r, 1500));
      const t = await totals();
      expect(t.n).toBe(sent);
      // nothing doubled: every flow is distinct by (src_addr, src_port, vni)
      expect(t.u).toBe(sent);
      // the rollups, through their Distributed tables, count the same flows
      for (const r of ['flows_1m', 'flows_5m', 'flows_1h']) {
        const [x] = await ch.query<{ f: string; b: string }>(
          `SELECT sum(flows) AS f, sum(bytes) AS b FROM ${DB}.${r} WHERE vni BETWEEN 5000 AND 5003`,
        );
        expect({ table: r, flows: num(x.f), bytes: num(x.b) }).toEqual({ table: r, flows: sent, bytes: t.b });
      }
    } finally {
      await c.stop();
      await ch.close();
      dir.remove();
    }
  }, 150_000);

  it('retention drops expired partitions on every shard and replica', async () => {
    const ch = await cluster().connect(DB, 'ch1');
    try {
      // 60 days ago, spread over both shards by batch_id
      await ch.command(
        `INSERT INTO ${DB}.flows (batch_id, time_received, tenant, bytes, packets)
         SELECT 5000 + number % 20, now() - 60 * 86400, 'old', 1, 1 FROM numbers(2000)`,
      );
      const oldParts = () =>
        onEveryNode(async (c) =>
          num(
            (
              await c.query<{ n: string }>(
                `SELECT count() AS n FROM system.parts WHERE database = '${DB}' AND table = 'flows_local' AND active AND partition = toString(toYYYYMMDD(now() - 60 * 86400))`,
              )
            )[0].n,
          ),
        );
      await waitFor('old rows on every node', oldParts, (x) => x.ch1 > 0 && x.ch2 > 0 && x.ch3 > 0, 20_000);
      // rollup staging rows 10 days old: past their own limit (retentionLimits), not the rollups'
      await ch.command(
        `INSERT INTO ${DB}.${ROLLUP_STAGING_TABLE} (batch_id, ${ROLLUP_STAGING_TIME}, tenant, bytes, packets, flows)
         SELECT 6000 + number, toStartOfMinute(now() - 10 * 86400), 'old', 1, 1, 1 FROM numbers(20)`,
      );
      const stagingRows = async () =>
        num(
          (
            await ch.query<{ n: string }>(
              `SELECT count() AS n FROM ${DB}.${ROLLUP_STAGING_TABLE} WHERE batch_id BETWEEN 6000 AND 6019`,
            )
          )[0].n,
        );
      expect(await stagingRows()).toBe(20);
      const dropped = await applyClusterRetention(ch, cluster().name, { flows: 30 });
      expect(dropped.map((d) => d.table)).toContain('flows');
      expect(dropped.map((d) => d.table)).toContain(ROLLUP_STAGING_TABLE);
      expect(await stagingRows()).toBe(0);
      // what the staging rows added to the rollups stays
      const [kept] = await ch.query<{ n: string }>(
        `SELECT sum(flows) AS n FROM ${DB}.flows_1m WHERE tenant = 'old'`,
      );
      expect(num(kept.n)).toBe(20);
      await waitFor('old partitions gone everywhere', oldParts, (x) => x.ch1 + x.ch2 + x.ch3 === 0, 20_000);
      // the recent rows stay
      const [r] = await ch.query<{ n: string }>(
        `SELECT count() AS n FROM ${DB}.flows WHERE batch_id BETWEEN 1000 AND 1039`,
      );
      expect(num(r.n)).toBe(10000);
    } finally {
      await ch.close();
    }
  });
});
