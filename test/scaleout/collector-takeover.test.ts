/**
 * Several collectors behind a source-hash load balancer (issue 14): collector A, a real
 * `vxflow collector` process, decodes an exporter's templates and data and shares the
 * templates through ClickHouse; A is killed with SIGKILL; the exporter, moved to collector
 * B, sends data sets only (its template refresh is far away); B decodes them at once from
 * the templates A stored, and every flow is stored exactly once. A control collector with
 * sharing off shows what happens without it: the data waits for a template that does not
 * come (what every collector did before). And what A had spooled when it was killed (its
 * flow inserts were failing) goes in, each flow once, when A starts again on its state
 * directory, beside what B stored meanwhile.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import {
  encoder,
  expectedBytes,
  makeFlows,
  sendAll,
  startCollector,
  tempDir,
  waitFor,
} from '../collector/harness.ts';

const root = resolve(import.meta.dirname, '../..');
const db = useTestClickHouse();

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  s.close();
  return port;
}

async function totals(domain: number): Promise<{ n: number; bytes: number }> {
  const [r] = await db().query<{ n: string; bytes: string }>(
    `SELECT count() AS n, sum(bytes) AS bytes FROM ${db().database}.flows WHERE observation_domain = ${domain}`,
  );
  return { n: Number(r.n), bytes: Number(r.bytes) };
}

async function storedTemplates(domain: number): Promise<number> {
  const [r] = await db().query<{ n: string }>(
    `SELECT count() AS n FROM ${db().database}.exporter_templates WHERE observation_domain = ${domain} AND template_id >= 256`,
  );
  return Number(r.n);
}

const metric = async (c: { metrics: Record<string, unknown> }, name: string) =>
  (await (c.metrics[name] as { get(): Promise<{ values: { value: number }[] }> }).get()).values.reduce(
    (s, v) => s + v.value,
    0,
  );

/** `vxflow collector` as a child process on one UDP port, on the test database. */
async function collectorProcess(
  port: number,
  stateDir: string,
  clickhouseUrl = testClickHouseConfig(db().database).url,
): Promise<{ child: ChildProcess; log: () => string }> {
  let stderr = '';
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_') && k !== 'CLICKHOUSE_URL'),
  );
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin/vxflow.js'),
      'collector',
      '--listen',
      `udp://127.0.0.1:${port}`,
      '--metrics-listen',
      '',
      '--state-dir',
      stateDir,
      '--workers',
      '1',
    ],
    {
      cwd: stateDir,
      env: {
        ...env,
        CLICKHOUSE_URL: clickhouseUrl,
        VXFLOW_CLICKHOUSE_DATABASE: db().database,
        VXFLOW_COLLECTOR_TEMPLATE_SAVE_MS: '200',
        VXFLOW_COLLECTOR_BATCH_MAX_WAIT_MS: '200',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await waitFor(
    'collector A listening',
    () => stderr,
    (s) => s.includes('"listening"') || child.exitCode !== null,
    30_000,
  );
  if (child.exitCode !== null) throw new Error(`collector A exited: ${stderr.slice(-2000)}`);
  return { child, log: () => stderr };
}

describe('several collectors: templates shared through ClickHouse', () => {
  it('an exporter moved from a killed collector to another is decoded at once from the shared templates, each flow stored once', async () => {
    const DOMAIN = 1401;
    const dirA = tempDir('takeover-a');
    const dirB = tempDir('takeover-b');
    const dirC = tempDir('takeover-c');
    const portA = await freeUdpPort();
    const a = await collectorProcess(portA, dirA.path);
    const real = testClickHouseConfig(db().database);
    const b = await startCollector({
      stateDir: dirB.path,
      clickhouse: real,
      config: { templateSaveMs: 200 },
    });
    const control = await startCollector({
      stateDir: dirC.path,
      clickhouse: real,
      config: {
        templateSharing: {
          enabled: false,
          lookupTimeoutMs: 1000,
          maxPendingExporters: 1000,
          maxHeldBytes: 16 * 1024 * 1024,
          maxAgeDays: 30,
          lookupAgainAfterSilentMs: 60_000,
        },
      },
    });
    try {
      // one exporter (127.0.0.1, v9 Source ID 1401) whose templates are sent once, first
      const exporter = encoder(9, DOMAIN);
      const before = makeFlows(3000, { vni: 1401 }, 0);
      const first = exporter.encode(before, Date.now());
      expect(exporter.stats.templatePackets).toBeGreaterThan(0);
      await sendAll(portA, first);
      await waitFor(
        "A's flows stored and its templates shared",
        async () => ({ flows: (await totals(DOMAIN)).n, templates: await storedTemplates(DOMAIN) }),
        (v) => v.flows === before.length && v.templates > 0,
        30_000,
      );

      // A dies without a chance to flush anything; the load balancer moves the exporter to B
      a.child.kill('SIGKILL');
      await new Promise((r) => a.child.once('exit', r));

      const templatePackets = exporter.stats.templatePackets;
      const after = makeFlows(2000, { vni: 1401 }, 3000).map((f) => ({
        ...f,
        bytes: Number(f.bytes) + 3000,
      }));
      const second = exporter.encode(after, Date.now());
      expect(exporter.stats.templatePackets).toBe(templatePackets); // data sets only
      const t0 = Date.now();
      await sendAll(b.udpPort, second);
      const stored = await waitFor(
        'the moved exporter decoded by B',
        () => totals(DOMAIN),
        (v) => v.n >= before.length + after.length,
        10_000,
      );
      const tookMs = Date.now() - t0;
      // each flow exactly once over both collectors: bytes are 1000+i for i in 0..4999
      expect(stored).toEqual({ n: 5000, bytes: expectedBytes(5000) });
      // decoded on arrival, not held for a template: the data sets never waited in B
      expect(await metric(b, 'held')).toBe(0);
      expect(await metric(b, 'templateMisses')).toBe(0);
      expect(tookMs).toBeLessThan(10_000);

      // a collector that decodes every exporter on all its workers (collector.spread 'always')
      // gives the stored templates to each of them
      const dirS = tempDir('takeover-spread');
      const spread = await startCollector({
        stateDir: dirS.path,
        clickhouse: real,
        config: { spread: 'always', workers: 2 },
      });
      try {
        await sendAll(spread.udpPort, exporter.encode(makeFlows(1000, { vni: 1401 }, 7000), Date.now()));
        await waitFor(
          'the exporter decoded by the spreading collector',
          () => totals(DOMAIN),
          (v) => v.n >= 6000,
          10_000,
        );
        expect(await metric(spread, 'held')).toBe(0);
        expect(await metric(spread, 'templateMisses')).toBe(0);
      } finally {
        await spread.stop();
        dirS.remove();
      }

      // without sharing, the same data sets wait for a template that does not come
      const third = exporter.encode(makeFlows(500, { vni: 1401 }, 5000), Date.now());
      await sendAll(control.udpPort, third);
      await waitFor(
        'the control collector holding the data sets',
        () => metric(control, 'held'),
        (n) => n > 0,
        10_000,
      );
      await new Promise((r) => setTimeout(r, 1500)); // longer than its batch wait
      expect((await totals(DOMAIN)).n).toBe(6000);
    } finally {
      if (a.child.exitCode === null) a.child.kill('SIGKILL');
      await b.stop();
      await control.stop();
      dirA.remove();
      dirB.remove();
      dirC.remove();
    }
  }, 120_000);

  it("a killed collector's spool goes in once when it starts again, beside what the collector that took over its exporter stored", async () => {
    const DOMAIN = 1402;
    const dirA = tempDir('takeover-spool-a');
    const dirB = tempDir('takeover-spool-b');
    const real = testClickHouseConfig(db().database);
    // A's flow inserts fail (the connection is cut when one starts); everything else passes
    const relay = flowInsertCutter(new URL(real.url));
    const relayPort = await relay.listen();
    const portA = await freeUdpPort();
    const a = await collectorProcess(portA, dirA.path, `http://127.0.0.1:${relayPort}`);
    const b = await startCollector({
      stateDir: dirB.path,
      clickhouse: real,
      config: { templateSaveMs: 200 },
    });
    let restarted: Awaited<ReturnType<typeof startCollector>> | undefined;
    try {
      const exporter = encoder(9, DOMAIN);
      const spooledFlows = makeFlows(3000, { vni: 1402 }, 0);
      await sendAll(portA, exporter.encode(spooledFlows, Date.now()));
      const spool = join(dirA.path, 'spool');
      let last = '';
      await waitFor(
        "A's templates shared and its flows spooled (spool unchanged for 2 s)",
        async () => {
          const files = (() => {
            try {
              return readdirSync(spool)
                .filter((f) => f.endsWith('.rowbinary'))
                .sort()
                .join(',');
            } catch {
              return '';
            }
          })();
          const [t] = await db().query<{ n: string }>(
            `SELECT count() AS n FROM ${db().database}.exporter_templates WHERE observation_domain = ${DOMAIN}`,
          );
          const stable = files !== '' && files === last;
          last = files;
          return stable && Number(t.n) > 0;
        },
        (ok) => ok,
        30_000,
      ).catch(async (err) => {
        throw new Error(
          `${(err as Error).message}; relay cut ${relay.cut} inserts; A: ${a.log().slice(-1500)}`,
        );
      });
      // polled every 100 ms: wait a little longer for "unchanged"
      await new Promise((r) => setTimeout(r, 2000));
      expect(relay.cut).toBeGreaterThan(0);
      expect((await totals(DOMAIN)).n).toBe(0);
      a.child.kill('SIGKILL');
      await new Promise((r) => a.child.once('exit', r));

      const movedFlows = makeFlows(2000, { vni: 1402 }, 3000).map((f) => ({
        ...f,
        bytes: Number(f.bytes) + 3000,
      }));
      await sendAll(b.udpPort, exporter.encode(movedFlows, Date.now()));
      await waitFor(
        'B stored the moved exporter',
        () => totals(DOMAIN),
        (v) => v.n >= 2000,
        20_000,
      );
      expect(await metric(b, 'held')).toBe(0);

      // A again, on its state directory and a working ClickHouse: its spool goes in
      await relay.close();
      restarted = await startCollector({ stateDir: dirA.path, clickhouse: real });
      const stored = await waitFor(
        'the spool replayed',
        () => totals(DOMAIN),
        (v) => v.n >= 5000,
        60_000,
      );
      await new Promise((r) => setTimeout(r, 1500));
      expect(await totals(DOMAIN)).toEqual({ n: 5000, bytes: expectedBytes(5000) });
      expect(stored.n).toBe(5000);
    } finally {
      if (a.child.exitCode === null) a.child.kill('SIGKILL');
      await relay.close();
      await restarted?.stop();
      await b.stop();
      dirA.remove();
      dirB.remove();
    }
  }, 180_000);
});

/** A relay in front of ClickHouse that cuts every connection carrying an INSERT into a flows table. */
function flowInsertCutter(target: URL) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const relay = {
    cut: 0,
    async listen(): Promise<number> {
      const srv = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        client.on('data', (d: Buffer) => {
          const head = d.toString('latin1', 0, Math.min(d.length, 600));
          if (/^POST /.test(head) && /INSERT(\+|%20)INTO(\+|%20)\w+\.flows/.test(head)) {
            relay.cut++;
            client.destroy();
            upstream.destroy();
            return;
          }
          upstream.write(d);
        });
        upstream.on('data', (d: Buffer) => client.write(d));
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      server = srv;
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      return (srv.address() as { port: number }).port;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (server?.listening ? server.close(() => r()) : r()));
    },
  };
  return relay;
}
