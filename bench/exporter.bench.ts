/**
 * Capture → NetFlow v9 export, packets/s, against softflowd on the same file in the same run.
 *
 * Input: a generated underlay capture of 1 million 160-byte VXLAN packets carrying 10 000
 * inner flows over 8 VNIs (bench/tools/vxlan-capture.ts). softflowd reads it with `-r` and
 * tracks only the outer VTEP-to-VTEP flows (it does not decapsulate); we decapsulate and
 * track every inner flow. Both export v9 to a local UDP socket this benchmark drains.
 *
 * Figures (median of the runs):
 * - full pipeline in-process: read file → parse/decap → flow cache → v9 encode → UDP send
 *   (vs softflowd -r, process start to exit)
 * - the same through the exporter's own pipeline (batching, backpressure, template refresh)
 * - sub-stages: parse only; parse + flow cache (no encode)
 * - the `vxflow exporter` command as a process, start to exit (includes Node start-up; bin/vxflow.js runs the dist/ bundle when it is fresh)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { writeVxlanCapture } from './tools/vxlan-capture.ts';
import { createCaptureStreamReader, type FrameSink } from '../protocol/src/capture/pcap.ts';
import { PacketInfo } from '../exporter/src/packet/packet-info.ts';
import { parsePacket } from '../exporter/src/packet/parse.ts';
import { createPipeline } from '../exporter/src/export/pipeline.ts';
import { createPcapSource } from '../exporter/src/sources/pcap.ts';
import { createFlowEncoder } from '../protocol/src/encode/index.ts';
import { type BenchContext, median } from './lib.ts';

const fmtM = (pps: number) => `${(pps / 1e6).toFixed(2)}M`;

// softflowd silently truncates long -r paths: keep this one short
const dir = `/tmp/vxb${process.pid}`;
const file = join(dir, 'x.pcap');

async function parseOnly(path: string): Promise<number> {
  const info = new PacketInfo();
  let ok = 0;
  const sink: FrameSink = {
    frame(linkType, buf, off, capLen) {
      if (parsePacket(info, linkType, buf, off, off + capLen) === 0) ok++;
    },
  };
  const reader = createCaptureStreamReader();
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      const used = reader.feed(buf, 0, filled, sink);
      buf.copyWithin(0, used, filled);
      filled -= used;
    }
  } finally {
    await fh.close();
  }
  return ok;
}

async function parseAndCache(path: string): Promise<{ flows: number; packets: number }> {
  const source = createPcapSource({ path, cache: {} });
  let flows = 0;
  await source.run({ emit: (r) => (flows += r.length), signal: new AbortController().signal });
  return { flows, packets: source.stats.frames };
}

async function fullPipeline(path: string, port: number): Promise<{ flows: number; datagrams: number }> {
  const source = createPcapSource({ path, cache: {} });
  const encoder = createFlowEncoder({ version: 9, observationDomain: 1, bootTimeMs: Date.now() - 1000 });
  const sock = createSocket('udp4');
  let flows = 0;
  let datagrams = 0;
  let inFlight = 0;
  let drained: () => void = () => {};
  const send = (d: Buffer) => {
    inFlight++;
    datagrams++;
    sock.send(d, port, '127.0.0.1', () => {
      if (--inFlight === 0) drained();
    });
  };
  for (const d of encoder.templates(Date.now())) send(d);
  await source.run({
    emit: (records) => {
      flows += records.length;
      for (const d of encoder.encode(records, Date.now())) send(d);
    },
    signal: new AbortController().signal,
  });
  if (inFlight > 0) await new Promise<void>((r) => (drained = r));
  sock.close();
  return { flows, datagrams };
}

/** the exporter's own pipeline (batching, backpressure, template refresh), as `vxflow exporter` runs it */
async function projectPipeline(path: string, port: number): Promise<number> {
  const pipeline = await createPipeline({
    targets: [{ url: `udp://127.0.0.1:${port}`, host: '127.0.0.1', port, family: 4 }],
    encoder: { version: 9, observationDomain: 1, bootTimeMs: Date.now() - 1000 },
    createEncoder: createFlowEncoder,
  });
  try {
    const source = createPcapSource({ path, cache: {} });
    await source.run(pipeline.context(new AbortController().signal));
    await pipeline.flush();
    return pipeline.stats().exported;
  } finally {
    await pipeline.close();
  }
}

function softflowd(
  path: string,
  port: number,
): { seconds: number; cpuSeconds: number; packets: number; flows: number } {
  const t0 = process.hrtime.bigint();
  // -c before -r (it hangs otherwise), -d foreground: reads the file and exits at its end.
  // bash's `times` then prints its children's (softflowd's) user and system CPU time.
  const args = ['-c', join(dir, 'c'), '-r', path, '-n', `127.0.0.1:${port}`, '-v', '9', '-d', '-a'];
  const cmd = ['softflowd', ...args, '-p', join(dir, 'p')].join(' ');
  const r = spawnSync('bash', ['-c', `${cmd}; times >&2`], { encoding: 'utf8', timeout: 60_000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = `${r.stdout}${r.stderr}`;
  const times = [...r.stderr.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const cpuSeconds = (times.at(-2) ?? 0) + (times.at(-1) ?? 0);
  const packets = Number(/udp \(17\):\s+\d+\s+(\d+)/.exec(out)?.[1] ?? 0);
  const flows = Number(/flushed =\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (r.status !== 0 || packets === 0)
    throw new Error(`softflowd failed (status ${r.status}): ${out.slice(-500)}`);
  return { seconds, cpuSeconds, packets, flows };
}

export default async function exporterBench(ctx: BenchContext): Promise<void> {
  const packets = ctx.quick ? 200_000 : 1_000_000;
  const runs = ctx.quick ? 3 : 7;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // a big receive buffer: the sink is drained only between runs (this process is busy during them)
  const sink = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  let received = 0;
  sink.on('message', () => received++);
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  const port = sink.address().port;
  try {
    const facts = writeVxlanCapture(file, { packets, flows: 10_000, vnis: 8, packetSize: 160 });
    ctx.log(`input: ${file}, ${facts.packets} packets of 160 bytes, ${facts.flows} inner flows over 8 VNIs`);
    // warm the page cache and both programs
    readFileSync(file);
    softflowd(file, port);
    await fullPipeline(file, port);

    const peer: number[] = [];
    const ours: number[] = [];
    const peerCpu: number[] = [];
    const oursCpu: number[] = [];
    const parse: number[] = [];
    const cache: number[] = [];
    const withPipeline: number[] = [];
    let peerFlows = 0;
    let ourFlows = 0;
    const rate = (t0: bigint) => packets / (Number(process.hrtime.bigint() - t0) / 1e9);
    for (let i = 0; i < runs; i++) {
      // interleaved, so both see the same machine load
      const s = softflowd(file, port);
      if (s.packets !== packets) throw new Error(`softflowd read ${s.packets} of ${packets} packets`);
      peerFlows = s.flows;
      peer.push(packets / s.seconds);
      peerCpu.push(packets / s.cpuSeconds);

      let t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const full = await fullPipeline(file, port);
      ours.push(rate(t0));
      const cpu = process.cpuUsage(c0);
      oursCpu.push(packets / ((cpu.user + cpu.system) / 1e6));
      ourFlows = full.flows;
      if (full.flows !== facts.flows)
        throw new Error(`exported ${full.flows} flows, expected ${facts.flows}`);

      t0 = process.hrtime.bigint();
      const ok = await parseOnly(file);
      parse.push(rate(t0));
      if (ok !== packets) throw new Error(`parsed ${ok} of ${packets}`);

      t0 = process.hrtime.bigint();
      await parseAndCache(file);
      cache.push(rate(t0));

      t0 = process.hrtime.bigint();
      const exported = await projectPipeline(file, port);
      withPipeline.push(rate(t0));
      if (exported !== facts.flows) throw new Error(`pipeline exported ${exported} of ${facts.flows} flows`);
    }
    const peerRate = median(peer);
    ctx.record({
      name: 'pcap → decap → flow cache → v9 → UDP (in-process)',
      value: median(ours),
      unit: 'packets/s',
      peer: { name: 'softflowd -r (outer flows only, process start to exit)', value: peerRate },
      samples: ours,
      note: `${ourFlows} inner flows vs softflowd's ${peerFlows} outer flows; best runs ${fmtM(Math.max(...ours))} vs ${fmtM(Math.max(...peer))}`,
    });
    ctx.record({
      name: 'same, per CPU second (all our threads; less sensitive to other load)',
      value: median(oursCpu),
      unit: 'packets/CPU-s',
      peer: { name: 'softflowd -r user+sys', value: median(peerCpu) },
      samples: oursCpu,
    });
    ctx.record({
      name: 'same through the exporter pipeline (exporter/src/export)',
      value: median(withPipeline),
      unit: 'packets/s',
      peer: { name: 'softflowd -r', value: peerRate },
      samples: withPipeline,
    });
    ctx.record({
      name: 'stage: read + parse/decap only',
      value: median(parse),
      unit: 'packets/s',
      samples: parse,
    });
    ctx.record({
      name: 'stage: read + parse + flow cache',
      value: median(cache),
      unit: 'packets/s',
      samples: cache,
    });
    ctx.record({ name: 'softflowd -r', value: peerRate, unit: 'packets/s', samples: peer });

    // the command as a user runs it, start to exit (Node start-up and TypeScript loading included)
    const cli: number[] = [];
    for (let i = 0; i < (ctx.quick ? 1 : 3); i++) {
      const t0 = process.hrtime.bigint();
      execFileSync(
        process.execPath,
        ['bin/vxflow.js', 'exporter', '--source', `pcap:${file}`, '--to', `udp://127.0.0.1:${port}`],
        { stdio: 'ignore', timeout: 120_000 },
      );
      cli.push(packets / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    ctx.record({
      name: '`vxflow exporter --source pcap:` process, start to exit',
      value: median(cli),
      unit: 'packets/s',
      peer: { name: 'softflowd -r', value: peerRate },
      samples: cli,
      note: 'includes Node start-up: about 0.2 s with the dist/ bundle, about 1 s through tsx',
    });
    ctx.log(`the local collector socket received ${received} datagrams in all (both exporters, every run)`);
  } finally {
    sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
