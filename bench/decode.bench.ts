/**
 * Decode throughput (records/s on one core) for NetFlow v5, a typical 20-field v9
 * template, a real 23-field Cisco v9 packet (goflow2's test vector), and IPFIX with
 * enterprise (VMware/OVS tunnel) and variable-length fields; v5 and v9 also through
 * node-netflowv9 (its nf5/nf9 decode functions called directly, templates preloaded) on
 * the same packets in the same run. Median of several runs.
 *
 * Then `vxflow decode` end to end, what a user runs: the real CLI process (the bundle
 * bin/build.js makes and bin/vxflow.js starts, started here directly: bin/vxflow.js falls
 * back to compiling the sources when any is newer than the bundle, which an edit elsewhere
 * in the tree during the run would cause) printing a 900,000-record v9 capture as JSON lines,
 * against node-netflowv9 doing the same job in its own process
 * (bench/tools/node-netflowv9-decode.cjs: decode, then JSON.stringify of each flow, lines
 * written in 64 KiB chunks), each into the same sinks: a pipe this process reads, a pipe
 * `cat` reads (a reader that costs next to nothing), /dev/null.
 * Runs alternate between the two; wall time and CPU time (user + system, of the child
 * alone) per run, medians, and the load average around them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDecoder } from '../protocol/src/decode/index.ts';
import { udpPcap } from '../test/helpers/packets.ts';
import {
  ipfixMessage,
  ipfixTemplateSet,
  ipv4,
  set,
  TYPICAL_V9_FIELDS,
  typicalV9Record,
  uint,
  v9Packet,
  v9TemplateSet,
  varlen,
} from '../test/decode/packets.ts';
import { type Bench, median, timeRuns } from './lib.ts';
import { processCpuSeconds } from './proc-cpu.ts';

const require = createRequire(import.meta.url);
const CAPTURES = join(import.meta.dirname, '../../shared/captures');
const ROOT = join(import.meta.dirname, '..');

interface PeerCtx {
  templates: Record<string, unknown>;
  nfTypes: unknown;
  nfScope: unknown;
  nfInfoTemplates: (rinfo: unknown) => unknown;
  nf9PktDecode: (msg: Buffer, rinfo: unknown) => { flows: unknown[] };
  nf5PktDecode: (msg: Buffer, rinfo: unknown) => { flows: unknown[] };
}

/** node-netflowv9's decode functions bound to a collector-like context, without its socket. */
function peerDecoder(): PeerCtx {
  const nft = require('node-netflowv9/js/nf9/nftypes');
  const clone = require('clone');
  return {
    templates: {},
    nfTypes: clone(nft.nfTypes),
    nfScope: clone(nft.nfScope),
    nfInfoTemplates: require('node-netflowv9/js/nf9/nfinfotempl'),
    nf9PktDecode: require('node-netflowv9/js/nf9/nf9decode'),
    nf5PktDecode: require('node-netflowv9/js/nf5/nf5decode'),
  };
}

const RINFO = { address: '192.0.2.10', port: 2055, size: 0 };

function typicalV9(): { template: Buffer; data: Buffer; records: number } {
  const uptime = 3_600_000;
  const h = { sourceId: 1, sequence: 1, uptime, unixSecs: 1_763_000_000 };
  const template = v9Packet(h, [v9TemplateSet([{ id: 300, fields: TYPICAL_V9_FIELDS }])]);
  const records = 30; // 30 × 56 octets: a full 1500-octet datagram
  const body = Buffer.concat(Array.from({ length: records }, (_, i) => typicalV9Record(i, uptime)));
  return { template, data: v9Packet({ ...h, sequence: 2 }, [set(300, body)]), records };
}

function ipfixEnterprise(): { template: Buffer; data: Buffer; records: number } {
  const V = 6876;
  const fields: [number, number, number][] = [
    [0, 8, 4],
    [0, 12, 4],
    [0, 7, 2],
    [0, 11, 2],
    [0, 4, 1],
    [0, 6, 2],
    [0, 1, 8],
    [0, 2, 8],
    [0, 152, 8],
    [0, 153, 8],
    [0, 61, 1],
    [0, 10, 4],
    [0, 82, 65535],
    [V, 891, 1],
    [V, 892, 65535],
    [V, 893, 4],
    [V, 894, 4],
    [V, 895, 1],
    [V, 896, 2],
    [V, 897, 2],
  ];
  const h = { domain: 11, sequence: 0, exportSecs: 1_763_000_000 };
  const template = ipfixMessage(h, [ipfixTemplateSet([{ id: 400, fields }])]);
  const records = 20;
  const recs: Buffer[] = [];
  for (let i = 0; i < records; i++) {
    recs.push(
      ipv4(`10.0.${i}.1`),
      ipv4(`10.0.${i}.2`),
      uint(40000 + i, 2),
      uint(80, 2),
      uint(6, 1),
      uint(0x1b, 2),
      uint(123456 + i, 8),
      uint(100 + i, 8),
      uint(1_763_000_000_000 - 5000, 8),
      uint(1_763_000_000_000, 8),
      uint(0, 1),
      uint(2, 4),
      varlen(Buffer.from(`vx${i % 4}`)),
      uint(1, 1),
      varlen(uint(1001 + (i % 3), 3)),
      ipv4('192.168.50.2'),
      ipv4('192.168.50.3'),
      uint(17, 1),
      uint(50000 + i, 2),
      uint(4789, 2),
    );
  }
  const data = ipfixMessage({ ...h, sequence: 0 }, [set(400, Buffer.concat(recs))]);
  return { template, data, records };
}

/**
 * A capture of `datagrams` v9 datagrams of 30 records each (the typical template, records
 * all different), the template repeated every 1000 datagrams as routers do.
 */
function v9Capture(datagrams: number): Buffer {
  const uptime = 3_600_000;
  const packets: Buffer[] = [];
  for (let p = 0; p < datagrams; p++) {
    const h = { sourceId: 1, sequence: p, uptime, unixSecs: 1_763_000_000 + Math.floor(p / 1000) };
    const sets = p % 1000 === 0 ? [v9TemplateSet([{ id: 300, fields: TYPICAL_V9_FIELDS }])] : [];
    const body = Buffer.concat(Array.from({ length: 30 }, (_, i) => typicalV9Record(p * 30 + i, uptime)));
    packets.push(v9Packet(h, [...sets, set(300, body)]));
  }
  return udpPcap(packets, 2055, 1_763_000_000_000);
}

/** CPU seconds of this process's children that have ended (cutime + cstime of /proc/self/stat). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[13]) + Number(rest[14])) / 100;
}

interface SinkRun {
  seconds: number;
  cpuSeconds: number;
  bytes: number;
  /** lines counted (only when asked: counting costs this process CPU the child does not wait for) */
  lines?: number;
}

type Sink = 'pipe' | 'cat' | '/dev/null';

/**
 * Runs a command with its stdout into a pipe this process reads and drops (`pipe`), into a
 * pipe `cat > /dev/null` reads (`cat`: a reader that costs next to nothing, like a fast
 * consumer; its own CPU, polled from /proc, is not counted), or into /dev/null.
 */
function runInto(sink: Sink, args: string[], countLines = false): Promise<SinkRun> {
  if (sink === 'cat') return runIntoCat(args);
  return new Promise((resolve, reject) => {
    const cpu0 = childrenCpuSeconds();
    const t0 = process.hrtime.bigint();
    const devNull = sink === 'pipe' ? undefined : openSync('/dev/null', 'w');
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', devNull ?? 'pipe', 'pipe'] });
    if (devNull !== undefined) closeSync(devNull);
    let bytes = 0;
    let lines = 0;
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (countLines) for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${err.trim()}`));
      resolve({ seconds, cpuSeconds: childrenCpuSeconds() - cpu0, bytes, ...(countLines ? { lines } : {}) });
    });
  });
}

function runIntoCat(args: string[]): Promise<SinkRun> {
  return new Promise((resolve, reject) => {
    const devNull = openSync('/dev/null', 'w');
    const cat = spawn('cat', [], { stdio: ['pipe', devNull, 'ignore'] });
    closeSync(devNull);
    let catCpu = 0;
    const poll = setInterval(() => {
      catCpu = Math.max(catCpu, processCpuSeconds(cat.pid ?? 0));
    }, 10);
    const cpu0 = childrenCpuSeconds();
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', cat.stdin, 'pipe'] });
    cat.stdin?.destroy(); // the child holds the pipe's write end: cat ends when the child does
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    let code: number | null = null;
    let left = 2;
    const done = () => {
      if (--left > 0) return;
      clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${err.trim()}`));
      resolve({ seconds, cpuSeconds: childrenCpuSeconds() - cpu0 - catCpu, bytes: 0 });
    };
    child.on('error', reject);
    cat.on('error', reject);
    child.on('close', (c) => {
      code = c;
      done();
    });
    cat.on('close', done);
  });
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** `vxflow decode` (the real CLI) against node-netflowv9 + JSON.stringify, end to end into a pipe. */
async function endToEnd(ctx: Parameters<Bench>[0]): Promise<void> {
  const datagrams = ctx.quick ? 5_000 : 30_000;
  const records = datagrams * 30;
  const runs = ctx.quick ? 3 : 7;
  const built = spawnSync(process.execPath, ['bin/build.js', '--quiet'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`bin/build.js failed: ${built.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 'vxflow-decode-bench-'));
  try {
    const file = join(dir, 'v9.pcap');
    writeFileSync(file, v9Capture(datagrams));
    const ours = ['dist/cli-decode.mjs', 'decode', file];
    const peer = ['bench/tools/node-netflowv9-decode.cjs', file];
    // a first run of each, not timed: both print every record
    for (const [name, args] of [
      ['vxflow decode', ours],
      ['node-netflowv9', peer],
    ] as const) {
      const r = await runInto('pipe', args, true);
      if (r.lines !== records) throw new Error(`${name} printed ${r.lines} lines, not ${records}`);
      ctx.log(`${name}: ${records} lines, ${(r.bytes / records).toFixed(0)} bytes per line`);
    }
    for (const sink of ['pipe', 'cat', '/dev/null'] as const) {
      const loadBefore = load();
      const a: SinkRun[] = [];
      const b: SinkRun[] = [];
      for (let i = 0; i < runs; i++) {
        a.push(await runInto(sink, ours));
        b.push(await runInto(sink, peer));
      }
      ctx.log(`stdout into ${sink}: load average before ${loadBefore}, after ${load()} (1, 5, 15 min)`);
      const wallA = median(a.map((r) => r.seconds));
      const wallB = median(b.map((r) => r.seconds));
      const cpuA = median(a.map((r) => r.cpuSeconds));
      const cpuB = median(b.map((r) => r.cpuSeconds));
      ctx.log(
        `stdout into ${sink}: vxflow decode ${wallA.toFixed(2)} s wall, ${cpuA.toFixed(2)} s CPU; ` +
          `node-netflowv9 ${wallB.toFixed(2)} s wall, ${cpuB.toFixed(2)} s CPU (medians of ${runs})`,
      );
      const into = { pipe: 'a pipe read by the bench', cat: 'a pipe read by cat', '/dev/null': '/dev/null' }[
        sink
      ];
      const what = `${records.toLocaleString('en-US')} v9 records, stdout into ${into}`;
      ctx.record({
        name: `vxflow decode end to end, wall time (${what})`,
        value: records / wallA,
        unit: 'records/s',
        peer: { name: 'node-netflowv9 + JSON.stringify', value: records / wallB },
        samples: a.map((r) => Math.round(records / r.seconds)),
        note: `load ${loadBefore}`,
      });
      ctx.record({
        name: `vxflow decode end to end, CPU time (${what})`,
        value: records / cpuA,
        unit: 'records per CPU second',
        peer: { name: 'node-netflowv9 + JSON.stringify', value: records / cpuB },
        samples: a.map((r) => Math.round(records / r.cpuSeconds)),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const bench: Bench = async (ctx) => {
  const runs = ctx.quick ? 3 : 7;
  const packetsPerRun = ctx.quick ? 5_000 : 20_000;

  type Case = {
    name: string;
    setup: Buffer[];
    data: Buffer;
    peer?: (p: PeerCtx, b: Buffer) => number;
  };
  const v9 = typicalV9();
  const cases: Case[] = [
    {
      name: 'decode v5 (Juniper MX80, 29 records/packet)',
      setup: [],
      data: readFileSync(join(CAPTURES, 'logstash-codec-netflow/netflow5_test_juniper_mx80.dat')),
      peer: (p, b) => p.nf5PktDecode(b, RINFO).flows.length,
    },
    {
      name: 'decode v9 (typical 20-field template, 30 records/packet)',
      setup: [v9.template],
      data: v9.data,
      peer: (p, b) => p.nf9PktDecode(b, RINFO).flows.length,
    },
    {
      name: 'decode v9 (Cisco 23-field template, goflow2 vector, 21 records/packet)',
      setup: [readFileSync(join(CAPTURES, 'goflow2/netflow__TestDecodeNetFlowV9__template.bin'))],
      data: readFileSync(join(CAPTURES, 'goflow2/netflow__TestDecodeNetFlowV9__data.bin')),
      peer: (p, b) => p.nf9PktDecode(b, RINFO).flows.length,
    },
    {
      name: 'decode IPFIX (20 fields: 7 VMware PEN, 2 variable-length; 20 records/message)',
      ...(() => {
        const x = ipfixEnterprise();
        return { setup: [x.template], data: x.data };
      })(),
    },
  ];

  for (const c of cases) {
    const decoder = createDecoder();
    let count = 0;
    const emit = () => {
      count++;
    };
    for (const s of c.setup) decoder.decode(s, '192.0.2.10', 0, emit);
    count = 0;
    decoder.decode(c.data, '192.0.2.10', 0, emit);
    const perPacket = count;
    if (perPacket === 0) throw new Error(`${c.name}: no records decoded`);
    const ours = await timeRuns(runs, () => {
      for (let i = 0; i < packetsPerRun; i++) decoder.decode(c.data, '192.0.2.10', 0, emit);
    });
    const ourRates = ours.map((t) => (packetsPerRun * perPacket) / t);
    let peer: { name: string; value: number } | undefined;
    if (c.peer) {
      const p = peerDecoder();
      for (const s of c.setup) c.peer(p, s);
      const peerPerPacket = c.peer(p, c.data);
      if (peerPerPacket !== perPacket)
        ctx.log(`${c.name}: node-netflowv9 saw ${peerPerPacket} records, we ${perPacket}`);
      const theirs = await timeRuns(runs, () => {
        for (let i = 0; i < packetsPerRun; i++) c.peer!(p, c.data);
      });
      peer = {
        name: 'node-netflowv9',
        value: median(theirs.map((t) => (packetsPerRun * peerPerPacket) / t)),
      };
    }
    ctx.record({
      name: c.name,
      value: median(ourRates),
      unit: 'records/s',
      ...(peer ? { peer } : { note: 'node-netflowv9 has no IPFIX' }),
      samples: ourRates.map(Math.round),
    });
  }

  await endToEnd(ctx);
};

export default bench;
