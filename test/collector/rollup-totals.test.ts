/**
 * Rollups computed by the collector (issue 15), end to end on the suite's real ClickHouse:
 * the simulator's multi-tenant traffic, as NetFlow v9 over UDP, through a real collector
 * with the simulated inventory; then the same under faults: inserts that ClickHouse stored
 * but whose answer was lost, ClickHouse unreachable mid-stream (spool, replay), and a
 * collector restarted with a full spool. Every time, the sums of flows_1m, flows_5m and
 * flows_1h per tenant, network, VNI and bucket equal the raw table's, and every flow sent
 * is stored once.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimSource } from '../../exporter/src/sources/sim.ts';
import { writeInventory } from '../../exporter/src/sources/sim/inventory.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import { rollupVsRaw } from '../storage/rollup-totals.ts';
import { encoder, sendAll, startCollector, tempDir, waitFor } from './harness.ts';

const db = useTestClickHouse();

/** The simulator's records (deterministic for a seed), as fast as it makes them. */
async function simulated(seed: number, flows: number, inventoryFile: string): Promise<FlowRecord[]> {
  const rate = 5000;
  const source = createSimSource({
    rate,
    seed,
    tenants: 6,
    durationS: flows / rate,
    realtime: false,
    flat: true,
  });
  await writeInventory(inventoryFile, source.cloud);
  const out: FlowRecord[] = [];
  await source.run({
    signal: new AbortController().signal,
    emit: (records: FlowRecord[]) => {
      out.push(...records);
    },
  } as never);
  return out.slice(0, flows);
}

const stored = async (domain: number) =>
  Number(
    (
      await db().query<{ n: string }>(
        `SELECT count() AS n FROM ${db().database}.flows WHERE observation_domain = ${domain}`,
      )
    )[0].n,
  );

async function expectRollupsEqualRaw(domain: number): Promise<void> {
  const tables = await rollupVsRaw(db(), `exporter = toFixedString(IPv6StringToNum('::ffff:127.0.0.1'), 16)`);
  for (const t of tables) {
    expect(t.raw.length, t.table).toBeGreaterThan(0);
    expect(t.rollup, t.table).toEqual(t.raw);
  }
  // and the raw table has what was sent, once (the caller waited for the count)
  expect(await stored(domain)).toBeGreaterThan(0);
}

/**
 * A TCP relay in front of ClickHouse: 'up' forwards; 'down' refuses connections (ClickHouse
 * unreachable); `loseAnswers(n)` lets the next n INSERTs (raw or rollup) reach ClickHouse,
 * which stores them, and then closes both sides before the answer gets back.
 */
function relay(target: URL) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let victims = 0;
  const r = {
    lost: 0,
    port: 0,
    loseAnswers(n: number) {
      victims = n;
    },
    async up(): Promise<void> {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        let armed = false;
        client.on('data', (d: Buffer) => {
          const head = d.toString('latin1', 0, Math.min(d.length, 400));
          if (victims > 0 && /^POST /.test(head) && /INSERT\+INTO\+\w+\.flows(_rollup_in)?\+/.test(head)) {
            victims--;
            armed = true;
            r.lost++;
          }
          upstream.write(d);
        });
        upstream.on('data', (d: Buffer) => {
          if (!armed) client.write(d);
          else {
            client.destroy();
            upstream.destroy();
          }
        });
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      await new Promise<void>((res) => server?.listen(r.port, '127.0.0.1', () => res()));
      r.port = (server.address() as { port: number }).port;
    },
    async down(): Promise<void> {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((res) => (server ? server.close(() => res()) : res()));
      server = undefined;
    },
  };
  return r;
}

/** Sends records as v9 in rounds of `per`, paced, from one exporter (127.0.0.1). */
async function sendRounds(
  port: () => number,
  enc: ReturnType<typeof encoder>,
  records: FlowRecord[],
  per: number,
  beforeRound: (round: number) => Promise<void> = async () => {},
): Promise<void> {
  for (let i = 0, round = 0; i < records.length; i += per, round++) {
    await beforeRound(round);
    await sendAll(port(), enc.encode(records.slice(i, i + per), Date.now()));
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('rollups computed by the collector', () => {
  it('rollup totals equal the raw totals for simulated multi-tenant traffic', async () => {
    const dir = tempDir('rollup-sim');
    const inventory = join(dir.path, 'inventory.yaml');
    const records = await simulated(7, 20_000, inventory);
    const c = await startCollector({
      stateDir: dir.path,
      clickhouse: testClickHouseConfig(db().database),
      inventoryFile: inventory,
      config: { batchMaxRows: 5000, batchMaxWaitMs: 200 },
    });
    try {
      const enc = encoder(9, 7001);
      await sendAll(c.udpPort, enc.templates(Date.now()));
      await sendRounds(() => c.udpPort, enc, records, 1000);
      await waitFor(
        'every flow stored',
        () => stored(7001),
        (n) => n >= records.length,
        30_000,
      );
      await waitFor(
        'rollup rows inserted',
        () => c.totals().rollupRows,
        (n) => n > 0,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(await stored(7001)).toBe(records.length);
      await expectRollupsEqualRaw(7001);
      const tenants = await db().query<{ tenant: string }>(
        `SELECT DISTINCT tenant FROM ${db().database}.flows_1m WHERE tenant != ''`,
      );
      expect(tenants.length).toBeGreaterThan(1); // enriched from the simulated inventory
      const t = c.totals();
      console.log(
        `rollup aggregation on simulated traffic: ${t.insertedRows} raw rows, ${t.rollupRows} rollup rows (${(t.insertedRows / t.rollupRows).toFixed(1)} raw rows per rollup row)`,
      );
    } finally {
      await c.stop();
      dir.remove();
    }
  }, 180_000);

  it('rollup totals still equal the raw totals after lost answers, ClickHouse down mid-stream and a restart', async () => {
    const dir = tempDir('rollup-faults');
    const inventory = join(dir.path, 'inventory.yaml');
    const records = await simulated(11, 12_000, inventory);
    const real = testClickHouseConfig(db().database);
    const ch = relay(new URL(real.url));
    await ch.up();
    const config = { batchMaxRows: 1000, batchMaxWaitMs: 100 };
    const start = () =>
      startCollector({
        stateDir: dir.path,
        clickhouse: { ...real, url: `http://127.0.0.1:${ch.port}` },
        inventoryFile: inventory,
        config,
      });
    let c = await start();
    const enc = encoder(9, 7002);
    try {
      await sendAll(c.udpPort, enc.templates(Date.now()));
      const [first, second] = [records.slice(0, 8000), records.slice(8000)];
      await sendRounds(
        () => c.udpPort,
        enc,
        first,
        500,
        async (round) => {
          // stored by ClickHouse, answer lost: the replay must find both kinds stored
          if (round === 1) ch.loseAnswers(4);
          // ClickHouse unreachable for a while, then back
          if (round === 6) await ch.down();
          if (round === 11) await ch.up();
        },
      );
      await waitFor(
        'first part stored',
        () => stored(7002),
        (n) => n >= first.length,
        30_000,
      );
      expect(ch.lost).toBe(4);

      // ClickHouse down again, then the collector restarts with batches in its spool
      await ch.down();
      await sendRounds(() => c.udpPort, enc, second.slice(0, 2000), 500);
      await new Promise((r) => setTimeout(r, 500));
      await c.stop();
      await ch.up();
      c = await start();
      await sendAll(c.udpPort, enc.templates(Date.now()));
      await sendRounds(() => c.udpPort, enc, second.slice(2000), 500);
      await waitFor(
        'every flow stored',
        () => stored(7002),
        (n) => n >= records.length,
        30_000,
      );
      // a short while longer: a duplicate replay would show up now
      await new Promise((r) => setTimeout(r, 1500));
      expect(await stored(7002)).toBe(records.length);
      await expectRollupsEqualRaw(7002);
    } finally {
      await c.stop();
      await ch.down();
      dir.remove();
    }
  }, 180_000);
});
