/**
 * Collector ingest: the highest rate (flows/s) each receiver takes with no loss, fed by
 * bench/tools/blast.c (sendmmsg, NetFlow v9 or IPFIX, sequence numbers advancing), against
 * nfdump's nfcapd and pmacct's nfacctd on the same input, with ClickHouse's own RowBinary
 * insert rate as the ceiling. Loss = records sent − records stored (also kernel drops).
 * Also: CPU seconds per million flows (/proc/PID/stat of the collector, all threads) and
 * bytes of disk per stored flow (system.parts after OPTIMIZE FINAL).
 *
 * `--quick`: v9 only, fewer and shorter steps (about two minutes).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { emptyFlow, type FlowRecord } from '../protocol/src/schema/columns.ts';
import { connectClickHouse } from '../storage/src/clickhouse.ts';
import { FLOW_INSERT_COLUMNS, encodeFlowsRowBinary } from '../storage/src/rowbinary.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import type { BenchContext } from './lib.ts';

const repo = resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** "no loss": every record arrived (a 0.01% allowance would hide real drops, so none) */
const LOSSLESS = (sent: number, got: number) => got >= sent;

interface Trial {
  rate: number;
  sent: number;
  got: number;
  cpuSeconds?: number;
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
      `${name} @ ${rate.toLocaleString('en-US')} flows/s: sent ${t.sent}, got ${t.got}, loss ${loss} (${((100 * loss) / Math.max(1, t.sent)).toFixed(3)}%)`,
    );
    if (!LOSSLESS(t.sent, t.got)) break;
  }
  const ok = trials.filter((t) => LOSSLESS(t.sent, t.got));
  return { best: ok.length ? ok[ok.length - 1] : undefined, trials };
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
    const secs = ctx.quick ? 3 : 6;
    const rates = ctx.quick
      ? [50_000, 100_000, 200_000, 300_000]
      : [50_000, 100_000, 150_000, 200_000, 300_000, 400_000, 600_000];
    const protos: ('v9' | 'ipfix')[] = ctx.quick ? ['v9'] : ['v9', 'ipfix'];
    let run = 0;

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
      while (!log.includes('"msg":"listening"') && !log.includes('listening')) {
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`collector did not start:\n${log}`);
        await sleep(100);
      }
      await sleep(300);
      return { child, port, log: () => log };
    };

    for (const proto of protos) {
      // ---- ours → ClickHouse
      const ours = await ladder(ctx, `vxflow→ClickHouse ${proto}`, rates, async (rate) => {
        run++;
        const database = `bench_${process.pid}_${run}`;
        const c = await startCollector([], { CLICKHOUSE_URL: chUrl, VXFLOW_CLICKHOUSE_DATABASE: database });
        const cpu0 = cpuSecondsOf(c.child.pid!);
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
          const cpu = cpuSecondsOf(c.child.pid!) - cpu0;
          await stopChild(c.child);
          const got = await count();
          return { rate, sent, got, cpuSeconds: cpu };
        } finally {
          await ch.close();
        }
      });

      // ---- ours → JSON lines file
      const file = await ladder(ctx, `vxflow→jsonl ${proto}`, rates, async (rate) => {
        run++;
        const out = join(work, `out-${run}.jsonl`);
        const c = await startCollector(['--no-clickhouse', '--output', `jsonl:${out}`], {});
        const cpu0 = cpuSecondsOf(c.child.pid!);
        const { sent } = blast(blastBin, c.port, proto, secs, rate);
        const lines = () => {
          try {
            const b = readFileSync(out);
            let n = 0;
            for (let i = 0; i < b.length; i++) if (b[i] === 10) n++;
            return n;
          } catch {
            return 0;
          }
        };
        await waitStable(lines, sent);
        const cpu = cpuSecondsOf(c.child.pid!) - cpu0;
        await stopChild(c.child);
        const got = lines();
        rmSync(out, { force: true });
        return { rate, sent, got, cpuSeconds: cpu };
      });

      // ---- nfcapd
      const nfcapd = await ladder(ctx, `nfcapd ${proto}`, rates, async (rate) => {
        run++;
        const dir = join(work, `nfcapd-${run}`);
        execFileSync('mkdir', ['-p', dir]);
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
        return { rate, sent, got };
      });

      // ---- nfacctd (print plugin, appended CSV, sum of packets = records)
      const nfacctd = await ladder(ctx, `nfacctd ${proto}`, rates, async (rate) => {
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
        return { rate, sent, got };
      });

      const rec = (
        name: string,
        r: { best?: Trial },
        peer?: { name: string; r: { best?: Trial } },
        note?: string,
      ) =>
        ctx.record({
          name,
          value: r.best?.rate ?? 0,
          unit: 'flows/s lossless',
          ...(peer ? { peer: { name: peer.name, value: peer.r.best?.rate ?? 0 } } : {}),
          ...(note ? { note } : {}),
        });
      rec(
        `${proto}: vxflow → ClickHouse`,
        ours,
        { name: 'nfacctd (print)', r: nfacctd },
        'target ≥ 1.0x nfacctd',
      );
      rec(`${proto}: vxflow → JSON lines file`, file, { name: 'nfcapd', r: nfcapd }, 'target ≥ 1.0x nfcapd');
      for (const [name, r] of [
        ['ClickHouse', ours],
        ['JSON lines', file],
      ] as const) {
        const t = r.best ?? r.trials[0];
        if (t?.cpuSeconds !== undefined && t.got > 0)
          ctx.record({
            name: `${proto}: vxflow → ${name}, CPU per million flows`,
            value: t.cpuSeconds / (t.got / 1e6),
            unit: 'CPU s / 1M flows',
            note: `at ${t.rate.toLocaleString('en-US')} flows/s, all threads`,
          });
      }
      (globalThis as Record<string, unknown>)[`__ours_${proto}`] = ours.best?.rate ?? 0;
    }

    // ---- the ceiling: ClickHouse taking the same rows as RowBinary, no collector in front
    const database = `bench_${process.pid}_ceiling`;
    const ch = await connectClickHouse({ url: chUrl, database } as never);
    try {
      const { migrate } = await import('../storage/src/migrations.ts');
      await migrate(ch);
      const rows: FlowRecord[] = [];
      const now = Date.now();
      for (let i = 0; i < 50_000; i++) {
        const r = emptyFlow();
        Object.assign(r, {
          time_received: now,
          flow_start: now - 1000,
          flow_end: now,
          exporter: '127.0.0.1',
          version: 9,
          observation_domain: 1,
          src_addr: `10.0.${(i >> 8) & 255}.${i & 255}`,
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
      const batches = ctx.quick ? 10 : 30;
      const samples: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const t0 = process.hrtime.bigint();
        for (let b = 0; b < batches; b++)
          await ch.insertRowBinary(`${database}.flows`, FLOW_INSERT_COLUMNS, body);
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        samples.push((batches * rows.length) / s);
      }
      samples.sort((a, b) => a - b);
      const ceiling = samples[1];
      const oursV9 = Number((globalThis as Record<string, unknown>).__ours_v9 ?? 0);
      ctx.record({ name: 'ClickHouse RowBinary insert ceiling', value: ceiling, unit: 'rows/s', samples });
      ctx.record({
        name: 'v9: vxflow → ClickHouse vs the ceiling',
        value: oursV9,
        unit: 'flows/s lossless',
        peer: { name: 'ClickHouse RowBinary ceiling', value: ceiling },
        note: 'target ≥ 0.8x',
      });
      // disk per flow, after merging
      await ch.command(`OPTIMIZE TABLE ${database}.flows FINAL`);
      const [p] = await ch.query<{ bytes: string; rows: string }>(
        `SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts WHERE database = '${database}' AND table = 'flows' AND active`,
      );
      ctx.record({
        name: 'disk per stored flow (raw table, after OPTIMIZE)',
        value: Number(p.bytes) / Math.max(1, Number(p.rows)),
        unit: 'bytes/flow',
        note: `${p.rows} rows of blast-like flows`,
      });
    } finally {
      await ch.close();
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
