/**
 * Collector ingest: the highest rate (flows/s) each receiver takes with no loss, sustained,
 * fed by bench/tools/blast.c (sendmmsg, NetFlow v9 or IPFIX, sequence numbers advancing,
 * every record a distinct flow with packets = 1), against nfcapd (nfdump, its own files) and
 * nfacctd (pmacct, print plugin) on the same input, with ClickHouse's own insert rate for
 * the collector's job (same batch size, Native flows plus the rollup rows) as the ceiling.
 *
 * Receivers (BENCH_TOOLS, comma-separated; default all):
 *   vxflow-clickhouse  our collector → ClickHouse (flows table)
 *   vxflow-jsonl       our collector → JSON-lines file, no database
 *   vxflow-protobuf    our collector → length-delimited protobuf file, no database
 *   nfcapd             nfdump's collector: every flow into its files (-B 4 MiB socket buffer)
 *   nfacctd            pmacct's print plugin keyed on src_host,dst_host,src_port,dst_port,proto,tos
 *                      (v9 and IPFIX alike): every blast flow is distinct, so every flow is a CSV row,
 *                      the same job as ours (every flow a row). The peer the targets are measured against.
 *   nfacctd-proto      reference only, searched once per run (first protocol, first repeat): the same
 *                      plugin with `aggregate: proto`, one row per protocol per second. It stores no
 *                      flows, so it is not like for like (by hand, 3 s steps: lossless at 3M flows/s,
 *                      the sender's limit, where one row per flow lost 41% at 2M). Not in --quick.
 *   ceiling            ClickHouse alone taking 200k-flow batches as the collector sends them (Native
 *                      flows + rollup staging rows; also run with vxflow-clickhouse)
 *   scaling            how the collector scales with decode workers (issue 15): our collector to the
 *                      protobuf file (no database, so only the collector's CPU counts) with 1 and with
 *                      2 workers, fed by one exporter (one blast: one address, spread over the workers
 *                      by collector.spread, default 'auto') and by four (four blasts from 127.0.0.x,
 *                      chosen so that two hash to each worker; each exporter gets a quarter of the rate,
 *                      and past spreadAboveDatagramsPerSecond 'auto' spreads them too; BENCH_SPREAD sets
 *                      collector.spread for these runs). Beside each lossless rate: the collector's CPU µs
 *                      per flow from /proc, split into the receiving (main) thread and the rest (decode
 *                      workers, GC, libuv), and what that predicts for 16 cores: the receiving thread is
 *                      one core whatever the worker count, so the rate is at most
 *                      min(1e6 / main µs per flow, 15e6 / rest µs per flow), from the CPU at each
 *                      run's best lossless step (where the receiving thread takes several datagrams per
 *                      wake-up, as at a big machine's limit). Printed beside it: the CPU in one more
 *                      trial at BENCH_SCALING_CPU_RATE (default 100,000 flows/s, which every run takes),
 *                      where each datagram pays a wake-up of its own. BENCH_SCALING_WORKERS=2 runs only
 *                      the 2-worker half. Not in --quick's default
 *                      set (BENCH_TOOLS=scaling runs it alone).
 *   pinned             the ceiling comparison with the cores split (taskset): ClickHouse on the second
 *                      core, both for a ceiling of its own and while the collector feeds it; the
 *                      collector and blast on the first. Says whether the collector limits
 *                      ClickHouse, which the shared-core ratio cannot (there the three add up).
 *   receive            the two UDP receive paths (collector.udpReceive) to the protobuf file: the
 *                      recvmmsg add-on (native/udp-batch) and Node's dgram; each one's lossless rate
 *                      and its receiving thread's CPU per flow at the best step and at
 *                      BENCH_SCALING_CPU_RATE: what the add-on buys.
 *   cpu                CPU per flow at one rate every receiver takes without loss (BENCH_CPU_RATE,
 *                      default 150,000 flows/s, under nfacctd's limit here): one trial each of
 *                      vxflow→ClickHouse (the collector's CPU and clickhouse-server's), →protobuf,
 *                      →JSON lines, nfcapd and nfacctd (its whole process group) on blast's
 *                      traffic, and the same but nfacctd on the simulator's (bench/tools/
 *                      sim-datagrams.ts: 300,000 simulated multi-tenant VXLAN flows encoded by our
 *                      encoder, replayed in a loop by blast's replay mode; nfacctd counts rows by
 *                      their packets, which only blast makes equal to flows). Per repeat, so
 *                      medians. The file comparison the issue allows where nfcapd is lossless at
 *                      the sender's limit: ours to protobuf against nfcapd, CPU per flow, at most 2x.
 *
 * One trial: start the receiver, send for BENCH_STEP_SECONDS (default 10; 3 with --quick: a
 * short step lets the collector's in-memory queues, 4 × 200k rows, and its spool, or
 * nfacctd's 64 MiB plugin pipe, absorb a rate they cannot sustain), then wait at most
 * 2 s + 20% of the step for the receiver to catch up. Lossless means exactly the records
 * sent, within that bound (no allowance; a count above what was sent means misread records):
 *   - our outputs: the rows in ClickHouse (count()) or in the file reach the number sent
 *     before the bound, else the trial is lossy ("backlog: N rows still pending after X s"
 *     when the SIGTERM flush that follows wrote them, "N never stored" when not);
 *   - nfcapd: its socket queue is empty before the bound; then SIGTERM, count with nfdump -I;
 *   - nfacctd: its socket queue is empty and its CSV has not grown for 1.2 s before the bound
 *     (it purges every second, print_refresh_time 1); then SIGINT (it ignores SIGTERM), wait
 *     until every nfacctd process (core, plugin, purge children) has exited, so the last
 *     purge is written, and sum the PACKETS column (= records: blast sends packets = 1).
 * A lossy trial also prints the kernel's drops on the receiver's socket (/proc/net/udp), the
 * collector's own drop counters (/metrics, by stage) and nfacctd's "Missing data detected".
 * Rates are what the sender achieved, not what it was asked.
 *
 * The search, per receiver: from 500k flows/s, double while lossless (up to asking 4M, above
 * what the sender reaches, 3–3.8M here: lossless there is "limit not reached", a lower
 * bound), halve while lossy, then bisect (geometric midpoints) between the highest lossless
 * and the lowest lossy rate until they are within about 10% (20% with --quick). Repeats
 * after the first start at the first repeat's result and step by its final bracket (the
 * step squares while the outcome stays the same, so a moved limit is still found): two or
 * three trials each. Repeats interleave the receivers, so a noisy minute hits all of them.
 *
 * Printed per protocol: the highest lossless flows/s (median over repeats) of each receiver;
 * ours' ratios to nfacctd (one row per flow), nfcapd and the ceiling; CPU seconds per million
 * flows (/proc/PID/stat of the collector, all threads, at each repeat's best lossless step), and
 * of clickhouse-server at the same steps (and while it took the ceiling's batches);
 * bytes on disk per stored flow (the flows table the collector filled at the first repeat's
 * best step, system.parts after OPTIMIZE FINAL).
 *
 * Runs, on the 2-core machine (a trial takes the step plus 1–6 s; a search 5–7 trials, a
 * later repeat 2–3):
 *   npm run bench -- collector            v9 and IPFIX, 3 repeats, 10 s steps: about 30 minutes
 *   npm run bench -- collector --quick    v9, 1 repeat, 3 s steps, 20% bracket: about 3 minutes
 *   BENCH_PROTOS=v9 BENCH_REPEATS=1 BENCH_TOOLS=nfacctd,vxflow-clickhouse npm run bench -- collector
 *       a subset (BENCH_TOOLS=nfacctd,nfcapd with v9 and one repeat: under 3 minutes).
 *       BENCH_STEP_SECONDS sets the step; these variables apply with --quick too.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { emptyFlow, type FlowRecord } from '../protocol/src/schema/columns.ts';
import { type ClickHouse, connectClickHouse } from '../storage/src/clickhouse.ts';
import { ROLLUP_INSERT_COLUMNS, ROLLUP_STAGING_TABLE } from '../storage/src/ddl.ts';
import { nativeOutput } from '../collector/src/output/native.ts';
import { rollupOutput } from '../collector/src/output/rollup.ts';
import { FLOW_INSERT_COLUMNS } from '../storage/src/rowbinary.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import { fileRecordCounter, sumCsvColumn } from './count-records.ts';
import { type BenchContext, median } from './lib.ts';
import { fnv1a } from '../collector/src/ingest/worker-pool.ts';
import { processCpuSeconds, statCpuSeconds } from './proc-cpu.ts';
import { writeSimDatagrams } from './tools/sim-datagrams.ts';
import { udpSocketState } from './udp-socket.ts';

const repo = resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a timeout that does not keep the process alive once the bench is done */
const timeout = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
const execFileAsync = promisify(execFile);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

type Proto = 'v9' | 'ipfix';

const TOOL_KEYS = [
  'vxflow-clickhouse',
  'vxflow-jsonl',
  'vxflow-protobuf',
  'nfcapd',
  'nfacctd',
  'nfacctd-proto',
  'ceiling',
  'scaling',
  'cpu',
  'pinned',
  'receive',
] as const;
type ToolKey = (typeof TOOL_KEYS)[number];

/** the first rate tried */
const START_RATE = 500_000;
/** asked rates stop here: blast reaches about 3M flows/s on this machine, so this asks "as fast as it can" */
const MAX_RATE = 4_000_000;
/** below this a receiver is reported as taking nothing losslessly */
const MIN_RATE = 30_000;
/** a lossless trial whose sender achieved less than this share of the asked rate hit the sender's limit */
const SENDER_LIMIT = 0.93;

interface Trial {
  asked: number;
  /** achieved flows/s: sent / step seconds */
  rate: number;
  sent: number;
  /** records stored within the bound (ours) or after the flush (peers): the verdict's count */
  got: number;
  lossless: boolean;
  /** why a trial was lossy */
  why?: string;
  cpuSeconds?: number;
  /** CPU seconds of clickhouse-server over the same window (the ClickHouse path) */
  clickhouseCpuSeconds?: number;
  /** CPU seconds of the receiving (main) thread alone, within cpuSeconds */
  mainCpuSeconds?: number;
  /** the ClickHouse database the collector filled */
  database?: string;
}

interface Ladder {
  best: Trial | undefined;
  /** the lowest lossy achieved rate, when one was seen */
  lossyAt: number | undefined;
  /** lossless at the sender's limit: the figure is a lower bound */
  capped: boolean;
  trials: Trial[];
  /** bytes on disk per stored flow of the best trial (ClickHouse, first repeat) */
  disk?: { bytesPerFlow: number; rows: number; rate: number };
}

/** A receiver under test, started for one trial. */
interface Receiver {
  port: number;
  /** process whose CPU is measured (ours) */
  pid: number;
  /** records stored so far, for outputs that can be read while the receiver runs (ours) */
  stored?: () => Promise<number> | number;
  /** for receivers counted only after they stop (peers): has it taken in everything sent? */
  idle?: () => boolean;
  /** graceful, bounded stop */
  stop: () => Promise<void>;
  /** records stored, after stop */
  count: () => Promise<number> | number;
  cleanup: () => Promise<void> | void;
  /** CPU seconds of everything the receiver runs as (default: its pid); nfacctd is a process group */
  cpu?: () => number;
  /** CPU seconds of the ClickHouse server it inserts into, if any */
  clickhouseCpu?: () => number;
  /** where the receiver itself says it dropped records (read before stop) */
  diagnose?: () => Promise<string | undefined> | string | undefined;
  database?: string;
}

interface Tool {
  key: ToolKey;
  name: string;
  start: (proto: Proto) => Promise<Receiver>;
  /** a trial whose output is no longer needed (a lossy one, a superseded best) */
  discard?: (t: Trial) => Promise<void>;
  /** the ladder is done: measure what needs its best trial's output, then discard it */
  finish?: (l: Ladder, proto: Proto, rep: number) => Promise<void>;
  /** searched once: first protocol, first repeat */
  once?: boolean;
  /** several exporters: one blast from each of these addresses, each at an equal share of the rate */
  sources?: string[];
  /** the CPUs blast runs on (taskset list), when the trial pins its processes */
  senderCpus?: string;
  /** a scaling run: exporters and workers, for the scaling figures */
  scaling?: { exporters: number; workers: number };
  /** a receive-path run: the collector reads UDP this way (collector.udpReceive) */
  receive?: 'batch' | 'dgram';
}

/** CPU seconds of a process's main thread (task id = pid: the collector's receiving thread); 0 once gone. */
function mainThreadCpuSeconds(pid: number): number {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * Loopback addresses, half routed to each of two workers by the collector's hash
 * (worker-pool.ts fnv1a), so the several-exporters case is the hash routing at its best.
 */
function balancedSources(count: number): string[] {
  const byWorker: string[][] = [[], []];
  for (let i = 2; i < 250 && byWorker[0].length + byWorker[1].length < count; i++) {
    const a = `127.0.0.${i}`;
    const w = fnv1a(a) % 2;
    if (byWorker[w].length < count / 2) byWorker[w].push(a);
  }
  return [...byWorker[0], ...byWorker[1]];
}

const udpSocket = udpSocketState;

/** CPU seconds of the live processes of a process group (nfacctd: core, plugin, purge children). */
function groupCpuSeconds(pgid: number): number {
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) < 48 || d.charCodeAt(0) > 57) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[2]) === pgid) sum += statCpuSeconds(f);
    } catch {
      // the process ended while we looked
    }
  }
  return sum;
}

/** Is any live (not zombie) process left in this process group? */
function groupAlive(pgid: number): boolean {
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) < 48 || d.charCodeAt(0) > 57) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) === pgid && rest[0] !== 'Z') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

async function blast(
  bin: string,
  port: number,
  proto: Proto,
  secs: number,
  rate: number,
  source?: string,
  replayFile?: string,
  cpus?: string,
): Promise<number> {
  const { stdout } = await execFileAsync(
    cpus ? 'taskset' : bin,
    [
      ...(cpus ? ['-c', cpus, bin] : []),
      '127.0.0.1',
      String(port),
      replayFile ? `replay:${replayFile}` : proto,
      String(secs),
      String(rate),
      ...(source ? ['1', source] : []),
    ],
    {
      encoding: 'utf8',
    },
  );
  return Number(stdout.trim().split(' ')[1]);
}

async function waitFor(cond: () => boolean, maxMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/**
 * What a page fault costs here: touching each page of fresh zeroed memory (a large
 * allocation is a new mapping), median of 5. On a VM whose host backs memory lazily this is
 * tens of times its usual cost, and every allocation-heavy process slows with it.
 */
function pageFaultMicroseconds(): number {
  const bytes = 64 << 20;
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const b = new Uint8Array(bytes);
    for (let o = 0; o < bytes; o += 4096) b[o] = 1;
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / (bytes / 4096));
  }
  return median(samples);
}

const ALL_CPUS = `0-${cpus().length - 1}`;

/** Pins every thread of a process to `cpus` (a taskset list); threads it starts later inherit it. */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** Signals a child and waits (bounded) for it to exit; SIGKILL after that. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals, maxMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await Promise.race([exited, timeout(maxMs)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    return false;
  }
  return true;
}

/** Waits for a receiver's UDP socket to be bound (then a settle pause). */
async function waitBound(port: number, what: string, child: ChildProcess, logPath?: string): Promise<void> {
  const ok = await waitFor(() => udpSocket(port).bound || child.exitCode !== null, 30_000);
  if (!ok || child.exitCode !== null) {
    let log = '';
    try {
      if (logPath) log = readFileSync(logPath, 'utf8').slice(-2000);
    } catch {}
    throw new Error(`${what} did not start listening on udp ${port}\n${log}`);
  }
  await sleep(300);
}

export default async function bench(ctx: BenchContext): Promise<void> {
  const began = Date.now();
  const work = mkdtempSync(join(tmpdir(), `vxflow-bench-collector-${process.pid}-`));
  const chDir = join(work, 'ch');
  /** children we started: [process, whether it leads its own process group] */
  const children: [ChildProcess, boolean][] = [];
  let server: Awaited<ReturnType<typeof startEmbedded>> | undefined;

  const env = process.env;
  const list = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const step = Number(env.BENCH_STEP_SECONDS ?? (ctx.quick ? 3 : 10));
  if (!(step > 0)) throw new Error(`BENCH_STEP_SECONDS must be a positive number of seconds, not ${step}`);
  const graceMs = 2000 + 0.2 * step * 1000;
  const tolerance = ctx.quick ? 1.2 : 1.1;
  const protos = list(env.BENCH_PROTOS ?? (ctx.quick ? 'v9' : 'v9,ipfix')) as Proto[];
  for (const p of protos) if (p !== 'v9' && p !== 'ipfix') throw new Error(`BENCH_PROTOS: unknown ${p}`);
  const repeats = Math.max(1, Number(env.BENCH_REPEATS ?? (ctx.quick ? 1 : 3)));
  const wanted = new Set(
    env.BENCH_TOOLS
      ? list(env.BENCH_TOOLS)
      : TOOL_KEYS.filter((k) => !(ctx.quick && (k === 'nfacctd-proto' || k === 'scaling'))),
  );
  for (const k of wanted)
    if (!TOOL_KEYS.includes(k as ToolKey))
      throw new Error(`BENCH_TOOLS: unknown ${k} (known: ${TOOL_KEYS.join(', ')})`);
  ctx.log(
    `${protos.join(' + ')}, ${repeats} repeat(s), ${step} s steps, backlog bound ${(graceMs / 1000).toFixed(1)} s, bracket ${Math.round((tolerance - 1) * 100)}%; receivers: ${[...wanted].join(', ')}`,
  );

  const faultUs = pageFaultMicroseconds();
  ctx.log(
    `this machine: a fresh 4 KiB page costs ${faultUs.toFixed(2)} µs to touch (commonly 0.1–0.3; every receiver here, peers too, pays it on each new page)`,
  );
  ctx.record({
    name: 'machine: first touch of a fresh 4 KiB page',
    value: faultUs,
    unit: 'µs',
    note: 'median of 5',
  });
  try {
    const blastBin = join(work, 'blast');
    execFileSync('gcc', ['-O2', '-o', blastBin, join(repo, 'bench/tools/blast.c')]);
    const needsClickHouse =
      wanted.has('vxflow-clickhouse') || wanted.has('ceiling') || wanted.has('cpu') || wanted.has('pinned');
    if (needsClickHouse)
      server = await startEmbedded({ dataDir: chDir, httpPort: await freePort(), tcpPort: await freePort() });
    const chUrl = server?.url ?? '';
    /** the embedded server's pid, from the pid file startEmbedded writes */
    const clickhousePid = () =>
      (JSON.parse(readFileSync(join(chDir, 'vxflow-server.json'), 'utf8')) as { pid: number }).pid;
    let run = 0;

    // ---- the ceiling first, on an idle machine: ClickHouse taking the collector's inserts with no collector
    const ceiling =
      wanted.has('vxflow-clickhouse') || wanted.has('ceiling')
        ? await measureCeiling(ctx, chUrl, () => processCpuSeconds(clickhousePid()))
        : 0;

    const startCollector = async (extra: string[], childEnv: Record<string, string>) => {
      run++;
      const port = await freePort();
      const metricsPort = await freePort();
      const stateDir = join(work, `state-${run}`);
      const logPath = join(work, `collector-${run}.log`);
      // the log goes to a file, not a pipe: a pipe nobody reads while blast runs would block the collector
      const fd = openSync(logPath, 'w');
      const child = spawn(
        process.execPath,
        [
          join(repo, 'bin/vxflow.js'),
          'collector',
          '--listen',
          `udp://127.0.0.1:${port}`,
          '--metrics-listen',
          `127.0.0.1:${metricsPort}`,
          '--state-dir',
          stateDir,
          ...extra,
        ],
        { env: { ...process.env, ...childEnv, VXFLOW_CONFIG: '' }, stdio: ['ignore', 'ignore', fd] },
      );
      closeSync(fd);
      children.push([child, false]);
      const log = () => {
        try {
          return readFileSync(logPath, 'utf8');
        } catch {
          return '';
        }
      };
      const up = await waitFor(() => log().includes('"listening"') || child.exitCode !== null, 60_000);
      if (!up || child.exitCode !== null) throw new Error(`collector did not start:\n${log().slice(-3000)}`);
      await sleep(300);
      return {
        child,
        port,
        /** the collector's own drop counters (vxflow_collector_dropped_total by stage) */
        diagnose: async () => {
          try {
            const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
            const drops = [...text.matchAll(/^vxflow_collector_dropped_total\{stage="([^"]+)"\} (\S+)$/gm)]
              .filter((m) => Number(m[2]) > 0)
              .map((m) => `${m[1]} ${fmt(Number(m[2]))} ${m[1] === 'decode' ? 'datagrams' : 'flows'}`);
            return drops.length ? `collector dropped: ${drops.join(', ')}` : undefined;
          } catch {
            return undefined;
          }
        },
        stop: () => stopChild(child, 'SIGTERM', 10_000),
        cleanup: () => {
          if (child.exitCode === null) child.kill('SIGKILL');
          rmSync(stateDir, { recursive: true, force: true });
          rmSync(logPath, { force: true });
        },
      };
    };

    const dropDatabase = async (database: string | undefined) => {
      if (!database) return;
      const ch = await connectClickHouse({ url: chUrl, database } as never);
      try {
        await ch.command(`DROP DATABASE IF EXISTS ${database}`);
      } finally {
        await ch.close();
      }
    };

    const countRows = async (ch: ClickHouse, database: string) => {
      try {
        const [r] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${database}.flows`);
        return Number(r.n);
      } catch {
        return 0;
      }
    };

    const vxflowClickHouse: Tool = {
      key: 'vxflow-clickhouse',
      name: 'vxflow→ClickHouse',
      start: async () => {
        const database = `bench_${process.pid}_${run + 1}`;
        const c = await startCollector([], { CLICKHOUSE_URL: chUrl, VXFLOW_CLICKHOUSE_DATABASE: database });
        const ch = await connectClickHouse({ url: chUrl, database } as never);
        return {
          port: c.port,
          pid: c.child.pid ?? 0,
          database,
          diagnose: c.diagnose,
          clickhouseCpu: () => processCpuSeconds(clickhousePid()),
          stored: () => countRows(ch, database),
          stop: async () => {
            await c.stop();
          },
          count: () => countRows(ch, database),
          cleanup: async () => {
            c.cleanup();
            await ch.close();
          },
        };
      },
      discard: (t) => dropDatabase(t.database),
      finish: async (l, _proto, rep) => {
        const db = l.best?.database;
        if (!db) return;
        if (rep === 0 && l.best) {
          const ch = await connectClickHouse({ url: chUrl, database: db } as never);
          try {
            await ch.command(`OPTIMIZE TABLE ${db}.flows FINAL`);
            const [p] = await ch.query<{ bytes: string; rows: string }>(
              `SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts WHERE database = '${db}' AND table = 'flows' AND active`,
            );
            l.disk = {
              bytesPerFlow: Number(p.bytes) / Math.max(1, Number(p.rows)),
              rows: Number(p.rows),
              rate: l.best.rate,
            };
          } finally {
            await ch.close();
          }
        }
        await dropDatabase(db);
      },
    };

    /** Our collector writing one file (no database), counted as it grows; extra flags and environment. */
    const fileReceiver = async (
      format: 'jsonl' | 'protobuf',
      extra: string[] = [],
      childEnv: Record<string, string> = {},
    ): Promise<Receiver> => {
      const out = join(work, `out-${run + 1}.${format}`);
      const c = await startCollector(['--no-clickhouse', '--output', `${format}:${out}`, ...extra], childEnv);
      const counter = fileRecordCounter(out, format);
      return {
        port: c.port,
        pid: c.child.pid ?? 0,
        diagnose: c.diagnose,
        stored: counter,
        stop: async () => {
          await c.stop();
        },
        count: counter,
        cleanup: () => {
          c.cleanup();
          rmSync(out, { force: true });
        },
      };
    };
    const vxflowFile = (format: 'jsonl' | 'protobuf'): Tool => ({
      key: format === 'jsonl' ? 'vxflow-jsonl' : 'vxflow-protobuf',
      name: `vxflow→${format}`,
      start: () => fileReceiver(format),
    });

    const nfcapd: Tool = {
      key: 'nfcapd',
      name: 'nfcapd',
      start: async () => {
        run++;
        const dir = join(work, `nfcapd-${run}`);
        mkdirSync(dir, { recursive: true });
        const port = await freePort();
        const child = spawn(
          'nfcapd',
          ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', '4194304', '-t', '3600'],
          { stdio: 'ignore' },
        );
        children.push([child, false]);
        await waitBound(port, 'nfcapd', child);
        // idle: its socket queue stayed empty for two looks 200 ms apart (it reads and stores in one loop)
        let emptySince = 0;
        return {
          port,
          pid: child.pid ?? 0,
          idle: () => {
            if (udpSocket(port).rxQueue > 0) emptySince = 0;
            else if (!emptySince) emptySince = Date.now();
            return emptySince > 0 && Date.now() - emptySince >= 200;
          },
          stop: async () => {
            await stopChild(child, 'SIGTERM', 20_000);
          },
          count: () => {
            try {
              const stat = execFileSync('nfdump', ['-R', dir, '-I'], { encoding: 'utf8' });
              return Number(/^Flows:\s*(\d+)/m.exec(stat)?.[1] ?? 0);
            } catch {
              return 0;
            }
          },
          cleanup: () => {
            if (child.exitCode === null) child.kill('SIGKILL');
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    };

    // nfacctd: print plugin appending CSV; the sum of PACKETS = records (blast: packets = 1 each)
    const nfacctd = (key: 'nfacctd' | 'nfacctd-proto', aggregate: string): Tool => ({
      key,
      name: key === 'nfacctd' ? 'nfacctd (row per flow)' : 'nfacctd (aggregate proto)',
      once: key === 'nfacctd-proto',
      start: async () => {
        run++;
        const port = await freePort();
        const out = join(work, `nfacctd-${run}.csv`);
        const conf = join(work, `nfacctd-${run}.conf`);
        const logPath = join(work, `nfacctd-${run}.log`);
        writeFileSync(
          conf,
          [
            'daemonize: false',
            `nfacctd_port: ${port}`,
            'nfacctd_ip: 127.0.0.1',
            'nfacctd_pipe_size: 4194304',
            'plugins: print[p]',
            `aggregate[p]: ${aggregate}`,
            'print_output[p]: csv',
            `print_output_file[p]: ${out}`,
            'print_output_file_append[p]: true',
            'print_refresh_time[p]: 1',
            'plugin_pipe_size[p]: 67108864',
            'plugin_buffer_size[p]: 65536',
            '',
          ].join('\n'),
        );
        const fd = openSync(logPath, 'w');
        // its own process group: the plugin and its purge children are waited for as one
        const child = spawn('nfacctd', ['-f', conf], { stdio: ['ignore', 'ignore', fd], detached: true });
        closeSync(fd);
        children.push([child, true]);
        const pgid = child.pid ?? 0;
        await waitBound(port, 'nfacctd', child, logPath);
        // idle: socket queue empty and the CSV unchanged for 1.2 s (it purges every second while it has data)
        let lastSize = -1;
        let sameSince = 0;
        return {
          port,
          pid: pgid,
          cpu: () => groupCpuSeconds(pgid),
          idle: () => {
            let size = 0;
            try {
              size = statSync(out).size;
            } catch {}
            if (size !== lastSize || udpSocket(port).rxQueue > 0) {
              lastSize = size;
              sameSince = Date.now();
              return false;
            }
            return Date.now() - sameSince >= 1200;
          },
          stop: async () => {
            // SIGINT (SIGTERM is ignored): the core tells the plugin, which purges its cache and exits
            if (child.exitCode === null) child.kill('SIGINT');
            const gone = await waitFor(() => !groupAlive(pgid), 20_000);
            if (!gone)
              try {
                process.kill(-pgid, 'SIGKILL');
              } catch {}
          },
          diagnose: () => {
            try {
              if (readFileSync(logPath, 'utf8').includes('Missing data detected'))
                return 'its plugin pipe overflowed (nfacctd: "Missing data detected")';
            } catch {}
            return undefined;
          },
          count: () => sumCsvColumn(out, 'PACKETS'),
          cleanup: () => {
            if (groupAlive(pgid))
              try {
                process.kill(-pgid, 'SIGKILL');
              } catch {}
            for (const f of [out, conf, logPath]) rmSync(f, { force: true });
          },
        };
      },
    });

    const allTools: Tool[] = [
      vxflowClickHouse,
      vxflowFile('jsonl'),
      vxflowFile('protobuf'),
      nfcapd,
      nfacctd('nfacctd', 'src_host,dst_host,src_port,dst_port,proto,tos'),
      nfacctd('nfacctd-proto', 'proto'),
    ];
    // the scaling runs: 1 and 2 workers, one exporter and four, to the protobuf file
    const spreadMode = env.BENCH_SPREAD ?? 'auto';
    const scalingCpuRate = Number(env.BENCH_SCALING_CPU_RATE ?? 100_000);
    if (!(scalingCpuRate >= MIN_RATE))
      throw new Error(`BENCH_SCALING_CPU_RATE must be a rate of at least ${MIN_RATE} flows/s`);
    if (!['auto', 'always', 'off'].includes(spreadMode))
      throw new Error(`BENCH_SPREAD: ${spreadMode} is not auto, always or off`);
    const scalingWorkers = list(env.BENCH_SCALING_WORKERS ?? '1,2').map(Number);
    for (const exporters of [1, 4])
      for (const workers of scalingWorkers) {
        const sources = exporters > 1 ? balancedSources(exporters) : undefined;
        allTools.push({
          key: 'scaling',
          name: `scaling ${exporters === 1 ? 'one exporter' : `${exporters} exporters`}, ${workers} worker${workers > 1 ? 's' : ''}`,
          sources,
          scaling: { exporters, workers },
          start: () =>
            fileReceiver('protobuf', ['--workers', String(workers)], { VXFLOW_COLLECTOR_SPREAD: spreadMode }),
        });
      }
    // ClickHouse on the second core, the collector and blast on the first: the same CPU for
    // ClickHouse as in the pinned ceiling, so the ratio says whether the collector limits it
    const vxflowPinned: Tool = {
      ...vxflowClickHouse,
      key: 'pinned',
      name: 'vxflow→ClickHouse pinned',
      senderCpus: '0',
      start: async (proto) => {
        pin(clickhousePid(), '1');
        const r = await vxflowClickHouse.start(proto);
        pin(r.pid, '0');
        return {
          ...r,
          cleanup: async () => {
            await r.cleanup();
            pin(clickhousePid(), ALL_CPUS);
          },
        };
      },
    };
    allTools.push(vxflowPinned);
    /** The ceiling with ClickHouse on the second core and this process (the loader) on the first. */
    const pinnedCeiling = async (): Promise<number> => {
      pin(clickhousePid(), '1');
      pin(process.pid, '0');
      try {
        return await measureCeiling(
          ctx,
          chUrl,
          () => processCpuSeconds(clickhousePid()),
          ' (ClickHouse on one core)',
        );
      } finally {
        pin(process.pid, ALL_CPUS);
        pin(clickhousePid(), ALL_CPUS);
      }
    };
    // the two UDP receive paths, same output (the protobuf file): what the recvmmsg add-on buys
    for (const receive of ['dgram', 'batch'] as const)
      allTools.push({
        key: 'receive',
        name: `receive ${receive}`,
        receive,
        start: () => fileReceiver('protobuf', [], { VXFLOW_COLLECTOR_UDP_RECEIVE: receive }),
      });
    const tools = allTools.filter((t) => wanted.has(t.key));

    // ---- CPU per flow at one rate every receiver takes without loss, blast's and the simulator's traffic
    const cpuRate = Number(env.BENCH_CPU_RATE ?? 150_000);
    if (!(cpuRate >= MIN_RATE))
      throw new Error(`BENCH_CPU_RATE must be a rate of at least ${MIN_RATE} flows/s`);
    const simFiles = new Map<Proto, string>();
    const simFile = (proto: Proto): string => {
      let path = simFiles.get(proto);
      if (!path) {
        path = join(work, `sim-${proto}.dgrams`);
        const f = writeSimDatagrams(path, proto === 'v9' ? 9 : 10, SIM_FLOWS, cpuRate);
        ctx.log(
          `simulator traffic, ${proto}: ${fmt(f.flows)} flows in ${fmt(f.datagrams)} datagrams (${(f.flows / f.datagrams).toFixed(1)} flows, ${Math.round(f.bytes / f.datagrams)} bytes each), replayed in a loop`,
        );
        simFiles.set(proto, path);
      }
      return path;
    };
    const commonRate = async (proto: Proto): Promise<CommonRateRun[]> => {
      const runs: CommonRateRun[] = [];
      for (let rep = 0; rep < repeats; rep++)
        for (const traffic of ['blast', 'simulator'] as const)
          for (const key of COMMON_RATE_TOOLS) {
            // nfacctd's rows are counted by their packets, which only blast's traffic makes equal to flows
            if (traffic === 'simulator' && key === 'nfacctd') continue;
            const tool = allTools.find((t) => t.key === key) as Tool;
            const t = await runTrial(
              tool,
              proto,
              cpuRate,
              traffic === 'simulator' ? simFile(proto) : undefined,
            );
            await tool.discard?.(t);
            const per = (sec: number | undefined) => ((sec ?? 0) / (t.got / 1e6)).toFixed(2);
            ctx.log(
              `${tool.name} ${proto} ${traffic} #${rep + 1} @ ${fmt(t.rate)} flows/s: ${t.lossless ? `${per(t.cpuSeconds)} CPU s / 1M flows${t.clickhouseCpuSeconds !== undefined ? `, ClickHouse ${per(t.clickhouseCpuSeconds)}` : ''}` : `lossy (${t.why}): not used`}`,
            );
            let entry = runs.find((r) => r.key === key && r.traffic === traffic);
            if (!entry) {
              entry = { key, name: tool.name, traffic, trials: [] };
              runs.push(entry);
            }
            if (t.lossless) entry.trials.push(t);
          }
      return runs;
    };

    /** One trial at `asked` flows/s: blast's traffic, or the datagrams of replayFile (sim-datagrams.ts). */
    const runTrial = async (tool: Tool, proto: Proto, asked: number, replayFile?: string): Promise<Trial> => {
      const r = await tool.start(proto);
      try {
        const cpuOf = r.cpu ?? (() => processCpuSeconds(r.pid));
        const cpu0 = cpuOf();
        const ch0 = r.clickhouseCpu?.() ?? 0;
        const main0 = mainThreadCpuSeconds(r.pid);
        const sources = tool.sources ?? [undefined];
        const sent = (
          await Promise.all(
            sources.map((src) =>
              blast(blastBin, r.port, proto, step, asked / sources.length, src, replayFile, tool.senderCpus),
            ),
          )
        ).reduce((a, b) => a + b, 0);
        const t0 = Date.now();
        let inTime = 0;
        let settled = false;
        for (;;) {
          if (r.stored) {
            inTime = await r.stored();
            if (inTime >= sent) break;
          } else if (r.idle?.()) {
            settled = true;
            break;
          }
          if (Date.now() - t0 >= graceMs) break;
          await sleep(250);
        }
        const waited = (Date.now() - t0) / 1000;
        const cpuSeconds = cpuOf() - cpu0;
        const clickhouseCpuSeconds = r.clickhouseCpu ? r.clickhouseCpu() - ch0 : undefined;
        const mainCpuSeconds = mainThreadCpuSeconds(r.pid) - main0;
        const sock = udpSocket(r.port);
        const own = await r.diagnose?.();
        await r.stop();
        const after = await r.count();
        const got = r.stored ? inTime : after;
        const why: string[] = [];
        if (r.stored && after > inTime)
          why.push(
            `backlog: ${fmt(after - inTime)} rows still pending after ${waited.toFixed(1)} s (written by the SIGTERM flush)`,
          );
        if (after < sent) why.push(`${fmt(sent - after)} never stored`);
        if (!r.stored && !settled)
          why.push(
            `backlog: still busy after ${waited.toFixed(1)} s${sock.rxQueue ? ` (${fmt(sock.rxQueue)} bytes in its socket queue)` : ''}`,
          );
        if (got > sent) why.push(`${fmt(got - sent)} more records than sent: misread`);
        if (sock.drops > 0) why.push(`kernel dropped ${fmt(sock.drops)} datagrams at its socket`);
        if (own) why.push(own);
        const lossless = got === sent && (r.stored ? true : settled);
        return {
          asked,
          rate: sent / step,
          sent,
          got,
          lossless,
          why: lossless ? undefined : why.join('; ') || 'records missing',
          cpuSeconds,
          clickhouseCpuSeconds,
          mainCpuSeconds: r.stored ? mainCpuSeconds : undefined,
          database: r.database,
        };
      } finally {
        await r.cleanup();
      }
    };

    /**
     * Galloping search: up by `factor` while lossless, down while lossy (the factor squares,
     * up to 2, while the outcome stays the same), then bisect until the highest lossless and
     * the lowest lossy rate are within `tolerance`.
     */
    const search = async (
      label: string,
      tool: Tool,
      proto: Proto,
      rep: number,
      start: number,
      factor: number,
    ): Promise<Ladder> => {
      const t0 = Date.now();
      const trials: Trial[] = [];
      let best: Trial | undefined;
      let lossyAt: number | undefined;
      let capped = false;
      const attempt = async (asked: number) => {
        const t = await runTrial(tool, proto, Math.round(asked));
        trials.push(t);
        const loss = t.sent - t.got;
        ctx.log(
          `${label} @ ${fmt(t.asked)} flows/s (achieved ${fmt(t.rate)}): sent ${t.sent}, got ${t.got}, loss ${loss} (${((100 * loss) / Math.max(1, t.sent)).toFixed(3)}%)${t.why ? ` — lossy: ${t.why}` : ''}`,
        );
        if (t.lossless) {
          if (!best || t.rate >= best.rate) {
            if (best) await tool.discard?.(best);
            best = t;
          } else await tool.discard?.(t);
          if (t.rate < SENDER_LIMIT * t.asked || t.asked >= MAX_RATE) capped = true;
        } else {
          lossyAt = lossyAt === undefined ? t.rate : Math.min(lossyAt, t.rate);
          await tool.discard?.(t);
        }
        return t;
      };
      let f = Math.max(tolerance, factor);
      const first = await attempt(Math.min(MAX_RATE, Math.max(MIN_RATE, start)));
      if (first.lossless)
        for (let t = first; t.lossless && !capped; f = Math.min(2, f * f))
          t = await attempt(Math.min(MAX_RATE, t.asked * f));
      else
        for (let asked = first.asked / f; asked >= MIN_RATE; ) {
          if ((await attempt(asked)).lossless) break;
          f = Math.min(2, f * f);
          asked /= f;
        }
      for (;;) {
        const lo: Trial | undefined = best;
        // 2% slack: achieved rates run about 1% under the asked ones, which would cost one more trial
        if (!lo || lossyAt === undefined || capped || lossyAt / lo.rate <= tolerance * 1.02) break;
        await attempt(Math.sqrt(lo.rate * lossyAt));
      }
      const ladder: Ladder = { best, lossyAt, capped, trials };
      await tool.finish?.(ladder, proto, rep);
      ctx.log(
        `${label}: highest lossless ${best ? fmt(best.rate) : 'none'} flows/s${capped ? ' (the sender’s limit: lower bound)' : lossyAt ? `, lossy at ${fmt(lossyAt)}` : ''} — ${trials.length} trials, ${Math.round((Date.now() - t0) / 1000)} s`,
      );
      return ladder;
    };

    const onOneCore = wanted.has('pinned') ? await pinnedCeiling() : 0;
    for (const proto of protos) {
      const results = new Map<ToolKey, Ladder[]>();
      /** the scaling runs' ladders, by tool name (they share one key) */
      const scaling = new Map<string, { tool: Tool; ladders: Ladder[]; atFixed: Trial[] }>();
      for (let rep = 0; rep < repeats; rep++)
        for (const tool of tools) {
          if (tool.once && (rep > 0 || proto !== protos[0])) continue;
          if (tool.scaling || tool.receive) {
            const entry = scaling.get(tool.name) ?? { tool, ladders: [], atFixed: [] };
            const prev = entry.ladders[0];
            const start = !prev ? START_RATE : prev.capped ? MAX_RATE : (prev.best?.asked ?? MIN_RATE * 2);
            const factor =
              prev?.best && prev.lossyAt
                ? Math.min(2, Math.max(tolerance, prev.lossyAt / prev.best.rate))
                : 2;
            entry.ladders.push(
              await search(`${tool.name} ${proto} #${rep + 1}`, tool, proto, rep, start, factor),
            );
            // CPU per flow at one rate every run takes: near a run's limit the threads queue for
            // the 2 cores and the figure grows with the contention, not with the work
            const fixed = await runTrial(tool, proto, scalingCpuRate);
            const perFlow = (sec: number | undefined) =>
              (((sec ?? 0) * 1e6) / Math.max(1, fixed.got)).toFixed(2);
            ctx.log(
              `${tool.name} ${proto} #${rep + 1} @ ${fmt(fixed.rate)} flows/s for CPU: ${fixed.lossless ? `${perFlow(fixed.cpuSeconds)} µs/flow, receiving thread ${perFlow(fixed.mainCpuSeconds)}` : `lossy (${fixed.why}): not used`}`,
            );
            if (fixed.lossless) entry.atFixed.push(fixed);
            scaling.set(tool.name, entry);
            continue;
          }
          const prev = results.get(tool.key)?.[0];
          // later repeats start from the first repeat's result and step by its final bracket
          const start = !prev ? START_RATE : prev.capped ? MAX_RATE : (prev.best?.asked ?? MIN_RATE * 2);
          const factor =
            prev?.best && prev.lossyAt ? Math.min(2, Math.max(tolerance, prev.lossyAt / prev.best.rate)) : 2;
          const l = await search(`${tool.name} ${proto} #${rep + 1}`, tool, proto, rep, start, factor);
          results.set(tool.key, [...(results.get(tool.key) ?? []), l]);
        }
      record(ctx, proto, results, ceiling, wanted);
      recordPinned(ctx, proto, results.get('pinned'), onOneCore);
      recordScaling(
        ctx,
        proto,
        [...scaling.values()].filter((x) => x.tool.scaling),
        spreadMode,
        scalingCpuRate,
      );
      recordReceive(
        ctx,
        proto,
        [...scaling.values()].filter((x) => x.tool.receive),
        scalingCpuRate,
      );
      if (wanted.has('cpu')) recordCommonRate(ctx, proto, cpuRate, await commonRate(proto));
    }
    ctx.log(`collector bench: ${((Date.now() - began) / 60_000).toFixed(1)} minutes`);
  } finally {
    for (const [c, group] of children)
      try {
        if (group && c.pid && groupAlive(c.pid)) process.kill(-c.pid, 'SIGKILL');
        else if (c.exitCode === null) c.kill('SIGKILL');
      } catch {}
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
    for (const f of readdirSync(tmpdir()))
      if (f.startsWith(`vxflow-bench-collector-${process.pid}-`))
        rmSync(join(tmpdir(), f), { recursive: true, force: true });
  }
}

function record(
  ctx: BenchContext,
  proto: Proto,
  results: Map<ToolKey, Ladder[]>,
  ceiling: number,
  wanted: Set<string>,
): void {
  const s = (k: ToolKey) => (results.has(k) ? summarize(results.get(k) ?? []) : undefined);
  const ours = s('vxflow-clickhouse');
  const file = s('vxflow-jsonl');
  const pbFile = s('vxflow-protobuf');
  const capd = s('nfcapd');
  const acctd = s('nfacctd');
  const acctdProto = s('nfacctd-proto');
  const peer = (n: string, x: Summary | undefined) =>
    x && { name: `${n}${x.capped ? ' (limit not reached)' : ''}`, value: x.rate };
  const note = (x: Summary, target: string) =>
    `${target}; median of ${x.samples.length}${x.capped ? '; limit not reached (lower bound)' : x.lossyAt ? `; lossy at ${fmt(x.lossyAt)}` : ''}`;
  if (ours) {
    ctx.record({
      name: `${proto}: vxflow → ClickHouse`,
      value: ours.rate,
      unit: 'flows/s lossless',
      peer: peer('nfacctd (print, one row per flow)', acctd),
      samples: ours.samples,
      note: note(ours, 'target ≥ 1.0x nfacctd'),
    });
    if (ceiling > 0)
      ctx.record({
        name: `${proto}: vxflow → ClickHouse vs the ceiling`,
        value: ours.rate,
        unit: 'flows/s lossless',
        peer: {
          name: `ClickHouse ceiling (${CEILING_BATCH.toLocaleString('en-US')}-flow batches, Native + rollup rows)`,
          value: ceiling,
        },
        note: 'target ≥ 0.9x',
      });
  }
  for (const [n, x] of [
    ['JSON lines file', file],
    ['protobuf file', pbFile],
  ] as const)
    if (x)
      ctx.record({
        name: `${proto}: vxflow → ${n}`,
        value: x.rate,
        unit: 'flows/s lossless',
        peer: peer('nfcapd', capd),
        samples: x.samples,
        note: note(x, n === 'protobuf file' ? 'target ≥ 0.8x nfcapd' : 'no target'),
      });
  for (const [n, x, what] of [
    ['nfacctd (print, one row per flow)', acctd, 'peer'],
    ['nfcapd', capd, 'peer'],
    [
      'nfacctd (print, aggregate proto: one row per protocol per second)',
      acctdProto,
      'reference only: stores no flows, not like for like',
    ],
  ] as const)
    if (x)
      ctx.record({
        name: `${proto}: ${n}`,
        value: x.rate,
        unit: 'flows/s lossless',
        samples: x.samples,
        note: note(x, what),
      });
  for (const [n, x] of [
    ['ClickHouse', ours],
    ['JSON lines', file],
    ['protobuf file', pbFile],
  ] as const)
    if (x && x.cpuPerMillion > 0)
      ctx.record({
        name: `${proto}: vxflow → ${n}, CPU per million flows`,
        value: x.cpuPerMillion,
        unit: 'CPU s / 1M flows',
        samples: x.cpuSamples,
        note: "at each repeat's best lossless step, all threads of the collector; median",
      });
  if (ours && ours.clickhouseCpuPerMillion > 0)
    ctx.record({
      name: `${proto}: ClickHouse fed by vxflow, CPU per million flows`,
      value: ours.clickhouseCpuPerMillion,
      unit: 'CPU s / 1M flows',
      note: "clickhouse-server, all threads, at each repeat's best lossless step; median",
    });
  const disk = results.get('vxflow-clickhouse')?.[0]?.disk;
  if (disk)
    ctx.record({
      name: `${proto}: disk per stored flow (flows table filled by the collector, after OPTIMIZE FINAL)`,
      value: disk.bytesPerFlow,
      unit: 'bytes/flow',
      note: `${disk.rows} blast flows (sequential addresses and ports) stored at ${fmt(disk.rate)} flows/s; target < 30`,
    });
  if (wanted.has('vxflow-clickhouse') && !disk)
    ctx.log(`${proto}: no lossless ClickHouse trial, so no disk-per-flow figure`);
}

/**
 * The scaling figures: per run, the lossless rate, the CPU µs per flow of the whole collector,
 * of its receiving thread and of the rest, and the 16-core prediction from them.
 */
function recordScaling(
  ctx: BenchContext,
  proto: Proto,
  runs: { tool: Tool; ladders: Ladder[]; atFixed: Trial[] }[],
  spreadMode: string,
  cpuRate: number,
): void {
  const rateOf = new Map<string, number>();
  for (const { tool, ladders, atFixed } of runs) {
    const x = summarize(ladders);
    const bests = ladders.map((l) => l.best).filter((b): b is Trial => b !== undefined && b.got > 0);
    const us = (list: Trial[], f: (b: Trial) => number) =>
      list.length ? median(list.map((b) => (f(b) * 1e6) / b.got)) : 0;
    // the prediction takes the best lossless step: there the receiving thread is busiest and
    // takes several datagrams per wake-up, as it would at a 16-core machine's limit; at a low
    // rate each datagram pays a wake-up of its own (the fixed-rate figure, printed beside it)
    const total = us(bests, (b) => b.cpuSeconds ?? 0);
    const main = us(bests, (b) => b.mainCpuSeconds ?? 0);
    const rest = Math.max(0, total - main);
    const fixedTotal = us(atFixed, (b) => b.cpuSeconds ?? 0);
    const fixedMain = us(atFixed, (b) => b.mainCpuSeconds ?? 0);
    const s = tool.scaling ?? { exporters: 1, workers: 1 };
    rateOf.set(`${s.exporters}/${s.workers}`, x.rate);
    // one core receives whatever the worker count; the other 15 decode
    const predicted = main > 0 && rest > 0 ? Math.min(1e6 / main, 15e6 / rest) : 0;
    const limit = predicted === 0 ? '?' : 1e6 / main <= 15e6 / rest ? 'the receiving thread' : 'the workers';
    ctx.record({
      name: `${proto}: scaling, ${tool.name.replace(/^scaling /, '')} → protobuf file`,
      value: x.rate,
      unit: 'flows/s lossless',
      samples: x.samples,
      note: `${x.capped ? 'limit not reached (lower bound); ' : x.lossyAt ? `lossy at ${fmt(x.lossyAt)}; ` : ''}CPU at the best step ${total.toFixed(2)} µs/flow (receiving thread ${main.toFixed(2)}, workers and the rest ${rest.toFixed(2)}; at ${fmt(cpuRate)} flows/s ${fixedTotal.toFixed(2)}, receiving thread ${fixedMain.toFixed(2)}); 16 cores predicted ≈ ${fmt(predicted)} flows/s, limited by ${limit}${s.workers === 1 && rest > 0 ? ` (one exporter not spread stays within one worker: ≈ ${fmt(1e6 / rest)} flows/s)` : ''}; spread ${spreadMode}`,
    });
  }
  for (const exporters of [1, 4]) {
    const one = rateOf.get(`${exporters}/1`);
    const two = rateOf.get(`${exporters}/2`);
    if (one && two)
      ctx.record({
        name: `${proto}: scaling, ${exporters === 1 ? 'one exporter' : `${exporters} exporters`}: 2 workers vs 1`,
        value: two,
        unit: 'flows/s lossless',
        peer: { name: '1 worker', value: one },
        note: 'on 2 cores shared by the receiving thread, 2 workers, blast and the other load: 2x is out of reach here',
      });
  }
}

/**
 * The ceiling comparison with the cores split: ClickHouse on one core both when it takes the
 * ceiling's batches and when the collector (with blast, on the other core) feeds it. On 2
 * shared cores the unpinned ratio measures how the collector's, blast's and ClickHouse's CPU
 * add up; this one whether the collector keeps ClickHouse as busy as the ideal loader does.
 */
function recordPinned(ctx: BenchContext, proto: Proto, ladders: Ladder[] | undefined, ceiling: number): void {
  if (!ladders || ceiling <= 0) return;
  const x = summarize(ladders);
  ctx.record({
    name: `${proto}: vxflow → ClickHouse vs the ceiling, ClickHouse on one core in both (collector and blast on the other)`,
    value: x.rate,
    unit: 'flows/s lossless',
    peer: { name: 'ClickHouse ceiling on one core', value: ceiling },
    samples: x.samples,
    note: `target ≥ 0.9x; collector ${x.cpuPerMillion.toFixed(2)}, ClickHouse ${x.clickhouseCpuPerMillion.toFixed(2)} CPU s / 1M flows${x.lossyAt ? `; lossy at ${fmt(x.lossyAt)}` : ''}`,
  });
}

/**
 * The receive paths side by side (collector.udpReceive, to the protobuf file): the lossless
 * rate, and the receiving thread's and the whole collector's CPU per flow, at the best step
 * and at the fixed rate.
 */
function recordReceive(
  ctx: BenchContext,
  proto: Proto,
  runs: { tool: Tool; ladders: Ladder[]; atFixed: Trial[] }[],
  cpuRate: number,
): void {
  const figures = new Map<
    string,
    { rate: number; main: number; total: number; fixedMain: number; fixedTotal: number }
  >();
  for (const { tool, ladders, atFixed } of runs) {
    const x = summarize(ladders);
    const bests = ladders.map((l) => l.best).filter((b): b is Trial => b !== undefined && b.got > 0);
    const us = (list: Trial[], f: (b: Trial) => number) =>
      list.length ? median(list.map((b) => (f(b) * 1e6) / b.got)) : 0;
    const f = {
      rate: x.rate,
      main: us(bests, (b) => b.mainCpuSeconds ?? 0),
      total: us(bests, (b) => b.cpuSeconds ?? 0),
      fixedMain: us(atFixed, (b) => b.mainCpuSeconds ?? 0),
      fixedTotal: us(atFixed, (b) => b.cpuSeconds ?? 0),
    };
    figures.set(tool.receive ?? '', f);
    ctx.record({
      name: `${proto}: UDP receive ${tool.receive} → protobuf file`,
      value: x.rate,
      unit: 'flows/s lossless',
      samples: x.samples,
      note: `${x.capped ? 'limit not reached (lower bound); ' : x.lossyAt ? `lossy at ${fmt(x.lossyAt)}; ` : ''}CPU µs/flow at the best step ${f.total.toFixed(2)} (receiving thread ${f.main.toFixed(2)}); at ${fmt(cpuRate)} flows/s ${f.fixedTotal.toFixed(2)} (receiving thread ${f.fixedMain.toFixed(2)}); 16 cores predicted ≈ ${fmt(f.main > 0 && f.total > f.main ? Math.min(1e6 / f.main, 15e6 / (f.total - f.main)) : 0)} flows/s`,
    });
  }
  const batch = figures.get('batch');
  const dgram = figures.get('dgram');
  if (batch && dgram) {
    ctx.record({
      name: `${proto}: UDP receive, the recvmmsg add-on against Node's dgram (lossless rate)`,
      value: batch.rate,
      unit: 'flows/s lossless',
      peer: { name: 'dgram', value: dgram.rate },
    });
    ctx.record({
      name: `${proto}: UDP receive, receiving thread's CPU per flow at the best step, add-on / dgram`,
      value: batch.main,
      unit: 'CPU µs/flow',
      peer: { name: 'dgram', value: dgram.main },
      note: 'lower is better',
    });
    ctx.record({
      name: `${proto}: UDP receive, receiving thread's CPU per flow at ${fmt(cpuRate)} flows/s, add-on / dgram`,
      value: batch.fixedMain,
      unit: 'CPU µs/flow',
      peer: { name: 'dgram', value: dgram.fixedMain },
      note: 'lower is better',
    });
  }
}

/** The receivers of the common-rate CPU trials (peers only where they count the traffic right). */
const COMMON_RATE_TOOLS = [
  'vxflow-clickhouse',
  'vxflow-protobuf',
  'vxflow-jsonl',
  'nfcapd',
  'nfacctd',
] as const;
/** flows in the simulator's datagram file (replayed in a loop) */
const SIM_FLOWS = 300_000;

interface CommonRateRun {
  key: ToolKey;
  name: string;
  traffic: 'blast' | 'simulator';
  /** the lossless trials (one per repeat) */
  trials: Trial[];
}

/**
 * CPU seconds per million flows at one rate every receiver takes without loss: the
 * collector's and ClickHouse's on every path, for blast's and the simulator's traffic, and
 * the peers' on blast's (the issue's test where nfcapd is lossless at the sender's limit:
 * CPU per flow, ours to the protobuf file against nfcapd's, at most 2x).
 */
function recordCommonRate(ctx: BenchContext, proto: Proto, rate: number, runs: CommonRateRun[]): void {
  const perMillion = (r: CommonRateRun | undefined, f: (t: Trial) => number | undefined) => {
    const xs = (r?.trials ?? []).map((t) => ((f(t) ?? 0) * 1e6) / t.got);
    return xs.length ? median(xs) : 0;
  };
  const at = `at ${fmt(rate)} flows/s`;
  const find = (key: ToolKey, traffic: 'blast' | 'simulator') =>
    runs.find((r) => r.key === key && r.traffic === traffic && r.trials.length > 0);
  for (const traffic of ['blast', 'simulator'] as const) {
    const nfcapd = find('nfcapd', traffic);
    const nfacctd = find('nfacctd', traffic);
    for (const r of runs.filter((x) => x.traffic === traffic)) {
      if (r.trials.length === 0) {
        ctx.log(`${proto} ${traffic}: ${r.name} was lossy ${at}: no CPU figure`);
        continue;
      }
      const own = perMillion(r, (t) => t.cpuSeconds);
      const samples = r.trials.map((t) => ((t.cpuSeconds ?? 0) * 1e6) / t.got);
      if (r.key === 'vxflow-clickhouse') {
        const ch = perMillion(r, (t) => t.clickhouseCpuSeconds);
        ctx.record({
          name: `${proto} ${traffic} ${at}: vxflow → ClickHouse, CPU per million flows (collector)`,
          value: own,
          unit: 'CPU s / 1M flows',
          samples,
          note: `ClickHouse ${ch.toFixed(2)} more; together ${(own + ch).toFixed(2)}`,
        });
        ctx.record({
          name: `${proto} ${traffic} ${at}: ClickHouse, CPU per million flows (fed by the collector)`,
          value: ch,
          unit: 'CPU s / 1M flows',
          samples: r.trials.map((t) => ((t.clickhouseCpuSeconds ?? 0) * 1e6) / t.got),
        });
        if (nfacctd)
          ctx.record({
            name: `${proto} ${traffic} ${at}: CPU per flow, vxflow + ClickHouse vs nfacctd (print, one row per flow)`,
            value: own + ch,
            unit: 'CPU s / 1M flows',
            peer: { name: 'nfacctd', value: perMillion(nfacctd, (t) => t.cpuSeconds) },
            note: 'lower is better',
          });
      } else if (r.key === 'vxflow-protobuf' || r.key === 'vxflow-jsonl')
        ctx.record({
          name: `${proto} ${traffic} ${at}: vxflow → ${r.key === 'vxflow-protobuf' ? 'protobuf' : 'JSON lines'} file, CPU per million flows`,
          value: own,
          unit: 'CPU s / 1M flows',
          samples,
          ...(nfcapd ? { peer: { name: 'nfcapd', value: perMillion(nfcapd, (t) => t.cpuSeconds) } } : {}),
          note: `lower is better${r.key === 'vxflow-protobuf' && nfcapd ? '; target ≤ 2.0x nfcapd' : ''}`,
        });
      else
        ctx.record({
          name: `${proto} ${traffic} ${at}: ${r.name}, CPU per million flows`,
          value: own,
          unit: 'CPU s / 1M flows',
          samples,
          note: 'peer',
        });
    }
  }
}

/** Rows per insert for the ceiling: the collector's default batchMaxRows, so the same work. */
const CEILING_BATCH = 200_000;

/**
 * ClickHouse alone, given the same job the collector gives it per batch: the batch's rollup
 * rows into the staging table (RowBinary), then its CEILING_BATCH flows as Native blocks
 * (the collector's insert format); back to back, median flows/s of 3.
 */
async function measureCeiling(
  ctx: BenchContext,
  chUrl: string,
  serverCpu: () => number,
  label = '',
): Promise<number> {
  const database = `bench_${process.pid}_ceiling`;
  const ch = await connectClickHouse({ url: chUrl, database } as never);
  try {
    const { migrate } = await import('../storage/src/migrations.ts');
    await migrate(ch);
    const rows: FlowRecord[] = [];
    const now = Date.now();
    for (let i = 0; i < CEILING_BATCH; i++) {
      const r = emptyFlow();
      Object.assign(r, {
        time_received: now,
        flow_start: now - 1000,
        flow_end: now,
        exporter: '127.0.0.1',
        version: 9,
        observation_domain: 1,
        src_addr: `10.0.${(i >> 16) & 255}.${(i >> 8) & 255}`,
        dst_addr: '10.100.0.1',
        src_port: i & 0xffff,
        dst_port: 443,
        proto: 6,
        tcp_flags: 0x18,
        bytes: 100,
        packets: 1,
        sampling_rate: 1,
        in_if: 1,
        out_if: 2,
        ip_version: 4,
      });
      rows.push(r);
    }
    const native = nativeOutput.create();
    const rollup = rollupOutput.create();
    for (const r of rows) {
      native.write(r);
      rollup.write(r);
    }
    const body = Buffer.from(native.take());
    const rollupBody = Buffer.from(rollup.take());
    const batches = ctx.quick ? 3 : 6;
    const samples: number[] = [];
    const cpuSamples: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const cpu0 = serverCpu();
      const t0 = process.hrtime.bigint();
      for (let b = 0; b < batches; b++) {
        await ch.insertRowBinary(`${database}.${ROLLUP_STAGING_TABLE}`, ROLLUP_INSERT_COLUMNS, rollupBody);
        await ch.insertRowBinary(`${database}.flows`, FLOW_INSERT_COLUMNS, body, { format: 'Native' });
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      samples.push((batches * rows.length) / s);
      cpuSamples.push((serverCpu() - cpu0) / ((batches * rows.length) / 1e6));
    }
    const ceiling = median(samples);
    ctx.record({
      name: `ClickHouse insert ceiling (${CEILING_BATCH.toLocaleString('en-US')}-flow batches: Native flows + rollup rows)${label}`,
      value: ceiling,
      unit: 'rows/s',
      samples,
    });
    ctx.record({
      name: `ClickHouse CPU per million flows at the ceiling${label}`,
      value: median(cpuSamples),
      unit: 'CPU s / 1M flows',
      samples: cpuSamples,
      note: 'clickhouse-server, all threads, while it took the ceiling batches back to back',
    });
    await ch.command(`DROP DATABASE ${database}`);
    return ceiling;
  } finally {
    await ch.close();
  }
}

interface Summary {
  /** median over repeats of the highest lossless rate (0 when none was lossless) */
  rate: number;
  samples: number[];
  /** every repeat was lossless at the sender's limit */
  capped: boolean;
  /** median over repeats of the lowest lossy rate seen */
  lossyAt: number | undefined;
  cpuPerMillion: number;
  cpuSamples: number[];
  /** ClickHouse's CPU seconds per million flows at the same steps (the ClickHouse path) */
  clickhouseCpuPerMillion: number;
}

function summarize(ladders: Ladder[]): Summary {
  const bests = ladders.map((l) => l.best);
  const samples = bests.map((b) => Math.round(b?.rate ?? 0));
  const lossy = ladders.flatMap((l) => (l.lossyAt === undefined ? [] : [l.lossyAt]));
  const cpuSamples = bests
    .filter((b): b is Trial => b?.cpuSeconds !== undefined && b.got > 0)
    .map((b) => (b.cpuSeconds ?? 0) / (b.got / 1e6));
  const chSamples = bests
    .filter((b): b is Trial => b?.clickhouseCpuSeconds !== undefined && b.got > 0)
    .map((b) => (b.clickhouseCpuSeconds ?? 0) / (b.got / 1e6));
  return {
    rate: median(samples),
    samples,
    capped: ladders.every((l) => l.capped),
    lossyAt: lossy.length ? median(lossy) : undefined,
    cpuPerMillion: cpuSamples.length ? median(cpuSamples) : 0,
    cpuSamples,
    clickhouseCpuPerMillion: chSamples.length ? median(chSamples) : 0,
  };
}
