/**
 * What the alert tests share: the dashboard app with the alert routes, evaluators with short
 * intervals, a real HTTP receiver on loopback that records what arrives (and can answer
 * errors or hang), a steady flow sender through a real collector, and signature checks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '../../storage/src/clickhouse.ts';
import { createEvaluator, type Evaluator } from '../../dashboard/src/alerts/engine.ts';
import { DashboardConfig } from '../../dashboard/src/config.ts';
import { buildDashboardApp } from '../../dashboard/src/server.ts';
import { alertRoutes } from '../../dashboard/src/routes/alerts.ts';
import { createAuditLog } from '../../dashboard/src/audit.ts';
import type { App, DashboardDeps } from '../../dashboard/src/deps.ts';
import { testClickHouseConfig } from '../helpers/clickhouse.ts';
import { encoder, makeFlows, sendAll, startCollector, tempDir } from '../collector/harness.ts';

/** Alerts tuned for tests: 1 s evaluations, 3 s ingest lag, 3 s lease, loopback receivers allowed. */
export function testConfig(over: Partial<DashboardConfig['alerts']> = {}): DashboardConfig {
  const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
  config.rateLimit.perMinute = 100_000;
  config.publicUrl = 'https://vxflow.example.test';
  Object.assign(config.alerts, {
    tickMs: 200,
    // this machine is shared and loaded: the collector may take a few seconds to store a batch
    lagSeconds: 3,
    minIntervalSeconds: 1,
    leaseSeconds: 3,
    allowPrivateTargets: true,
    ...over,
  });
  config.alerts.delivery = { ...config.alerts.delivery, timeoutMs: 2000, backoffBaseMs: 200, maxAttempts: 5 };
  return config;
}

/**
 * The dashboard app with the alert routes. When app.ts registers them itself (the wiring
 * lines), they are not added twice.
 */
export async function buildApp(ch: ClickHouse, config: DashboardConfig): Promise<FastifyInstance> {
  const app = await buildDashboardApp({ ch, config });
  if (app.hasRoute({ method: 'GET', url: '/api/v1/alerts/rules' })) return app;
  await app.close();
  // same dependencies as buildDashboardApp, plus the alert routes next to the plugin
  const Fastify = (await import('fastify')).default;
  const plugin = (await import('../../dashboard/src/app.ts')).default;
  const { createTokenStore } = await import('../../dashboard/src/auth/tokens.ts');
  const { createDashboardMetrics } = await import('../../dashboard/src/metrics.ts');
  const { createClient } = await import('@clickhouse/client');
  const deps: DashboardDeps = {
    ch,
    config,
    metrics: createDashboardMetrics(),
    tokens: createTokenStore(ch),
    sqlClient: createClient({ url: ch.url, database: ch.database }),
  };
  const f = Fastify({
    logger: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  await f.register(plugin, deps);
  await f.register(async (inner) =>
    alertRoutes(inner as unknown as App, { ...deps, audit: createAuditLog(ch, () => {}) }),
  );
  f.addHook('onClose', async () => deps.sqlClient.close());
  await f.ready();
  return f as unknown as FastifyInstance;
}

const quiet = { info() {}, warn() {}, error() {} };

export function evaluator(ch: ClickHouse, config: DashboardConfig, instanceId?: string): Evaluator {
  return createEvaluator({
    ch,
    config: { ...config, alerts: { ...config.alerts, instanceId: instanceId ?? '' } },
    log: process.env.VXFLOW_TEST_LOG
      ? { info: console.log, warn: console.warn, error: console.error }
      : quiet,
    publicUrl: () => config.publicUrl,
  });
}

export interface Received {
  at: number;
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** statuses to answer next, in order (then 200); 'hang' never answers */
  script: (number | 'hang')[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const hung: ServerResponse[] = [];
  const r: Partial<Receiver> = { received, script: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body);
      } catch {}
      received.push({ at: Date.now(), headers: req.headers, body, json });
      const next = r.script?.shift() ?? 200;
      if (next === 'hang') {
        hung.push(res);
        return;
      }
      res.writeHead(next, { 'content-type': 'text/plain' }).end(next === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}/hook`,
    async close() {
      for (const h of hung) h.destroy();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  }) as Receiver;
}

/** The receiver's check, as the README shows it. */
export function validSignature(secret: string, rec: Received, maxAgeS = 300): boolean {
  const ts = String(rec.headers['x-vxflow-timestamp'] ?? '');
  const sig = String(rec.headers['x-vxflow-signature'] ?? '');
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > maxAgeS) return false;
  const want = `v1=${createHmac('sha256', secret).update(`${ts}.${rec.body}`).digest('hex')}`;
  return want.length === sig.length && timingSafeEqual(Buffer.from(want), Buffer.from(sig));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A collector with a two-tenant inventory (acme: VNI 5001, globex: VNI 6001) storing into
 * the test database, and a sender that keeps a steady rate of flows per tenant.
 */
export async function startTraffic(ch: ClickHouse): Promise<{
  /** flows per second per VNI; change at any time */
  rates: Map<number, number>;
  /** the destination port of the flows sent per VNI (default 443): marks a phase of a test */
  ports: Map<number, number>;
  stop(): Promise<void>;
}> {
  const dir = tempDir('alerts');
  const inv = join(dir.path, 'inventory.yaml');
  writeFileSync(
    inv,
    `tenants:
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
`,
  );
  const c = await startCollector({
    stateDir: dir.path,
    clickhouse: testClickHouseConfig(ch.database),
    inventoryFile: inv,
    config: { batchMaxWaitMs: 100, exportersRefreshMs: 500 },
  });
  const rates = new Map<number, number>();
  const ports = new Map<number, number>();
  const enc = encoder(9, 77);
  let stopped = false;
  let seed = 0;
  const loop = (async () => {
    try {
      await sendAll(c.udpPort, enc.templates(Date.now()));
      const tickMs = 100;
      while (!stopped) {
        const t = Date.now();
        for (const [vni, rate] of rates) {
          const n = Math.round((rate * tickMs) / 1000);
          if (n > 0)
            await sendAll(
              c.udpPort,
              enc.encode(makeFlows(n, { vni, dst_port: ports.get(vni) ?? 443 }, seed++), t),
            );
        }
        await sleep(Math.max(0, tickMs - (Date.now() - t)));
      }
    } catch (err) {
      console.error('traffic sender failed', err);
    }
  })();
  return {
    rates,
    ports,
    async stop() {
      stopped = true;
      await loop.catch(() => {});
      await c.stop();
      dir.remove();
    },
  };
}
