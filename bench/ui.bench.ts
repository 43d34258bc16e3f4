/**
 * `npm run bench -- ui`: how fast the web UI shows the overview, in Chromium (Debian's, via
 * playwright-core), from navigation start to the first chart drawn (the UI's
 * `vxflow:first-chart` performance mark) and to every card loaded; and the bundle's size.
 *
 * Over the demo's data: `vxflow demo` runs (collector, simulated cloud at 500 flows/s,
 * dashboard) on CLICKHOUSE_URL or an embedded server, and the overview of its last hour is
 * opened again and again while it ingests. Over the dashboard bench's 10 million flows: set
 * BENCH_UI_DATABASE (and CLICKHOUSE_URL) to a database that holds them (keep the one
 * `npm run bench -- dashboard` loads); BENCH_UI_RANGE picks the range (default the bench's
 * day, 2026-11-30).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Value } from '@sinclair/typebox/value';
import type { Browser } from 'playwright-core';
import { createTokenStore } from '../dashboard/src/auth/tokens.ts';
import { DashboardConfig } from '../dashboard/src/config.ts';
import { buildDashboardApp } from '../dashboard/src/server.ts';
import { connectClickHouse } from '../storage/src/clickhouse.ts';
import { ClickHouseConfig } from '../storage/src/config.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import { launchChromium, settled } from '../test/ui/harness.ts';
import { type BenchContext, median } from './lib.ts';

const root = resolve(import.meta.dirname, '..');

/** Sizes of what the overview loads (index.html and what it references) and of the whole build. */
function bundleSizes(): {
  first: { raw: number; gzip: number };
  all: { raw: number; gzip: number; files: number };
} {
  const dir = join(root, 'dist/ui');
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const first = { raw: html.length, gzip: gzipSync(html).length };
  const all = { ...first, files: 1 };
  for (const f of readdirSync(join(dir, 'assets'))) {
    const buf = readFileSync(join(dir, 'assets', f));
    const gz = gzipSync(buf, { level: 9 }).length;
    all.raw += buf.length;
    all.gzip += gz;
    all.files++;
    if (html.includes(`/assets/${f}`)) {
      first.raw += buf.length;
      first.gzip += gz;
    }
  }
  return { first, all };
}

/**
 * Signs in with the link, then loads `view` `runs` times in a fresh page each: the time
 * from navigation start to the first chart drawn, and to every card loaded (ms).
 */
async function timeOverview(
  browser: Browser,
  base: string,
  token: string,
  view: string,
  runs: number,
): Promise<{ chart: number[]; all: number[]; query: number[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const login = await context.newPage();
    await login.goto(`${base}/#login=${token}&view=${encodeURIComponent(view)}`);
    await login.locator('header.top [data-identity]').waitFor({ timeout: 30_000 });
    await login.close();
    const chart: number[] = [];
    const all: number[] = [];
    const query: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const page = await context.newPage();
      await page.goto(`${base}/#${view}`);
      await page.waitForFunction(
        () => performance.getEntriesByName('vxflow:first-chart').length > 0,
        undefined,
        { timeout: 60_000 },
      );
      await page.waitForFunction(settled, undefined, { timeout: 60_000 });
      const t = await page.evaluate(() => {
        // resource entries carry responseEnd (the Node program's types do not know them)
        const series = performance
          .getEntriesByType('resource')
          .find((e) => e.name.includes('/api/v1/traffic/series')) as unknown as
          | { startTime: number; responseEnd: number }
          | undefined;
        return {
          chart: performance.getEntriesByName('vxflow:first-chart')[0].startTime,
          all: performance.now(),
          query: series ? series.responseEnd - series.startTime : 0,
        };
      });
      await page.close();
      if (i === 0) continue; // warm-up: the server's first queries, the browser's cache
      chart.push(t.chart);
      all.push(t.all);
      query.push(t.query);
    }
    return { chart, all, query };
  } finally {
    await context.close();
  }
}

export default async function uiBench(ctx: BenchContext): Promise<void> {
  execFileSync(process.execPath, [join(root, 'bin/build.js'), '--quiet'], { cwd: root, stdio: 'inherit' });
  const size = bundleSizes();
  ctx.record({
    name: 'web UI: what the overview loads (HTML + JS + CSS), gzip',
    value: size.first.gzip / 1024,
    unit: 'KiB',
    note: `${(size.first.raw / 1024).toFixed(0)} KiB raw; the whole build ${(size.all.gzip / 1024).toFixed(0)} KiB gzip, ${(size.all.raw / 1024).toFixed(0)} KiB raw in ${size.all.files} files (CodeMirror loads with the SQL page)`,
  });

  const runs = ctx.quick ? 5 : 15;
  const cleanups: (() => Promise<void>)[] = [];
  let browser: Browser | null = null;
  try {
    let url = process.env.CLICKHOUSE_URL ?? '';
    if (!url) {
      const dir = mkdtempSync(join(tmpdir(), 'vxflow-bench-ui-ch-'));
      const server = await startEmbedded({ dataDir: dir, httpPort: 0, tcpPort: 0 });
      cleanups.push(async () => {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      });
      url = server.url;
    }
    browser = await launchChromium();

    // ---- the demo's data, while it ingests ----
    const database = `bench_ui_${process.pid}`;
    const cwd = mkdtempSync(join(tmpdir(), 'vxflow-bench-ui-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_')));
    const demo: ChildProcess = spawn(
      process.execPath,
      [
        join(root, 'bin/vxflow.js'),
        'demo',
        '--dashboard',
        '127.0.0.1:0',
        '--port',
        String(await freePort()),
        '--interval',
        '5',
        '--duration',
        '600',
      ],
      {
        cwd,
        env: {
          ...env,
          CLICKHOUSE_URL: url,
          VXFLOW_CLICKHOUSE_DATABASE: database,
          VXFLOW_COLLECTOR_METRICS_LISTEN: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    cleanups.push(async () => {
      if (demo.exitCode === null) {
        const done = new Promise((r) => demo.once('exit', r));
        demo.kill('SIGINT');
        await done;
      }
      const ch = await connectClickHouse({
        ...(Value.Default(ClickHouseConfig, {}) as ClickHouseConfig),
        url,
        database,
      });
      await ch.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => {});
      await ch.close();
      rmSync(cwd, { recursive: true, force: true });
    });
    let out = '';
    let err = '';
    demo.stdout?.on('data', (d) => {
      out += d;
    });
    demo.stderr?.on('data', (d) => {
      err += d;
    });
    const deadline = Date.now() + 120_000;
    // the dashboard's lines, then two heartbeats with flows (about 10 s of data)
    while (!/^sign in /m.test(out) || (out.match(/ [1-9][\d,]* flows stored/g) ?? []).length < 2) {
      if (Date.now() > deadline || demo.exitCode !== null)
        throw new Error(`the demo did not start:\n${out}\n${err.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const base = /^dashboard\s+(\S+)$/m.exec(out)?.[1] ?? '';
    const token = /^admin token\s+(\S+)$/m.exec(out)?.[1] ?? '';
    ctx.log(
      `demo running: dashboard ${base}, ${
        /([\d,]+) flows stored/.exec(
          out
            .split('\n')
            .filter((l) => l.includes('flows stored'))
            .pop() ?? '',
        )?.[1]
      } flows so far`,
    );
    const demoRun = await timeOverview(browser, base, token, '/overview?from=now-1h', runs);
    ctx.record({
      name: 'overview: first chart drawn (demo data, last hour, ingesting)',
      value: median(demoRun.chart),
      unit: 'ms',
      samples: demoRun.chart,
      note: `the chart's query ${median(demoRun.query).toFixed(0)} ms of it; every card loaded: ${median(demoRun.all).toFixed(0)} ms; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; target < 1000 ms`,
    });

    // ---- the dashboard bench's 10 million flows, when a database holding them is named ----
    const big = process.env.BENCH_UI_DATABASE;
    if (big) {
      const ch = await connectClickHouse({
        ...(Value.Default(ClickHouseConfig, {}) as ClickHouseConfig),
        url,
        database: big,
      });
      cleanups.push(() => ch.close());
      const [{ n }] = await ch.query<{ n: string }>(`SELECT toString(count()) AS n FROM ${big}.flows`);
      const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
      config.rateLimit.perMinute = 100_000;
      const app = await buildDashboardApp({ ch, config });
      cleanups.push(() => app.close());
      const store = createTokenStore(ch);
      const admin = await store.create({ role: 'admin', name: 'bench ui' });
      cleanups.push(async () => {
        await store.revoke(admin.info.id);
      });
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      const range = process.env.BENCH_UI_RANGE ?? 'from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z';
      const bigRun = await timeOverview(browser, address, admin.token, `/overview?${range}`, runs);
      ctx.record({
        name: `overview: first chart drawn (${(Number(n) / 1e6).toFixed(1)} M flows, 24 h)`,
        value: median(bigRun.chart),
        unit: 'ms',
        samples: bigRun.chart,
        note: `the chart's query ${median(bigRun.query).toFixed(0)} ms of it; every card loaded: ${median(bigRun.all).toFixed(0)} ms; load average ${loadavg()[0].toFixed(1)}; target < 2000 ms`,
      });
    } else {
      ctx.log(
        '10 M flows: set BENCH_UI_DATABASE to a database holding the dashboard bench’s flows to measure it',
      );
    }
  } finally {
    await browser?.close();
    for (const c of cleanups.reverse()) await c().catch((e: Error) => ctx.log(`cleanup: ${e.message}`));
  }
}
