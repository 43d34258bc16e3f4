/**
 * `vxflow demo` (what `npm start` runs): the whole data path on one machine. The embedded
 * ClickHouse (or CLICKHOUSE_URL), the collector, the exporter fed by the simulated
 * multi-tenant cloud (its tenant inventory given to the collector) and the dashboard. Its
 * first lines on stdout are the dashboard's URL, an admin and a tenant token made for this
 * run, and a link that signs in; then one heartbeat line every few seconds of what
 * ClickHouse holds, and the totals per tenant at the end.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createTokenStore } from '../../dashboard/src/auth/tokens.ts';
import { checkInventoryYaml } from '../../dashboard/src/inventory/validate.ts';
import { createDashboard, type Dashboard, parseListen } from '../../dashboard/src/server.ts';
import { buildCloud } from '../../exporter/src/sources/sim/model.ts';
import { writeInventory } from '../../exporter/src/sources/sim/inventory.ts';
import { type ClickHouse, connectClickHouse } from '../../storage/src/clickhouse.ts';
import { latestInventory, saveInventory } from '../../storage/src/inventory-store.ts';
import { migrateAuto } from '../../storage/src/cluster-migrate.ts';
import { configFor } from '../context.ts';
import { UserError } from '../../common/errors.ts';
import { createLogger, type Logger } from '../../common/logger.ts';

// the program that is running this command (bin/vxflow.js), whether bundled or not
const BIN = process.argv[1];

interface DemoOptions {
  rate: string;
  tenants: string;
  seed: string;
  port: string;
  duration?: string;
  interval: string;
  version: string;
  dashboard: string | false;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the demo: embedded ClickHouse, the collector, and the exporter fed by a simulated multi-tenant ' +
        'cloud (NetFlow v9 on loopback); prints per-tenant traffic from ClickHouse until Ctrl-C',
    )
    .option('--rate <flows/s>', 'simulated flows per second', '500')
    .option('--tenants <n>', 'simulated tenants', '6')
    .option('--seed <n>', 'simulator seed', '1')
    .option('--port <n>', 'UDP port of the collector on 127.0.0.1', '2055')
    .option('--version <n>', 'export protocol between exporter and collector: 9, 10 or 5', '9')
    .option('--interval <s>', 'seconds between heartbeat lines', '10')
    .option('--duration <s>', 'stop by itself after this many seconds')
    .option(
      '--dashboard <host:port>',
      'where the dashboard listens (port 0: any free port)',
      '127.0.0.1:8080',
    )
    .option('--no-dashboard', 'run without the dashboard (the heartbeat only)')
    .addHelpText(
      'after',
      `
The first lines printed are the dashboard's URL, an admin token and a tenant token
(both made for this run, revoked when it ends) and a link that signs you in as the admin:
open it in a browser. The token leaves the address bar as soon as the page has it.
Then one heartbeat line every --interval seconds: flows stored, rate and tenants seen.`,
    )
    .action(async (opts: DemoOptions, cmd: Command) => {
      const config = configFor(cmd);
      const log = createLogger(config.logLevel, 'demo');
      await runDemo(opts, config, log, cmd);
    });
}

function num(v: string, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min)
    throw new UserError(`demo --${name}: expected a number >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

async function runDemo(
  opts: DemoOptions,
  config: ReturnType<typeof configFor>,
  log: Logger,
  cmd: Command,
): Promise<void> {
  const chConfig = config.clickhouse;
  const rate = num(opts.rate, 'rate', 1);
  const tenants = num(opts.tenants, 'tenants', 1);
  const seed = num(opts.seed, 'seed', 0);
  const port = num(opts.port, 'port', 1);
  const interval = num(opts.interval, 'interval', 1);
  const duration = opts.duration !== undefined ? num(opts.duration, 'duration', 1) : 0;
  if (!['5', '9', '10'].includes(opts.version)) throw new UserError('demo --version: expected 5, 9 or 10');
  if (opts.dashboard !== false) {
    try {
      parseListen(opts.dashboard);
    } catch (err) {
      throw new UserError(`demo --dashboard: ${(err as Error).message.replace(/^dashboard\.listen: /, '')}`);
    }
  }

  const ch = await connectClickHouse(chConfig, { log: (m) => log.info(m) });
  const children: ChildProcess[] = [];
  let dashboard: Dashboard | null = null;
  const demoTokens: string[] = [];
  let stopping = false;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  let started = Date.now();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log.info(`ClickHouse ${ch.version} at ${ch.url}`);
    await migrateAuto(ch, { log: (m) => log.info(m) });

    const dir = resolve('.vxflow/demo');
    mkdirSync(dir, { recursive: true });
    const inventory = join(dir, 'inventory.yaml');
    const cloud = buildCloud({ seed, tenants });
    await writeInventory(inventory, cloud);
    log.info(
      `simulated cloud: ${cloud.tenants.length} tenants (${cloud.tenants.map((t) => t.name).join(', ')}), inventory in ${inventory}`,
    );

    if (opts.dashboard !== false) {
      try {
        dashboard = await createDashboard(
          {
            dashboard: { ...config.dashboard, listen: opts.dashboard },
            clickhouse: { ...chConfig, url: ch.url, database: ch.database },
          },
          { log: log.child({ name: 'dashboard' }, { level: 'warn' }) },
        );
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
          throw new UserError(
            `demo: the dashboard cannot listen on ${opts.dashboard}: ${code}`,
            'pick another with --dashboard HOST:PORT (port 0 for any free one), or --no-dashboard',
          );
        throw err;
      }
      // the dashboard shows the simulated cloud's networks, subnets and VMs by name
      const checked = checkInventoryYaml(readFileSync(inventory, 'utf8'));
      if (checked.ok) {
        const doc = JSON.stringify(checked.value);
        if ((await latestInventory(ch))?.document !== doc) await saveInventory(ch, doc, 'vxflow demo');
      } else log.warn(`the simulated inventory was not saved for the dashboard: ${checked.reason}`);
      const store = createTokenStore(ch);
      const admin = await store.create({ role: 'admin', name: 'demo admin' });
      const tenant = cloud.tenants[0].name;
      const user = await store.create({ role: 'tenant', tenant, name: `demo ${tenant}` });
      demoTokens.push(admin.info.id, user.info.id);
      const url = dashboard.url.replace(/\/$/, '');
      const view = encodeURIComponent('/overview?from=now-15m&refresh=10');
      process.stdout.write(
        [
          `dashboard     ${url}`,
          `admin token   ${admin.token}`,
          `tenant token  ${user.token}   (tenant ${tenant})`,
          `sign in       ${url}/#login=${admin.token}&view=${view}`,
          '',
        ].join('\n'),
      );
    }

    const root = cmd.parent?.opts<{ config?: string }>() ?? {};
    const env = {
      ...process.env,
      CLICKHOUSE_URL: ch.url,
      VXFLOW_CLICKHOUSE_DATABASE: ch.database,
      VXFLOW_INVENTORY: inventory,
      VXFLOW_LOG_LEVEL: process.env.VXFLOW_LOG_LEVEL ?? 'warn',
    };
    const common = root.config ? ['--config', root.config] : [];
    const spawnPart = (name: string, args: string[]) => {
      const child = spawn(process.execPath, [BIN, ...common, ...args], {
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('exit', (code, signal) => {
        if (!stopping) {
          log.error(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the demo`);
          stop.abort();
        }
      });
      children.push(child);
      return child;
    };

    spawnPart('collector', ['collector', '--listen', `udp://127.0.0.1:${port}`]);
    await waitForUdpListener(port, 30_000, stop.signal);
    log.info(`collector listening on udp://127.0.0.1:${port}`);
    spawnPart('exporter', [
      'exporter',
      '--source',
      'sim',
      '--rate',
      String(rate),
      '--tenants',
      String(tenants),
      '--seed',
      String(seed),
      '--version',
      opts.version,
      '--to',
      `udp://127.0.0.1:${port}`,
    ]);
    log.info(
      `exporter sending ${rate} simulated flows/s as ${opts.version === '10' ? 'IPFIX' : `NetFlow v${opts.version}`}; ` +
        `a heartbeat every ${interval} s${duration ? `, stopping after ${duration} s` : '; Ctrl-C to stop'}`,
    );

    started = Date.now();
    while (!stop.signal.aborted) {
      const left = duration ? started + duration * 1000 - Date.now() : Number.POSITIVE_INFINITY;
      await sleep(Math.max(0, Math.min(interval * 1000, left)), stop.signal);
      if (stop.signal.aborted) break;
      await printHeartbeat(ch, started).catch((err: Error) =>
        log.warn(`heartbeat query failed: ${err.message}`),
      );
      if (duration && Date.now() - started >= duration * 1000) break;
    }
  } finally {
    stopping = true;
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    // exporter first (it flushes to the collector), then the collector (it flushes to ClickHouse)
    for (const child of [...children].reverse()) await terminate(child);
    if (children.length) await printSummary(ch, started).catch(() => {});
    if (dashboard) await dashboard.stop().catch((err: Error) => log.warn(`dashboard stop: ${err.message}`));
    // this run's tokens stop working with it
    if (demoTokens.length) {
      const store = createTokenStore(ch);
      for (const id of demoTokens) await store.revoke(id).catch(() => false);
    }
    await ch.close();
  }
}

async function waitForUdpListener(port: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  // "  sl: local_address rem_address …": sl is a hash slot, 5 digits wide or more
  const local = /^\s*\d+:\s+[0-9A-F]+:([0-9A-F]{4})\s/;
  const { readFile } = await import('node:fs/promises');
  while (Date.now() < deadline && !signal.aborted) {
    const table = await readFile('/proc/net/udp', 'utf8').catch(() => '');
    if (table.split('\n').some((l) => local.exec(l)?.[1] === hex)) return;
    await sleep(200, signal);
  }
  if (!signal.aborted)
    throw new UserError(`the collector did not open udp://127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });
}

/** Waits ms, or less when the signal aborts (never rejects). */
const sleep = (ms: number, signal: AbortSignal): Promise<unknown> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

function human(n: number, unit: string): string {
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${units[i]}${unit}`;
}

/** One line: flows stored since the start, their rate over the last interval, tenants and networks seen. */
let last = { at: 0, flows: 0 };
async function printHeartbeat(ch: ClickHouse, sinceMs: number): Promise<void> {
  const since = Math.floor(sinceMs / 1000);
  const [r] = await ch.query<{ flows: string; b: string; tenants: string; vnis: string; unassigned: string }>(
    `SELECT toString(count()) AS flows, toString(sum(bytes * if(sampling_rate = 0, 1, sampling_rate))) AS b,
            toString(uniqExact(tenant)) AS tenants, toString(uniqExact(vni)) AS vnis, toString(countIf(tenant = '')) AS unassigned
     FROM ${ch.database}.flows WHERE time_received >= toDateTime(${since})`,
  );
  const now = Date.now();
  const flows = Number(r?.flows ?? 0);
  const perSecond = last.at
    ? ((flows - last.flows) * 1000) / (now - last.at)
    : flows / Math.max(1, (now - sinceMs) / 1000);
  last = { at: now, flows };
  const time = new Date(now).toISOString().slice(11, 19);
  process.stdout.write(
    `${time}  ${flows.toLocaleString('en-US')} flows stored (${Math.round(perSecond)}/s), ${human(Number(r?.b ?? 0), 'B')}, ` +
      `${r?.tenants ?? 0} tenants, ${r?.vnis ?? 0} overlay networks${Number(r?.unassigned) ? `, ${r?.unassigned} unassigned` : ''}\n`,
  );
}

/** Per tenant: flows, scaled bytes and packets, networks (VNIs), east-west share, since `sinceMs`. */
async function printSummary(ch: ClickHouse, sinceMs: number): Promise<void> {
  const since = Math.floor(sinceMs / 1000);
  const rows = await ch.query<{
    tenant: string;
    flows: string;
    b: string;
    p: string;
    vnis: string;
    ew: string;
  }>(
    `SELECT tenant, toString(count()) AS flows, toString(sum(bytes * if(sampling_rate = 0, 1, sampling_rate))) AS b,
            toString(sum(packets * if(sampling_rate = 0, 1, sampling_rate))) AS p,
            toString(uniqExact(vni)) AS vnis, toString(round(100 * countIf(traffic_class = 'east-west') / count())) AS ew
     FROM ${ch.database}.flows WHERE time_received >= toDateTime(${since}) GROUP BY tenant ORDER BY tenant = '', sum(bytes) DESC`,
  );
  const seconds = Math.round((Date.now() - sinceMs) / 1000);
  const title = `totals of this run (${seconds} s)`;
  process.stdout.write(`\n${title}, from ClickHouse ${ch.database}.flows:\n`);
  if (rows.length === 0) {
    process.stdout.write('  (no flows stored yet)\n');
    return;
  }
  console.table(
    rows.map((r) => ({
      tenant: r.tenant || '(unassigned)',
      flows: Number(r.flows),
      bytes: human(Number(r.b), 'B'),
      packets: human(Number(r.p), ''),
      'overlay networks': Number(r.vnis),
      'east-west %': Number(r.ew),
    })),
  );
}
