/**
 * Shared templates under hostile input (issue 9's limits kept, issue 14): an address that
 * sends more templates than its limit stores no more than the limit; stored rows beyond a
 * collector's limit are not loaded; and while ClickHouse hangs, new addresses (forged ones
 * included) wait for a lookup only up to collector.templateSharing.maxPendingExporters and
 * lookupTimeoutMs, after which their datagrams are decoded as they would be without
 * sharing: nothing is lost and nothing waits for ever.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CollectorConfig } from '../../collector/src/config.ts';
import { startCollector, tempDir, waitFor } from '../collector/harness.ts';
import { loopbackSource, sendFrom, templateChurn } from '../collector/hostile-traffic.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();

const metric = async (
  c: { metrics: Record<string, unknown> },
  name: string,
  labels: Record<string, string> = {},
) =>
  (
    await (
      c.metrics.registry as {
        getSingleMetric(
          n: string,
        ): { get(): Promise<{ values: { value: number; labels: Record<string, string> }[] }> } | undefined;
      }
    )
      .getSingleMetric(name)
      ?.get()
  )?.values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((s, v) => s + v.value, 0) ?? 0;

const sharing = (
  over: Partial<CollectorConfig['templateSharing']> = {},
): CollectorConfig['templateSharing'] => ({
  enabled: true,
  lookupTimeoutMs: 1000,
  maxPendingExporters: 1000,
  maxHeldBytes: 16 * 1024 * 1024,
  maxAgeDays: 30,
  lookupAgainAfterSilentMs: 60_000,
  ...over,
});

async function storedTemplates(exporter: string): Promise<number> {
  const [r] = await db().query<{ n: string }>(
    `SELECT count() AS n FROM ${db().database}.exporter_templates WHERE exporter = '${exporter}' AND template_id >= 256`,
  );
  return Number(r.n);
}

/** A TCP relay in front of ClickHouse that can stall: from then on nothing passes either way. */
function stallingRelay(target: URL) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let stalled = false;
  return {
    async listen(): Promise<number> {
      const srv = createServer((client) => {
        sockets.add(client);
        client.on('error', () => {});
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        client.on('data', (d: Buffer) => {
          if (!stalled) upstream.write(d);
        });
        upstream.on('data', (d: Buffer) => {
          if (!stalled) client.write(d);
        });
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server = srv;
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      return (srv.address() as { port: number }).port;
    },
    stall() {
      stalled = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    },
  };
}

describe('shared templates: limits', () => {
  it('an address stores no more templates than its limit, and a collector loads no more stored ones than its own limit', async () => {
    const dir = tempDir('share-limit-store');
    const dir2 = tempDir('share-limit-load');
    const real = testClickHouseConfig(db().database);
    const limits = { maxTemplatesPerExporter: 100, maxDomainsPerExporter: 2 } as CollectorConfig['limits'];
    const a = await startCollector({
      stateDir: dir.path,
      clickhouse: real,
      config: { templateSaveMs: 200, limits: { ...limits, maxTemplatesPerExporter: 1000 } },
    });
    const b = await startCollector({
      stateDir: dir2.path,
      clickhouse: real,
      config: { templateSaveMs: 200, limits },
    });
    try {
      // 600 template ids from one address: a collector allowed 1000 stores all of them ...
      await sendFrom('127.9.0.2', a.udpPort, templateChurn(1, 600));
      await waitFor(
        'the 600 templates shared',
        () => storedTemplates('127.9.0.2'),
        (n) => n === 600,
        20_000,
      );
      // ... one allowed 100 learns and stores 100 of another address's 600
      await sendFrom('127.9.0.3', b.udpPort, templateChurn(1, 600));
      await waitFor(
        "b's templates shared",
        () => storedTemplates('127.9.0.3'),
        (n) => n > 0,
        20_000,
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect(await storedTemplates('127.9.0.3')).toBe(100);

      // b meets 127.9.0.2 (a's 600 stored templates) with a data-only datagram: it loads at
      // most its own limit, templates plus domains, and holds at most 100
      const data = Buffer.from(templateChurn(1, 1)[0]);
      data.writeUInt16BE(256, 20); // the template set becomes a data set of template 256
      await sendFrom('127.9.0.2', b.udpPort, [data]);
      await waitFor(
        'the lookup',
        () => metric(b, 'vxflow_collector_shared_template_lookups_total', { result: 'found' }),
        (n) => n >= 1,
        10_000,
      );
      expect(await metric(b, 'vxflow_collector_shared_templates_imported_total')).toBeLessThanOrEqual(
        100 + 2,
      );
      const held = await waitFor(
        "b's saved state",
        () => {
          try {
            const saved = JSON.parse(readFileSync(join(dir2.path, 'templates.json'), 'utf8')) as {
              workers: { templates: { exporter: string }[] }[];
            };
            return saved.workers.flatMap((w) => w.templates).filter((t) => t.exporter === '127.9.0.2').length;
          } catch {
            return -1;
          }
        },
        (n) => n > 0,
        10_000,
      );
      expect(held).toBe(100);
    } finally {
      await a.stop();
      await b.stop();
      dir.remove();
      dir2.remove();
    }
  }, 90_000);

  it('while ClickHouse hangs, at most maxPendingExporters new addresses wait, each at most lookupTimeoutMs, and every datagram is decoded', async () => {
    const dir = tempDir('share-limit-pending');
    const relay = stallingRelay(new URL(testClickHouseConfig(db().database).url));
    const port = await relay.listen();
    const c = await startCollector({
      stateDir: dir.path,
      clickhouse: { ...testClickHouseConfig(db().database), url: `http://127.0.0.1:${port}` },
      config: { templateSharing: sharing({ maxPendingExporters: 5, lookupTimeoutMs: 2000 }) },
    });
    try {
      relay.stall();
      // 30 addresses, one datagram of 30 templates each
      const t0 = Date.now();
      for (let i = 0; i < 30; i++) await sendFrom(loopbackSource(5000 + i), c.udpPort, templateChurn(1, 30));
      await waitFor(
        'every template learnt',
        () => metric(c, 'vxflow_collector_templates_learnt_total'),
        (n) => n >= 900,
        30_000,
      );
      const tookMs = Date.now() - t0;
      const pendingFull = await metric(c, 'vxflow_collector_shared_template_skipped_total', {
        reason: 'pending-full',
      });
      const timedOut = await metric(c, 'vxflow_collector_shared_template_lookups_total', {
        result: 'timeout',
      });
      // after a lookup timed out, addresses that come later skip the lookup for a while
      const down = await metric(c, 'vxflow_collector_shared_template_skipped_total', {
        reason: 'clickhouse-down',
      });
      expect(pendingFull + timedOut + down).toBe(30);
      expect(pendingFull).toBeGreaterThan(0);
      expect(timedOut).toBeLessThanOrEqual(5);
      expect(timedOut).toBeGreaterThan(0);
      // the waiting addresses went on after their lookups timed out: 2 s per query at most
      expect(tookMs).toBeLessThan(5 * 2000 + 10_000);
    } finally {
      await relay.close();
      await c.stop();
      dir.remove();
    }
  }, 90_000);
});
