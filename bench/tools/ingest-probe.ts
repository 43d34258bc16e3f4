/**
 * One collector → ClickHouse trial with the numbers needed to find where time goes:
 * flows sent/stored, kernel and queue drops, CPU seconds per thread of the collector
 * (from /proc/PID/task/*\/stat, grouped by thread name) and of clickhouse-server.
 *
 *   node bin/run-ts.js bench/tools/ingest-probe.ts [v9|ipfix] [flows/s] [seconds] [workers] [--cpu-prof DIR] [--jsonl|--protobuf]
 *
 * --jsonl / --protobuf: to that file output instead of ClickHouse.
 *
 * Extra VXFLOW_COLLECTOR_* variables in the environment reach the collector (batch sizes…).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectClickHouse } from '../../storage/src/clickhouse.ts';
import { freePort, startEmbedded } from '../../storage/src/server.ts';
import { countFileRecords } from '../count-records.ts';
import { statCpuSeconds } from '../proc-cpu.ts';

const repo = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of each thread of pid, summed by thread name. */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'));
      const s = statCpuSeconds(f);
      const key = t === String(pid) ? 'main' : `${name}:${t}`;
      out.set(key, (out.get(key) ?? 0) + s);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function diff(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const r: Record<string, number> = {};
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d > 0.005) r[k] = Math.round(d * 100) / 100;
  }
  return r;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const profAt = args.indexOf('--cpu-prof');
  const profDir = profAt >= 0 ? args.splice(profAt, 2)[1] : '';
  const fileFormat = (['jsonl', 'protobuf'] as const).find((f) => args.includes(`--${f}`));
  if (fileFormat) args.splice(args.indexOf(`--${fileFormat}`), 1);
  const outFile = join(tmpdir(), `vxflow-probe-${process.pid}.${fileFormat}`);
  const [proto = 'v9', rateText = '200000', secsText = '5', workers = '0'] = args;
  const work = mkdtempSync(join(tmpdir(), `vxflow-probe-${process.pid}-`));
  const blastBin = join(work, 'blast');
  execFileSync('gcc', ['-O2', '-o', blastBin, join(repo, 'bench/tools/blast.c')]);
  const server = await startEmbedded({
    dataDir: join(work, 'ch'),
    httpPort: await freePort(),
    tcpPort: await freePort(),
  });
  const database = `probe_${process.pid}`;
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
      join(repo, 'bin/vxflow.js'),
      'collector',
      '--listen',
      `udp://127.0.0.1:${port}`,
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
      '--state-dir',
      join(work, 'state'),
      '--workers',
      workers,
      ...(fileFormat ? ['--no-clickhouse', '--output', `${fileFormat}:${outFile}`] : []),
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
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const ch = await connectClickHouse({ url: server.url, database } as never);
  try {
    while (!log.includes('listening')) {
      if (child.exitCode !== null) throw new Error(log);
      await sleep(100);
    }
    await sleep(500);
    const chPid = Number(
      execFileSync('pgrep', ['-f', `clickhouse-server.*${join(work, 'ch')}`], { encoding: 'utf8' }).split(
        '\n',
      )[0],
    );
    const cpu0 = threadCpu(child.pid ?? 0);
    const chCpu0 = threadCpu(chPid);
    const t0 = Date.now();
    const out = execFileSync(blastBin, ['127.0.0.1', String(port), proto, secsText, rateText], {
      encoding: 'utf8',
    });
    const sent = Number(out.trim().split(' ')[1]);
    const count = async () => {
      if (fileFormat) return countFileRecords(outFile, fileFormat);
      try {
        const [r] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${database}.flows`);
        return Number(r.n);
      } catch {
        return 0;
      }
    };
    let got = 0;
    let last = -1;
    let stable = Date.now();
    while (got < sent && Date.now() - stable < 2500) {
      got = await count();
      if (got !== last) {
        last = got;
        stable = Date.now();
      }
      await sleep(200);
    }
    const elapsed = (Date.now() - t0) / 1000;
    const cpu = diff(cpu0, threadCpu(child.pid ?? 0));
    const chCpu = Object.values(diff(chCpu0, threadCpu(chPid))).reduce((a, b) => a + b, 0);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const pick = (re: RegExp) => (metrics.match(re) ?? []).join(' | ');
    const parts = fileFormat
      ? []
      : await ch.query<{ n: string }>(
          `SELECT count() AS n FROM system.parts WHERE database = '${database}' AND table = 'flows'`,
        );
    const total = Object.values(cpu).reduce((a, b) => a + b, 0);
    console.log(
      JSON.stringify(
        {
          proto,
          rate: Number(rateText),
          sent,
          got,
          loss: sent - got,
          elapsedS: elapsed,
          collectorCpuS: Math.round(total * 100) / 100,
          cpuPerMillion: Math.round((total / (got / 1e6)) * 100) / 100,
          threads: cpu,
          clickhouseCpuS: Math.round(chCpu * 100) / 100,
          parts: parts[0]?.n,
          drops: pick(/^vxflow_collector_(dropped_total|kernel_drops)\S* \S+$/gm),
          inserts: pick(/^vxflow_collector_insert_seconds_(sum|count) \S+$/gm),
        },
        null,
        1,
      ),
    );
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await ch.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(outFile, { force: true });
  }
}

await main();
