/**
 * The whole scale-out on the loopback cluster (test/helpers/cluster.ts: ZooKeeper, shard 1 =
 * ch1 + ch2, shard 2 = ch3): the schema made with migrate --cluster, collector A writing
 * through ch1 and collector B through ch3, several exporters (their own source addresses and
 * Source IDs) spread over both; A stops and its exporters move to B with data sets only, which
 * B decodes from the templates A shared (written on ch1, replicated to ch3); every flow is
 * stored once and the Distributed tables' totals equal what was sent; two dashboards, on ch2
 * and ch3, give the same answers and keep a tenant to its own rows.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createTokenStore } from '../../dashboard/src/auth/tokens.ts';
import { migrateCluster } from '../../storage/src/cluster-migrate.ts';
import { buildApp, testConfig } from '../alerts/helpers.ts';
import { encoder, makeFlows, startCollector, tempDir, waitFor } from '../collector/harness.ts';
import { sendFrom } from '../collector/hostile-traffic.ts';
import { useTestCluster } from '../helpers/use-test-cluster.ts';

const cluster = useTestCluster();
const DB = 'vxscale';

const INVENTORY = `tenants:
  - name: acme
    networks:
      - name: acme-web
        vni: 5001
        subnets: [{ name: acme-a, cidr: 10.0.0.0/16 }]
  - name: globex
    networks:
      - name: globex-web
        vni: 6001
        subnets: [{ name: globex-a, cidr: 10.0.0.0/16 }]
`;

describe('scale-out on the cluster', () => {
  it('two collectors and two dashboards on different nodes: each flow stored once, totals through the Distributed tables equal what was sent, the same answers on both dashboards', async () => {
    const ch1 = await cluster().connect(DB, 'ch1');
    await migrateCluster(ch1, cluster().name);
    const dirA = tempDir('scale-a');
    const dirB = tempDir('scale-b');
    const inventory = join(dirA.path, 'inventory.yaml');
    writeFileSync(inventory, INVENTORY);
    const common = { templateSaveMs: 200, batchMaxWaitMs: 200 };
    const a = await startCollector({
      stateDir: dirA.path,
      clickhouse: cluster().config(DB, 'ch1'),
      inventoryFile: inventory,
      config: common,
    });
    const b = await startCollector({
      stateDir: dirB.path,
      clickhouse: cluster().config(DB, 'ch3'),
      inventoryFile: inventory,
      config: common,
    });
    const dashboards: FastifyInstance[] = [];
    const ch2 = await cluster().connect(DB, 'ch2');
    const ch3 = await cluster().connect(DB, 'ch3');
    const chs = [ch1, ch2, ch3];
    let aStopped = false;
    try {
      // four exporters: 127.7.0.1/2 (acme) to A, 127.7.0.3/4 (globex) to B
      const exporters = [1, 2, 3, 4].map((i) => ({
        address: `127.7.0.${i}`,
        enc: encoder(9, 700 + i),
        vni: i <= 2 ? 5001 : 6001,
        to: i <= 2 ? a : b,
      }));
      let sent = { n: 0, bytes: 0 };
      const sendRound = async (seed: number) => {
        for (const e of exporters) {
          const flows = makeFlows(1500, { vni: e.vni }, seed);
          sent = {
            n: sent.n + flows.length,
            bytes: sent.bytes + flows.reduce((s, f) => s + Number(f.bytes), 0),
          };
          await sendFrom(e.address, e.to.udpPort, e.enc.encode(flows, Date.now()), 50);
        }
      };
      const stored = async () => {
        const [r] = await ch1.query<{ n: string; b: string }>(
          `SELECT count() AS n, sum(bytes) AS b FROM ${DB}.flows WHERE observation_domain BETWEEN 701 AND 704`,
        );
        return { n: Number(r.n), bytes: Number(r.b) };
      };
      await sendRound(0);
      await waitFor('the first round stored', stored, (v) => v.n >= sent.n, 60_000);
      await waitFor(
        "A's templates shared, seen from ch3",
        async () =>
          Number(
            (
              await ch3.query<{ n: string }>(
                `SELECT count() AS n FROM ${DB}.exporter_templates WHERE exporter = '127.7.0.1'`,
              )
            )[0].n,
          ),
        (n) => n > 0,
        30_000,
      );

      // A goes; its exporters 127.7.0.1 and .2 move to B, which has never seen them, with data sets only
      await a.stop();
      aStopped = true;
      exporters[0].to = b;
      exporters[1].to = b;
      const templatePackets = exporters.map((e) => e.enc.stats.templatePackets);
      await sendRound(1500);
      expect(exporters.map((e) => e.enc.stats.templatePackets)).toEqual(templatePackets);
      const total = await waitFor('every flow stored', stored, (v) => v.n >= sent.n, 60_000).catch(() =>
        stored(),
      );
      const perExporter = await ch1.query<{ d: number; n: string }>(
        `SELECT observation_domain AS d, count() AS n FROM ${DB}.flows WHERE observation_domain BETWEEN 701 AND 704 GROUP BY d ORDER BY d`,
      );
      expect(perExporter.map((r) => [Number(r.d), Number(r.n)])).toEqual(
        [701, 702, 703, 704].map((d) => [d, 3000]),
      );
      expect(total).toEqual(sent);
      // B decoded the moved exporters' data sets on arrival: none waited for a template
      expect((await b.metrics.held.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
      // each shard holds part of them, and the two replicas of shard 1 the same part
      const on = { ch1, ch2, ch3 } as const;
      const local = async (node: keyof typeof on) => {
        const c = on[node];
        return Number(
          (
            await c.query<{ n: string }>(
              `SELECT count() AS n FROM ${DB}.flows_local WHERE observation_domain BETWEEN 701 AND 704`,
            )
          )[0].n,
        );
      };
      const shard1 = await local('ch1');
      const shard2 = await local('ch3');
      expect(shard1 + shard2).toBe(sent.n);
      // each chunk's rows on the shard its batch_id picks (intHash64(batch_id) % 2: shard 1
      // takes 0, shard 2 takes 1); how many chunks there are, and so whether both shards get
      // some, depends on how the collectors cut them
      const [byKey] = await ch1.query<{ one: string; two: string }>(
        `SELECT countIf(intHash64(batch_id) % 2 = 0) AS one, countIf(intHash64(batch_id) % 2 = 1) AS two FROM ${DB}.flows WHERE observation_domain BETWEEN 701 AND 704`,
      );
      expect([shard1, shard2]).toEqual([Number(byKey.one), Number(byKey.two)]);
      await waitFor(
        'ch2 caught up with ch1',
        () => local('ch2'),
        (n) => n === shard1,
        30_000,
      );

      // two dashboards, on ch2 and on ch3
      const config = testConfig();
      dashboards.push(await buildApp(ch2, config), await buildApp(ch3, config));
      const tokens = createTokenStore(ch1);
      const admin = (await tokens.create({ role: 'admin' })).token;
      const acme = (await tokens.create({ role: 'tenant', tenant: 'acme' })).token;
      const ask = (app: FastifyInstance, token: string, query: string) =>
        app.inject({
          method: 'POST',
          url: '/api/v1/sql',
          headers: { authorization: `Bearer ${token}` },
          payload: { query },
        });
      // the tokens table is replicated: both dashboards accept the new tokens (after the copy)
      for (const app of dashboards)
        await waitFor(
          'the token replicated',
          async () =>
            (await app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${admin}` } }))
              .statusCode,
          (s) => s === 200,
          20_000,
        );
      const query = 'SELECT tenant, count() AS n, sum(bytes) AS b FROM flows GROUP BY tenant ORDER BY tenant';
      const answers = [];
      for (const app of dashboards) {
        const res = await ask(app, admin, query);
        expect(res.statusCode, res.body).toBe(200);
        answers.push(res.json().rows);
      }
      expect(answers[1]).toEqual(answers[0]);
      const byTenant = Object.fromEntries(
        (answers[0] as [string, string | number, string | number][]).map(([t, n]) => [t, Number(n)]),
      );
      expect(byTenant).toEqual({ acme: sent.n / 2, globex: sent.n / 2 });
      for (const app of dashboards) {
        await waitFor(
          'the tenant token replicated',
          async () =>
            (await app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${acme}` } }))
              .statusCode,
          (s) => s === 200,
          20_000,
        );
        const mine = await ask(app, acme, query);
        expect(mine.statusCode, mine.body).toBe(200);
        expect(mine.json().rows.map((r: unknown[]) => [r[0], Number(r[1])])).toEqual([['acme', sent.n / 2]]);
      }
    } finally {
      for (const d of dashboards) await d.close();
      if (!aStopped) await a.stop();
      await b.stop();
      for (const c of chs) await c.close().catch(() => {});
      dirA.remove();
      dirB.remove();
    }
  }, 300_000);
});
