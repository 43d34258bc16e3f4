/**
 * The `vxflow collector` process under hostile conditions (issue 9): SIGTERM with a deep
 * backlog and a stalled ClickHouse, a bad state directory, and bad values that must give
 * one line and a non-zero exit. Every test runs the real program (bin/vxflow.js) and kills
 * what it started in finally blocks. Each failed before the hardening: shutdown took
 * minutes, /proc/forbidden spun for ever, `--check` never exited, and the bad values
 * printed stacks (or were accepted).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import { encoder, makeFlows, startCollector, tempDir, waitFor } from './harness.ts';
import { sendFrom, templateChurn } from './hostile-traffic.ts';

const root = resolve(import.meta.dirname, '../..');
const db = useTestClickHouse();
/** collector.shutdownTimeoutMs's default, the documented bound */
const SHUTDOWN_BOUND_MS = 20_000;

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_') && k !== 'CLICKHOUSE_URL'),
  );
  return { ...env, ...extra };
}

function vxflow(args: string[], env: Record<string, string> = {}, cwd = root) {
  const r = spawnSync(process.execPath, [join(root, 'bin/vxflow.js'), ...args], {
    cwd,
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: 30_000,
    // a hung program may ignore SIGTERM (the /proc spin did): never leave one behind
    killSignal: 'SIGKILL',
  });
  return { code: r.status, err: r.stderr, out: r.stdout };
}

/** What a user sees: the `vxflow:` lines (message, then an optional hint), and no stack. */
function expectOneLine(r: { code: number | null; err: string }, ...mentions: string[]) {
  expect(r.code, r.err).not.toBe(0);
  expect(r.code, r.err).not.toBeNull(); // null: killed by the timeout
  expect(r.err).not.toMatch(/^\s+at /m);
  const lines = r.err.split('\n').filter((l) => l.startsWith('vxflow: '));
  expect(lines.length, r.err).toBeGreaterThanOrEqual(1);
  expect(lines.length, r.err).toBeLessThanOrEqual(2);
  for (const m of mentions) expect(lines[0]).toContain(m);
}

async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    s.close();
    return port;
  }
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
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
        if (stalled) return;
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

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

function spooledRows(dir: string): number {
  let rows = 0;
  for (const f of readdirSync(dir)) {
    const m = /^\d{16}-(\d+)(\.v2)?\.rowbinary$/.exec(f);
    if (m) rows += Number(m[1]);
  }
  return rows;
}

describe('collector process: shutdown', () => {
  it('SIGTERM with a deep backlog and a stalled ClickHouse exits within the bound, every decoded flow stored or spooled', async () => {
    const dir = tempDir('hostile-stop');
    const real = testClickHouseConfig(db().database);
    const relay = stallingRelay(new URL(real.url));
    const relayPort = await relay.listen();
    const port = await freePort('udp');
    let child: ChildProcess | undefined;
    let stderr = '';
    try {
      child = spawn(
        process.execPath,
        [
          join(root, 'bin/vxflow.js'),
          'collector',
          '--listen',
          `udp://127.0.0.1:${port}`,
          '--metrics-listen',
          '',
          '--state-dir',
          dir.path,
          '--workers',
          '1',
        ],
        {
          cwd: dir.path,
          env: cleanEnv({
            CLICKHOUSE_URL: `http://127.0.0.1:${relayPort}`,
            VXFLOW_CLICKHOUSE_DATABASE: db().database,
          }),
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      await waitFor(
        'the collector listening',
        () => stderr,
        (s) => s.includes('"listening"'),
        30_000,
      );

      // a backlog: 100 000 template definitions over 100 domains, and 20 000 valid flows
      const victim = encoder(9, 7100);
      const now = Date.now();
      const valid = [...victim.templates(now), ...victim.encode(makeFlows(20_000, { vni: 7100 }), now)];
      await Promise.all([
        sendFrom('127.0.0.2', port, templateChurn(100, 1000)),
        sendFrom('127.0.0.3', port, valid, 50),
      ]);
      relay.stall();
      const t0 = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited(child),
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000)),
      ]);
      const tookMs = Date.now() - t0;
      expect(code, stderr.slice(-2000)).toBe(0);
      expect(tookMs).toBeLessThanOrEqual(SHUTDOWN_BOUND_MS + 2000);

      const log = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; records?: number });
      expect(log.some((l) => l.msg === 'signal received')).toBe(true);
      const records = log.find((l) => l.msg === 'stopped')?.records ?? -1;
      expect(records).toBe(20_000);
      const [row] = await db().query<{ n: string }>(
        `SELECT count() AS n FROM ${db().database}.flows WHERE observation_domain = 7100`,
      );
      const storedRows = Number(row.n);
      const spooled = spooledRows(join(dir.path, 'spool'));
      expect(spooled).toBeGreaterThan(0); // the stalled ClickHouse held some back: they were spooled
      expect(storedRows + spooled).toBeGreaterThanOrEqual(records);

      // and the spool goes in once ClickHouse answers again: each flow exactly once
      await relay.close();
      const next = await startCollector({ stateDir: dir.path, clickhouse: real });
      try {
        const n = await waitFor(
          'the spool replayed',
          async () =>
            Number(
              (
                await db().query<{ n: string }>(
                  `SELECT count() AS n FROM ${db().database}.flows WHERE observation_domain = 7100`,
                )
              )[0].n,
            ),
          (x) => x >= 20_000 && spooledRows(join(dir.path, 'spool')) === 0,
          60_000,
        );
        expect(n).toBe(20_000);
      } finally {
        await next.stop();
      }
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await relay.close();
      dir.remove();
    }
  }, 180_000);
});

describe('collector process: bad input gives one line', () => {
  const base = (dir: string) => [
    'collector',
    '--no-clickhouse',
    '--output',
    'jsonl:/dev/null',
    '--listen',
    'udp://127.0.0.1:0',
    '--state-dir',
    dir,
  ];

  it('a state directory that cannot be made fails at start naming it (it used to spin in mkdir)', () => {
    const dir = tempDir('hostile-state');
    try {
      const started = vxflow([...base('/proc/forbidden'), '--metrics-listen', ''], {}, dir.path);
      expectOneLine(started, '/proc/forbidden');
      const checked = vxflow([...base('/proc/forbidden'), '--check'], {}, dir.path);
      expectOneLine(checked, '/proc/forbidden');
    } finally {
      dir.remove();
    }
  });

  it('collector --check exits 0 on a valid configuration (it never exited)', () => {
    const dir = tempDir('hostile-check');
    try {
      const r = vxflow([...base(join(dir.path, 'state')), '--check'], {}, dir.path);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain('configuration is valid');
    } finally {
      dir.remove();
    }
  });

  it('bad listen and metrics addresses, a bad worker count', async () => {
    const dir = tempDir('hostile-cli');
    const held = createServer();
    try {
      const state = join(dir.path, 'state');
      expectOneLine(vxflow([...base(state), '--metrics-listen', 'nonsense', '--check']), 'nonsense');
      expectOneLine(vxflow([...base(state), '--metrics-listen', '127.0.0.1:99999', '--check']), '99999');
      expectOneLine(
        vxflow(['config', '--check'], { VXFLOW_COLLECTOR_METRICS_LISTEN: 'nonsense' }),
        'nonsense',
      );
      // TEST-NET-1: not an address of this host (EADDRNOTAVAIL at bind)
      const notHere = [...base(state).slice(0, 4), '--listen', 'udp://192.0.2.1:2055', '--state-dir', state];
      expectOneLine(vxflow([...notHere, '--metrics-listen', '']), '192.0.2.1');
      expectOneLine(vxflow([...notHere, '--check']), '192.0.2.1');
      const workers = vxflow([...base(state), '--workers', '-1', '--check']);
      expectOneLine(workers, '-1');
      expect(workers.err).not.toContain('is not a number');
      // the metrics port taken: the hint names --metrics-listen, not --listen
      await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
      const heldPort = (held.address() as { port: number }).port;
      const taken = vxflow([...base(state), '--metrics-listen', `127.0.0.1:${heldPort}`], {}, dir.path);
      expectOneLine(taken, `127.0.0.1:${heldPort}`);
      expect(taken.err).toContain('--metrics-listen');
    } finally {
      held.close();
      dir.remove();
    }
  });

  it('a ClickHouse URL that is not one, or where nothing answers', async () => {
    const dir = tempDir('hostile-url');
    try {
      expectOneLine(vxflow(['migrate'], { CLICKHOUSE_URL: 'notaurl' }), 'notaurl');
      expectOneLine(vxflow(['config', '--check'], { CLICKHOUSE_URL: 'notaurl' }), 'notaurl');
      // the collector refuses it at once instead of spooling for ever
      expectOneLine(
        vxflow(
          ['collector', '--listen', 'udp://127.0.0.1:0', '--metrics-listen', '', '--state-dir', dir.path],
          {
            CLICKHOUSE_URL: 'notaurl',
          },
        ),
        'notaurl',
      );
      const closed = await freePort('tcp');
      expectOneLine(vxflow(['migrate'], { CLICKHOUSE_URL: `http://127.0.0.1:${closed}` }), 'ECONNREFUSED');
    } finally {
      dir.remove();
    }
  });
});
