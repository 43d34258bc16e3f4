/**
 * The collector's per-flow work on one core, stage by stage, on the benchmark sender's
 * traffic (bench/tools/blast.c's NetFlow v9 layout: 30 records of 12 fields per datagram),
 * with source addresses spread over 65,536 hosts so address caches are exercised honestly:
 * decode only; decode + sampling + tenant enrichment; and that plus each output encoder
 * (RowBinary for ClickHouse, protobuf, JSON lines), through the decode worker's own
 * createFlowPipeline (collector/src/ingest/flow-pipeline.ts).
 * Median of several runs; records per CPU second of the process (GC threads included). BENCH_STAGE=<text> runs only the stages whose name has it.
 */
import { parseInventory } from '../collector/src/enrich/inventory.ts';
import { createFlowPipeline } from '../collector/src/ingest/flow-pipeline.ts';
import type { OutputName } from '../collector/src/output/registry.ts';
import { createDecoder } from '../protocol/src/decode/index.ts';
import { type Bench, median } from './lib.ts';

const PER = 30;
const RECLEN = 46;
const FIELDS: [number, number][] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [1, 8],
  [2, 8],
  [22, 4],
  [21, 4],
  [10, 4],
  [14, 4],
];

/** NetFlow v9 datagrams laid out as blast.c sends them; the first carries the template. */
export function blastV9(datagrams: number): Buffer[] {
  const out: Buffer[] = [];
  const bootMs = Date.now() - 60_000;
  let id = 0;
  const header = (b: Buffer, seq: number) => {
    const now = Date.now();
    b.writeUInt16BE(9, 0);
    b.writeUInt16BE(1, 2);
    b.writeUInt32BE((now - bootMs) >>> 0, 4);
    b.writeUInt32BE(Math.floor(now / 1000), 8);
    b.writeUInt32BE(seq, 12);
    b.writeUInt32BE(1, 16);
  };
  const t = Buffer.alloc(20 + 8 + FIELDS.length * 4);
  header(t, 0);
  t.writeUInt16BE(0, 20);
  t.writeUInt16BE(8 + FIELDS.length * 4, 22);
  t.writeUInt16BE(256, 24);
  t.writeUInt16BE(FIELDS.length, 26);
  FIELDS.forEach(([f, l], i) => {
    t.writeUInt16BE(f, 28 + i * 4);
    t.writeUInt16BE(l, 30 + i * 4);
  });
  out.push(t);
  for (let d = 1; d <= datagrams; d++) {
    const b = Buffer.alloc(20 + 4 + PER * RECLEN);
    header(b, d);
    b.writeUInt16BE(256, 20);
    b.writeUInt16BE(4 + PER * RECLEN, 22);
    const up = Date.now() - bootMs;
    for (let k = 0, r = 24; k < PER; k++, r += RECLEN, id++) {
      // hosts spread like real traffic rather than blast's runs of 65,536 flows per host
      b.writeUInt32BE((0x0a000000 | ((id * 2654435761) >>> 16)) >>> 0, r);
      b.writeUInt32BE(0x0a640001, r + 4);
      b.writeUInt16BE(id & 0xffff, r + 8);
      b.writeUInt16BE(443, r + 10);
      b[r + 12] = 6;
      b[r + 13] = 0x18;
      b.writeBigUInt64BE(100n, r + 14);
      b.writeBigUInt64BE(1n, r + 22);
      b.writeUInt32BE((up - 1000) >>> 0, r + 30);
      b.writeUInt32BE(up >>> 0, r + 34);
      b.writeUInt32BE(1, r + 38);
      b.writeUInt32BE(2, r + 42);
    }
    out.push(b);
  }
  return out;
}

const INVENTORY = `
tenants:
  - name: acme
    networks:
      - name: web
        vni: 5001
        subnets: [{ cidr: 10.0.0.0/9 }]
  - name: globex
    networks:
      - name: db
        subnets: [{ cidr: 10.128.0.0/9 }, { name: front, cidr: 10.100.0.0/16, ports: [{ name: lb-1, ip: 10.100.0.1 }] }]
`;

export default (async (ctx) => {
  const packets = blastV9(ctx.quick ? 2_000 : 10_000);
  const records = (packets.length - 1) * PER;
  const inv = parseInventory(INVENTORY);
  if (!inv.ok) throw new Error(`bench inventory: ${inv.reason}`);
  // the decode worker's own pipeline (collector/src/ingest/flow-pipeline.ts); chunks of the
  // worker's largest size are taken (copied out) and dropped, as the worker transfers them.
  // The hand-composed loop this replaced reset its buffers instead, so it left out that copy
  // (and the collection of the chunks' ArrayBuffers): its output figures were higher
  const stages: [string, OutputName[] | null][] = [
    ['decode', null],
    ['decode + sampling + enrichment', []],
    ['decode + enrichment + RowBinary (→ ClickHouse)', ['rowbinary']],
    ['decode + enrichment + protobuf', ['protobuf']],
    ['decode + enrichment + JSON lines', ['jsonl']],
  ];
  // BENCH_STAGE=protobuf runs the stages whose name contains it (for profiling one)
  const only = process.env.BENCH_STAGE ?? '';
  for (const [name, outputs] of stages.filter(([n]) => n.includes(only))) {
    let n = 0;
    let decode: (p: Buffer) => void;
    if (outputs === null) {
      // the decoder alone
      const dec = createDecoder({ keepExtra: false });
      const count = () => {
        n++;
      };
      decode = (p) => dec.decode(p, '192.0.2.1', Date.now(), count);
    } else {
      const pipeline = createFlowPipeline({
        decoder: {},
        sampling: { default: 1, overrides: [] },
        inventory: inv.value,
        outputs,
        chunkRows: 5000,
        onChunk: (chunk) => {
          n += chunk.rows;
        },
      });
      decode = (p) => pipeline.decode(p, '192.0.2.1', Date.now());
    }
    // CPU time of the process (GC threads included), not wall time: steadier on a shared machine
    const times: number[] = [];
    for (let run = 0; run <= (ctx.quick ? 3 : 7); run++) {
      const cpu0 = process.cpuUsage();
      for (const p of packets) decode(p);
      const cpu = process.cpuUsage(cpu0);
      if (run > 0) times.push((cpu.user + cpu.system) / 1e6); // run 0 warms up
    }
    if (n === 0) throw new Error(`${name}: nothing decoded`);
    const rates = times.map((s) => records / s);
    ctx.record({
      name: `worker path, v9: ${name}`,
      value: median(rates),
      unit: 'records/CPU s',
      samples: rates,
      note: `${(1e6 / median(rates)).toFixed(3)} CPU µs/record`,
    });
  }
}) satisfies Bench;
