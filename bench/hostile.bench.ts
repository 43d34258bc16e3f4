/**
 * `npm run bench -- hostile`: the collector process soaked in hostile traffic (issue 9).
 * 10 million datagrams (1 million with --quick) into a real `vxflow collector` with the
 * embedded ClickHouse: random bytes from ever-new source addresses (more than the exporter
 * table holds, so eviction runs all along), template churn from one exporter over 100
 * domains (100 000 template ids, redefined round after round), and valid NetFlow v9 flows
 * from one exporter, offered at 30 000 datagrams/s.
 *
 * Prints: the share of valid flows stored (target 100 %); the collector's RSS after
 * warm-up, at its highest and at the end (target: flat after warm-up); and the collector's
 * CPU per garbage datagram beside its CPU per valid flow, each from a phase of that traffic
 * alone (CPU from /proc/PID/stat, so the sender's work is not charged).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ClickHouse, connectClickHouse } from '../storage/src/clickhouse.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import { encoder, makeFlows } from '../test/collector/harness.ts';
import { loopbackSource, randomDatagrams, templateChurn } from '../test/collector/hostile-traffic.ts';
import { type Bench, median } from './lib.ts';
import { processCpuSeconds } from './proc-cpu.ts';

const repo = resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const VALID_DOMAIN = 9001;
/** datagrams per second offered; the collector's share of two shared cores must keep up */
const RATE = 30_000;

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function bound(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address, port: 0 }, () => r()));
  return s;
}

/** The three kinds of traffic, each an endless supply of datagrams. */
async function traffic(port: number) {
  const garbage = randomDatagrams(4096, 99);
  const churnRounds = [templateChurn(100, 1000, 0, 1), templateChurn(100, 1000, 1, 1)];
  const valid = encoder(9, VALID_DOMAIN);
  const validSocket = await bound('127.0.0.3');
  const churnSocket = await bound('127.0.0.2');
  // garbage comes from 64 sockets, each replaced by one on a new address every 100 datagrams
  const garbageSockets: Socket[] = [];
  let nextSource = 0;
  for (let i = 0; i < 64; i++) garbageSockets.push(await bound(loopbackSource(nextSource++)));
  let g = 0;
  let c = 0;
  let queue: Buffer[] = [];
  let validDatagrams = 0;
  const counts = { garbage: 0, churn: 0, valid: 0, validFlows: 0 };
  const send = (s: Socket, b: Buffer) => new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()));
  return {
    counts,
    async garbage(): Promise<void> {
      const slot = g % 64;
      counts.garbage++;
      const p = send(garbageSockets[slot], garbage[g++ % garbage.length]);
      if (g % (64 * 100) < 64) {
        await p;
        garbageSockets[slot].close();
        garbageSockets[slot] = await bound(loopbackSource(nextSource++ % 200_000));
      }
      return p;
    },
    churn(): Promise<void> {
      const round = churnRounds[Math.floor(c / churnRounds[0].length) % 2];
      counts.churn++;
      return send(churnSocket, round[c++ % round.length]);
    },
    valid(): Promise<void> {
      if (queue.length === 0) {
        const now = Date.now();
        const flows = makeFlows(3000, { vni: 9001 }, counts.validFlows);
        counts.validFlows += flows.length;
        // templates now and then, like a real exporter
        queue = [...(validDatagrams % 1000 < 100 ? valid.templates(now) : []), ...valid.encode(flows, now)];
      }
      validDatagrams++;
      counts.valid++;
      return send(validSocket, queue.shift() as Buffer);
    },
    /** sends what the valid exporter still has queued, so every flow generated is sent */
    async flushValid(): Promise<void> {
      while (queue.length > 0) {
        counts.valid++;
        await send(validSocket, queue.shift() as Buffer);
      }
    },
    close() {
      for (const s of [validSocket, churnSocket, ...garbageSockets]) s.close();
    },
  };
}

/** Offers `n` datagrams at RATE, the kind of each chosen by `kind(i)`. */
async function offer(
  n: number,
  kind: (i: number) => () => Promise<void>,
  onTick?: () => void,
): Promise<void> {
  const t0 = Date.now();
  const tick = 10;
  const perTick = (RATE * tick) / 1000;
  for (let i = 0; i < n; ) {
    const batch: Promise<void>[] = [];
    for (let k = 0; k < perTick && i < n; k++, i++) batch.push(kind(i)());
    await Promise.all(batch);
    onTick?.();
    const ahead = t0 + (i / RATE) * 1000 - Date.now();
    if (ahead > 0) await sleep(ahead);
  }
}

async function storedValid(ch: ClickHouse, database: string): Promise<number> {
  try {
    const [r] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${database}.flows WHERE observation_domain = ${VALID_DOMAIN}`,
    );
    return Number(r.n);
  } catch {
    return 0;
  }
}

/** Waits until the count stops growing (or reaches `want`). */
async function settle(ch: ClickHouse, database: string, want: number): Promise<number> {
  let got = await storedValid(ch, database);
  let stable = Date.now();
  while (got < want && Date.now() - stable < 10_000) {
    await sleep(250);
    const now = await storedValid(ch, database);
    if (now !== got) stable = Date.now();
    got = now;
  }
  return got;
}

const bench: Bench = async (ctx) => {
  const total = ctx.quick ? 1_000_000 : 10_000_000;
  const garbagePhase = ctx.quick ? 100_000 : 400_000;
  const validPhase = ctx.quick ? 10_000 : 30_000;
  const work = mkdtempSync(join(tmpdir(), 'vxflow-hostile-'));
  const server = await startEmbedded({
    dataDir: join(work, 'ch'),
    httpPort: await freePort(),
    tcpPort: await freePort(),
  });
  const database = `hostile_${process.pid}`;
  const port = await freePort();
  const metricsPort = await freePort();
  let child: ChildProcess | undefined;
  let ch: ClickHouse | undefined;
  let log = '';
  try {
    child = spawn(
      process.execPath,
      [
        join(repo, 'bin/vxflow.js'),
        'collector',
        '--listen',
        `udp://127.0.0.1:${port}`,
        '--metrics-listen',
        `127.0.0.1:${metricsPort}`,
        '--state-dir',
        join(work, 'state'),
      ],
      {
        env: {
          ...process.env,
          CLICKHOUSE_URL: server.url,
          VXFLOW_CLICKHOUSE_DATABASE: database,
          VXFLOW_CONFIG: '',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
    });
    while (!log.includes('"listening"')) {
      if (child.exitCode !== null) throw new Error(`collector exited: ${log}`);
      await sleep(100);
    }
    const pid = child.pid ?? 0;
    ch = await connectClickHouse({ url: server.url, database } as never);
    const t = await traffic(port);

    // phase 1: garbage alone → CPU per garbage datagram
    let cpu0 = processCpuSeconds(pid);
    await offer(garbagePhase, () => t.garbage);
    await sleep(2000);
    const garbageCpu = processCpuSeconds(pid) - cpu0;
    // phase 2: valid flows alone → CPU per valid flow (decode, enrich, encode, insert)
    cpu0 = processCpuSeconds(pid);
    const flowsBefore = t.counts.validFlows;
    await offer(validPhase, () => t.valid);
    await t.flushValid();
    const sentInPhase = t.counts.validFlows - flowsBefore;
    await settle(ch, database, sentInPhase);
    const validCpu = processCpuSeconds(pid) - cpu0;
    const validCpuFlows = (await storedValid(ch, database)) || 1;
    const rssWarm = rssMiB(pid);
    ctx.log(
      `warm-up done: RSS ${rssWarm.toFixed(0)} MiB; soaking with ${(total - garbagePhase - validPhase).toLocaleString()} mixed datagrams`,
    );

    // phase 3: the soak, mixed: per 50 datagrams 47 garbage, 2 valid (about 60 flows), 1 churn
    // (30 template definitions: each costs the decoder about as much as a datagram of flows)
    const rss: number[] = [];
    let lastSample = Date.now();
    const mix = (i: number) => {
      const k = i % 50;
      return k === 0 ? t.churn : k === 17 || k === 42 ? t.valid : t.garbage;
    };
    await offer(total - garbagePhase - validPhase, mix, () => {
      if (Date.now() - lastSample >= 5000) {
        lastSample = Date.now();
        rss.push(rssMiB(pid));
        if (rss.length % 6 === 0)
          ctx.log(`RSS ${rss[rss.length - 1].toFixed(0)} MiB after ${rss.length * 5} s of soak`);
      }
    });
    await t.flushValid();
    const validSent = t.counts.validFlows;
    const stored = await settle(ch, database, validSent);
    rss.push(rssMiB(pid));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const pick = (re: RegExp) => (metrics.match(re) ?? []).join(' | ');
    ctx.log(
      `datagrams: ${t.counts.garbage.toLocaleString()} garbage, ${t.counts.churn.toLocaleString()} churn, ${t.counts.valid.toLocaleString()} valid`,
    );
    ctx.log(
      pick(
        /^vxflow_collector_(dropped_total|kernel_drops|rejected_datagrams_total|exporter_evictions_total|exporter_table|templates)\S* \S+$/gm,
      ),
    );

    ctx.record({
      name: 'valid flows stored among hostile traffic',
      value: (100 * stored) / validSent,
      unit: '%',
      note: `${stored.toLocaleString()} of ${validSent.toLocaleString()}; target 100 %`,
    });
    ctx.record({ name: 'collector RSS after warm-up', value: rssWarm, unit: 'MiB' });
    ctx.record({
      name: 'collector RSS during the soak (median / highest / end)',
      value: median(rss),
      unit: 'MiB',
      samples: rss,
      note: `highest ${Math.max(...rss).toFixed(0)}, end ${rss[rss.length - 1].toFixed(0)}; target: flat after warm-up`,
    });
    ctx.record({
      name: 'collector CPU per garbage datagram',
      value: (garbageCpu / garbagePhase) * 1e6,
      unit: 'CPU µs',
    });
    ctx.record({
      name: 'collector CPU per valid flow (to ClickHouse)',
      value: (validCpu / validCpuFlows) * 1e6,
      unit: 'CPU µs',
    });
    t.close();
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await ch?.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
};

export default bench;
