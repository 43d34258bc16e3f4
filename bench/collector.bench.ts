/**
 * Collector ingest: the highest rate (flows/s) each receiver takes with no loss, fed by
 * bench/tools/blast.c (sendmmsg, NetFlow v9 or IPFIX, sequence numbers advancing), against
 * nfcapd (nfdump, files) and nfacctd (pmacct) on the same input, with ClickHouse's own
 * RowBinary insert rate (same batch size as the collector's) as the ceiling. Loss = records
 * sent − records stored (kernel drops included). Rates are what the sender achieved, not
 * what it was asked. Each ladder stops at its first lossy step; a ladder that never lost
 * anything says so ("limit not reached": the figure is a lower bound).
 *
 * Printed per protocol: highest lossless flows/s (median over repeats) of vxflow →
 * ClickHouse and of vxflow → JSON lines; their ratios to nfacctd, nfcapd and the ceiling;
 * CPU seconds per million flows (/proc/PID/stat of the collector, all threads, at the best
 * lossless step); bytes on disk per stored flow, on the flows table the collector filled at
 * its best step (system.parts after OPTIMIZE FINAL).
 *
 * Full run: v9 and IPFIX (BENCH_PROTOS=v9,ipfix), 3 repeats (BENCH_REPEATS), rates up to 3M flows/s.
 * `--quick`: v9 only, one repeat, four rates, 3 s steps (about three minutes).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { emptyFlow, type FlowRecord } from '../protocol/src/schema/columns.ts';
import { connectClickHouse } from '../storage/src/clickhouse.ts';
import { encodeFlowsRowBinary } from '../storage/src/flow-rowbinary.ts';
import { FLOW_INSERT_COLUMNS } from '../storage/src/rowbinary.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import { countFileRecords } from './count-records.ts';
import { type BenchContext, median } from './lib.ts';

const repo = resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * "no loss": every record arrived, and no more (a 0.01% allowance would hide real drops; a
 * count above what was sent means the receiver misread the records)
 */
const LOSSLESS = (sent: number, got: number) => got === sent;

interface Trial {
  rate: number;
  sent: number;
  got: number;
  cpuSeconds?: number;
  /** the ClickHouse database the collector filled */
  database?: string;
}

interface Ladder {
  best: Trial | undefined;
  trials: Trial[];
}

function cpuSecondsOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime + stime, in clock ticks
  } catch {
    return 0;
  }
}

function blast(
  bin: string,
  port: number,
  proto: 'v9' | 'ipfix',
  secs: number,
  rate: number,
): { sent: number } {
  const out = execFileSync(bin, ['127.0.0.1', String(port), proto, String(secs), String(rate)], {
    encoding: 'utf8',
  });
  const [, records] = out.trim().split(' ').map(Number);
  return { sent: records };
}

async function waitStable(
  read: () => Promise<number> | number,
  target: number,
  maxMs = 15_000,
): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const v = await read();
    if (v !== last) {
      last = v;
      stableSince = Date.now();
    }
    if (v >= target || Date.now() - stableSince > 2000 || Date.now() > deadline) return v;
    await sleep(200);
  }
}

async function stopChild(child: ReturnType<typeof spawn>, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await Promise.race([exited, sleep(20_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Tries rates from low to high and returns the trials up to the first lossy one. */
async function ladder(
  ctx: BenchContext,
  name: string,
  rates: number[],
  trial: (rate: number) => Promise<Trial>,
) {
  const trials: Trial[] = [];
  for (const rate of rates) {
    const t = await trial(rate);
    trials.push(t);
    const loss = t.sent - t.got;
    ctx.log(
      `${name} @ ${rate.toLocaleString('en-US')} flows/s (achieved ${Math.round(t.rate).toLocaleString('en-US')}): sent ${t.sent}, got ${t.got}, loss ${loss} (${((100 * loss) / Math.max(1, t.sent)).toFixed(3)}%)`,
    );
    if (!LOSSLESS(t.sent, t.got)) break;
  }
  const ok = trials.filter((t) => LOSSLESS(t.sent, t.got));
  return { best: ok.length ? ok[ok.length - 1] : undefined, trials } satisfies Ladder;
}

export default async function bench(ctx: BenchContext): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), `vxflow-bench-collector-${process.pid}-`));
  const chDir = join(work, 'ch');
  const children: ReturnType<typeof spawn>[] = [];
  let server: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  try {
    const blastBin = join(work, 'blast');
    execFileSync('gcc', ['-O2', '-o', blastBin, join(repo, 'bench/tools/blast.c')]);
    server = await startEmbedded({ dataDir: chDir, httpPort: await freePort(), tcpPort: await freePort() });
    const chUrl = server.url;
    const secs = 3;
    const rates = ctx.quick
      ? [100_000, 300_000, 600_000, 1_000_000]
      : [100_000, 200_000, 300_000, 400_000, 600_000, 800_000, 1_000_000, 1_500_000, 2_000_000, 3_000_000];
    const protos: ('v9' | 'ipfix')[] = ctx.quick
      ? ['v9']
      : ((process.env.BENCH_PROTOS ?? 'v9,ipfix').split(',') as ('v9' | 'ipfix')[]);
    const repeats = ctx.quick ? 1 : Math.max(1, Number(process.env.BENCH_REPEATS ?? 3));
    let run = 0;

    // ---- the ceiling first, on an idle machine: ClickHouse taking RowBinary with no collector
    const ceiling = await measureCeiling(ctx, chUrl);

    const startCollector = async (extra: string[], env: Record<string, string>) => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [
          join(repo, 'bin/vxflow.js'),
          'collector',
          '--listen',
          `udp://127.0.0.1:${port}`,
          '--metrics-listen',
          '',
          '--state-dir',
          join(work, `state-${run}`),
          ...extra,
        ],
        { env: { ...process.env, ...env, VXFLOW_CONFIG: '' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.push(child);
      let log = '';
      child.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
      });
      const deadline = Date.now() + 60_000;
      while (!log.includes('listening')) {
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`collector did not start:\n${log}`);
        await sleep(100);
      }
      await sleep(300);
      return { child, port, log: () => log };
    };

    const oursClickHouse = async (proto: 'v9' | 'ipfix', rate: number): Promise<Trial> => {
      run++;
      const database = `bench_${process.pid}_${run}`;
      const c = await startCollector([], { CLICKHOUSE_URL: chUrl, VXFLOW_CLICKHOUSE_DATABASE: database });
      const cpu0 = cpuSecondsOf(c.child.pid ?? 0);
      const { sent } = blast(blastBin, c.port, proto, secs, rate);
      const ch = await connectClickHouse({ url: chUrl, database } as never);
      try {
        const count = async () => {
          try {
            const [r] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${database}.flows`);
            return Number(r.n);
          } catch {
            return 0;
          }
        };
        await waitStable(count, sent);
        const cpu = cpuSecondsOf(c.child.pid ?? 0) - cpu0;
        await stopChild(c.child);
        const got = await count();
        return { rate: sent / secs, sent, got, cpuSeconds: cpu, database };
      } finally {
        await ch.close();
      }
    };

    const oursFile =
      (format: 'jsonl' | 'protobuf') =>
      async (proto: 'v9' | 'ipfix', rate: number): Promise<Trial> => {
        run++;
        const out = join(work, `out-${run}.${format}`);
        const c = await startCollector(['--no-clickhouse', '--output', `${format}:${out}`], {});
        const cpu0 = cpuSecondsOf(c.child.pid ?? 0);
        const { sent } = blast(blastBin, c.port, proto, secs, rate);
        const records = () => countFileRecords(out, format);
        await waitStable(records, sent);
        const cpu = cpuSecondsOf(c.child.pid ?? 0) - cpu0;
        await stopChild(c.child);
        const got = records();
        rmSync(out, { force: true });
        return { rate: sent / secs, sent, got, cpuSeconds: cpu };
      };

    const nfcapd = async (proto: 'v9' | 'ipfix', rate: number): Promise<Trial> => {
      run++;
      const dir = join(work, `nfcapd-${run}`);
      mkdirSync(dir, { recursive: true });
      const port = await freePort();
      const child = spawn(
        'nfcapd',
        ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', '4194304', '-t', '3600'],
        { stdio: 'ignore' },
      );
      children.push(child);
      await sleep(1000);
      const { sent } = blast(blastBin, port, proto, secs, rate);
      await sleep(1500);
      await stopChild(child);
      await sleep(300);
      let got = 0;
      try {
        const stat = execFileSync('nfdump', ['-R', dir, '-I'], { encoding: 'utf8' });
        got = Number(/^Flows:\s*(\d+)/m.exec(stat)?.[1] ?? 0);
      } catch {
        got = 0;
      }
      rmSync(dir, { recursive: true, force: true });
      return { rate: sent / secs, sent, got };
    };

    // nfacctd: print plugin, appended CSV, sum of packets = records
    const nfacctd = async (proto: 'v9' | 'ipfix', rate: number): Promise<Trial> => {
      run++;
      const port = await freePort();
      const out = join(work, `nfacctd-${run}.csv`);
      const conf = join(work, `nfacctd-${run}.conf`);
      writeFileSync(
        conf,
        [
          'daemonize: false',
          `nfacctd_port: ${port}`,
          'nfacctd_ip: 127.0.0.1',
          'nfacctd_pipe_size: 4194304',
          'plugins: print[p]',
          'aggregate[p]: proto',
          'print_output[p]: csv',
          `print_output_file[p]: ${out}`,
          'print_output_file_append[p]: true',
          'print_refresh_time[p]: 1',
          'plugin_pipe_size[p]: 67108864',
          'plugin_buffer_size[p]: 65536',
          '',
        ].join('\n'),
      );
      const child = spawn('nfacctd', ['-f', conf], { stdio: 'ignore' });
      children.push(child);
      await sleep(1500);
      const { sent } = blast(blastBin, port, proto, secs, rate);
      const sum = () => {
        try {
          const lines = readFileSync(out, 'utf8').split('\n');
          const head = lines[0].split(',');
          const col = head.indexOf('PACKETS');
          let n = 0;
          for (const l of lines.slice(1)) {
            const cells = l.split(',');
            if (cells.length === head.length && col >= 0) n += Number(cells[col]) || 0;
          }
          return n;
        } catch {
          return 0;
        }
      };
      await waitStable(sum, sent, 8000);
      await stopChild(child, 'SIGINT');
      await sleep(500);
      const got = sum();
      rmSync(out, { force: true });
      return { rate: sent / secs, sent, got };
    };

    const tools = [
      ['vxflow→ClickHouse', oursClickHouse],
      ['vxflow→jsonl', oursFile('jsonl')],
      ['vxflow→protobuf', oursFile('protobuf')],
      ['nfcapd', nfcapd],
      ['nfacctd', nfacctd],
    ] as const;

    for (const proto of protos) {
      // repeats interleave the tools, so a noisy minute on the shared machine hits all of them
      const results = new Map<string, Ladder[]>();
      for (let rep = 0; rep < repeats; rep++)
        for (const [name, trial] of tools) {
          const r = await ladder(ctx, `${name} ${proto} #${rep + 1}`, rates, (rate) => trial(proto, rate));
          results.set(name, [...(results.get(name) ?? []), r]);
        }
      const summary = (name: string) => summarize(results.get(name) ?? [], rates.length);
      const ours = summary('vxflow→ClickHouse');
      const file = summary('vxflow→jsonl');
      const pbFile = summary('vxflow→protobuf');
      const capd = summary('nfcapd');
      const acctd = summary('nfacctd');
      const peer = (n: string, s: Summary) => ({
        name: `${n}${s.capped ? ' (limit not reached)' : ''}`,
        value: s.rate,
      });
      const note = (s: Summary, target: string) =>
        `${target}; median of ${s.samples.length}${s.capped ? '; limit not reached (lower bound)' : ''}`;
      ctx.record({
        name: `${proto}: vxflow → ClickHouse`,
        value: ours.rate,
        unit: 'flows/s lossless',
        peer: peer('nfacctd (print)', acctd),
        samples: ours.samples,
        note: note(ours, 'target ≥ 1.0x nfacctd'),
      });
      ctx.record({
        name: `${proto}: vxflow → ClickHouse vs the ceiling`,
        value: ours.rate,
        unit: 'flows/s lossless',
        peer: {
          name: `ClickHouse RowBinary ceiling (${CEILING_BATCH.toLocaleString('en-US')}-row inserts)`,
          value: ceiling,
        },
        note: 'target ≥ 0.8x',
      });
      ctx.record({
        name: `${proto}: vxflow → JSON lines file`,
        value: file.rate,
        unit: 'flows/s lossless',
        peer: peer('nfcapd', capd),
        samples: file.samples,
        note: note(file, 'target ≥ 1.0x nfcapd'),
      });
      ctx.record({
        name: `${proto}: vxflow → protobuf file`,
        value: pbFile.rate,
        unit: 'flows/s lossless',
        peer: peer('nfcapd', capd),
        samples: pbFile.samples,
        note: note(pbFile, 'target ≥ 1.0x nfcapd'),
      });
      for (const [n, s] of [
        ['nfacctd (print)', acctd],
        ['nfcapd', capd],
      ] as const)
        ctx.record({
          name: `${proto}: ${n}`,
          value: s.rate,
          unit: 'flows/s lossless',
          samples: s.samples,
          note: note(s, 'peer'),
        });
      for (const [n, s] of [
        ['ClickHouse', ours],
        ['JSON lines', file],
        ['protobuf file', pbFile],
      ] as const)
        if (s.cpuPerMillion > 0)
          ctx.record({
            name: `${proto}: vxflow → ${n}, CPU per million flows`,
            value: s.cpuPerMillion,
            unit: 'CPU s / 1M flows',
            samples: s.cpuSamples,
            note: "at each repeat's best lossless step, all threads of the collector; median",
          });
      // disk: the flows table the collector itself filled at its best step
      const best = ours.bestTrial;
      if (best?.database) {
        const ch = await connectClickHouse({ url: chUrl, database: best.database } as never);
        try {
          await ch.command(`OPTIMIZE TABLE ${best.database}.flows FINAL`);
          const [p] = await ch.query<{ bytes: string; rows: string }>(
            `SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts WHERE database = '${best.database}' AND table = 'flows' AND active`,
          );
          ctx.record({
            name: `${proto}: disk per stored flow (flows table filled by the collector, after OPTIMIZE FINAL)`,
            value: Number(p.bytes) / Math.max(1, Number(p.rows)),
            unit: 'bytes/flow',
            note: `${p.rows} blast flows (sequential addresses and ports) stored at ${Math.round(best.rate).toLocaleString('en-US')} flows/s`,
          });
        } finally {
          await ch.close();
        }
      }
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
    for (const f of readdirSync(tmpdir()))
      if (f.startsWith(`vxflow-bench-collector-${process.pid}-`))
        rmSync(join(tmpdir(), f), { recursive: true, force: true });
  }
}

/** Rows per insert for the ceiling: the collector's default batchMaxRows, so the same work. */
const CEILING_BATCH = 200_000;

/** ClickHouse alone: RowBinary inserts of CEILING_BATCH rows back to back; median rows/s of 3. */
async function measureCeiling(ctx: BenchContext, chUrl: string): Promise<number> {
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
    const body = encodeFlowsRowBinary(rows);
    const batches = ctx.quick ? 3 : 6;
    const samples: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const t0 = process.hrtime.bigint();
      for (let b = 0; b < batches; b++)
        await ch.insertRowBinary(`${database}.flows`, FLOW_INSERT_COLUMNS, body);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      samples.push((batches * rows.length) / s);
    }
    const ceiling = median(samples);
    ctx.record({
      name: `ClickHouse RowBinary insert ceiling (${CEILING_BATCH.toLocaleString('en-US')}-row inserts)`,
      value: ceiling,
      unit: 'rows/s',
      samples,
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
  /** every repeat was lossless up to the top of the ladder */
  capped: boolean;
  cpuPerMillion: number;
  cpuSamples: number[];
  /** the repeat's best trial closest to the median */
  bestTrial: Trial | undefined;
}

function summarize(ladders: Ladder[], steps: number): Summary {
  const bests = ladders.map((l) => l.best);
  const samples = bests.map((b) => Math.round(b?.rate ?? 0));
  const rate = median(samples);
  const cpuSamples = bests
    .filter((b): b is Trial => b?.cpuSeconds !== undefined && b.got > 0)
    .map((b) => (b.cpuSeconds ?? 0) / (b.got / 1e6));
  let bestTrial: Trial | undefined;
  for (const b of bests)
    if (b && (!bestTrial || Math.abs(b.rate - rate) < Math.abs(bestTrial.rate - rate))) bestTrial = b;
  return {
    rate,
    samples,
    capped: ladders.every((l) => l.trials.length === steps && l.best === l.trials[steps - 1]),
    cpuPerMillion: cpuSamples.length ? median(cpuSamples) : 0,
    cpuSamples,
    bestTrial,
  };
}
