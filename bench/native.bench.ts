/**
 * Insert format: RowBinary against Native (issue 15), on the same simulated flows, both
 * sides of the cost: the decode worker's CPU to encode a row, and clickhouse-server's CPU to
 * insert it.
 *
 * Traffic: the simulator's multi-tenant flows (as bench/storage.bench.ts), exported as
 * IPFIX by one exporter per VTEP host, then decoded, sampled and enriched by the collector's
 * own stages, so the encoders see the decoder's records.
 *
 * (a) worker, on the first 200,000 flows: CPU per row of each output driver
 *     (collector/src/output/rowbinary.ts, native.ts) writing the decoded records and taking
 *     a chunk every 5,000 rows, as the worker does; and the whole worker path (decode +
 *     sampling + enrichment + output), whose difference to the path without an output is
 *     the output's share there.
 * (b) ClickHouse: a private clickhouse-server (18.16 here), its CPU time from /proc before
 *     and after inserting every flow in 200,000-row batches (the collector's batch size) in
 *     each format, merges stopped so only the inserts are counted; into a flows table with
 *     migration 1's three rollup views reading it, and into one without views (the layout
 *     once the collector computes the rollups itself), both built from the schema here.
 *     Several repetitions, the formats alternating, medians.
 * Then the sum per row (driver alone + ClickHouse), and which format is cheaper overall.
 *
 * BENCH_NATIVE_ROWS=<n> sets the number of flows (default 1,000,000; --quick 200,000).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createEnricher } from '../collector/src/enrich/enrich.ts';
import { parseInventory } from '../collector/src/enrich/inventory.ts';
import { createSamplingPolicy } from '../collector/src/enrich/sampling.ts';
import { nativeOutput } from '../collector/src/output/native.ts';
import type { FlowOutput, OutputDriver } from '../collector/src/output/output.ts';
import { rowbinaryOutput } from '../collector/src/output/rowbinary.ts';
import { createGenerator, dailyFactor } from '../exporter/src/sources/sim/generate.ts';
import { inventoryYaml } from '../exporter/src/sources/sim/inventory.ts';
import { buildCloud } from '../exporter/src/sources/sim/model.ts';
import { createDecoder } from '../protocol/src/decode/index.ts';
import { createFlowEncoder, type FlowEncoder } from '../protocol/src/encode/index.ts';
import type { FlowRecord } from '../protocol/src/schema/columns.ts';
import { type ClickHouse, connectClickHouse } from '../storage/src/clickhouse.ts';
import { createFlowsTable, createRollupTable, createRollupView, ROLLUPS } from '../storage/src/ddl.ts';
import { FLOW_INSERT_COLUMNS } from '../storage/src/rowbinary.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import { type Bench, median } from './lib.ts';
import { processCpuSeconds } from './proc-cpu.ts';

const CHUNK_ROWS = 5000;
const BATCH_ROWS = 200_000;
/** flows the worker's figures are taken on */
const WORKER_ROWS = 200_000;
const FORMATS = [
  { name: 'RowBinary', driver: rowbinaryOutput },
  { name: 'Native', driver: nativeOutput },
] as const;
type FormatName = (typeof FORMATS)[number]['name'];

/** A datagram as the collector receives it: bytes, the exporter's address, the arrival time. */
interface Datagram {
  bytes: Buffer;
  exporter: string;
  receivedMs: number;
}

/** `total` simulated flows as IPFIX datagrams, one exporter (and encoder) per VTEP host; and the inventory to enrich them with. */
function simulatedDatagrams(total: number): { datagrams: Datagram[]; inventory: string } {
  const cloud = buildCloud({ seed: 7, tenants: 12 });
  const gen = createGenerator(cloud, 7);
  const exporters = new Map<string, { enc: FlowEncoder; address: string; pending: FlowRecord[] }>();
  const datagrams: Datagram[] = [];
  let vt = Date.UTC(2026, 10, 25, 9);
  const send = (x: { enc: FlowEncoder; address: string; pending: FlowRecord[] }, now: number) => {
    for (const bytes of x.enc.encode(x.pending.splice(0), now))
      datagrams.push({ bytes, exporter: x.address, receivedMs: now + 50 });
  };
  for (let i = 0; i < total; i++) {
    const rec = gen.next(vt);
    const vtep = rec.tunnel_src || '192.0.2.1';
    let x = exporters.get(vtep);
    if (!x) {
      x = {
        enc: createFlowEncoder({ version: 10, observationDomain: 1, bootTimeMs: vt - 3_600_000 }),
        address: `192.0.2.${1 + exporters.size}`,
        pending: [],
      };
      exporters.set(vtep, x);
    }
    x.pending.push(rec);
    if (x.pending.length === 30) send(x, vt);
    vt += 1000 / (5000 * dailyFactor(vt));
  }
  for (const x of exporters.values()) if (x.pending.length > 0) send(x, vt);
  return { datagrams, inventory: inventoryYaml(cloud) };
}

/** The worker's stages (as collector/src/ingest/flow-pipeline.ts chains them): decode → sampling → enrichment → each output. */
function workerPath(
  inventory: string,
  outputs: FlowOutput[],
  onChunk: (bodies: Uint8Array[], rows: number) => void,
) {
  const inv = parseInventory(inventory);
  if (!inv.ok) throw new Error(`simulated inventory: ${inv.reason}`);
  const decoder = createDecoder({ keepExtra: false });
  const sampling = createSamplingPolicy({ default: 1, overrides: [] });
  const enricher = createEnricher(inv.value);
  let rows = 0;
  const emit = (rec: FlowRecord) => {
    sampling.apply(rec);
    enricher.enrich(rec);
    for (const o of outputs) o.write(rec);
    if (++rows >= CHUNK_ROWS) flush();
  };
  const flush = () => {
    if (rows === 0) return;
    const bodies = outputs.map((o) => o.take());
    onChunk(bodies, rows);
    rows = 0;
  };
  return {
    run(datagrams: readonly Datagram[]) {
      for (const d of datagrams) decoder.decode(d.bytes, d.exporter, d.receivedMs, emit);
      flush();
    },
  };
}

/** CPU seconds of this process (all its threads, GC included). */
function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Concatenates chunks into batches of about BATCH_ROWS rows, as the collector's batcher does. */
function batches(chunks: { body: Buffer; rows: number }[]): Buffer[] {
  const out: Buffer[] = [];
  let parts: Buffer[] = [];
  let rows = 0;
  for (const c of chunks) {
    parts.push(c.body);
    rows += c.rows;
    if (rows >= BATCH_ROWS) {
      out.push(Buffer.concat(parts));
      parts = [];
      rows = 0;
    }
  }
  if (parts.length > 0) out.push(Buffer.concat(parts));
  return out;
}

async function insert(ch: ClickHouse, table: string, format: FormatName, body: Buffer): Promise<void> {
  const res = await ch.client.exec({
    query: `INSERT INTO ${table} (${FLOW_INSERT_COLUMNS}) FORMAT ${format}`,
    values: Readable.from([body]),
  });
  for await (const _ of res.stream) {
    /* drain the empty answer */
  }
}

const us = (x: number) => x.toFixed(3);

export default (async (ctx) => {
  const total = Number(process.env.BENCH_NATIVE_ROWS ?? (ctx.quick ? 200_000 : 1_000_000));
  if (!Number.isInteger(total) || total < 1)
    throw new Error(`BENCH_NATIVE_ROWS: not a row count: ${process.env.BENCH_NATIVE_ROWS}`);
  const reps = ctx.quick ? 3 : 7;
  ctx.log(`simulating ${total.toLocaleString('en-US')} flows as IPFIX (12 tenants, one exporter per VTEP)`);
  const { datagrams, inventory } = simulatedDatagrams(total);

  // (a) the worker, on the first WORKER_ROWS flows (its cost per row does not grow with the
  // total; a smaller heap keeps the collector's garbage out of the figures): each driver alone
  // over the decoded records, and the whole path; the formats interleaved in every repetition
  const workerDatagrams: Datagram[] = [];
  const records: FlowRecord[] = [];
  {
    const collect: FlowOutput = { write: (r) => records.push(r), take: () => new Uint8Array(0) };
    const w = workerPath(inventory, [collect], () => {});
    for (const d of datagrams) {
      if (records.length >= WORKER_ROWS) break;
      w.run([d]);
      workerDatagrams.push(d);
    }
  }
  const workerRows = records.length;
  ctx.log(
    `${datagrams.length.toLocaleString('en-US')} datagrams; the worker is timed on the first ${workerRows.toLocaleString('en-US')} flows`,
  );
  const encodeOnly = new Map<FormatName, number[]>(FORMATS.map((f) => [f.name, []]));
  const path = new Map<string, number[]>([
    ['none', []],
    ...FORMATS.map((f) => [f.name, []] as [string, number[]]),
  ]);
  const bytesPerRow = new Map<FormatName, number>();
  const encodeAll = (driver: OutputDriver): number => {
    const out = driver.create();
    let bytes = 0;
    let n = 0;
    for (const r of records) {
      out.write(r);
      if (++n === CHUNK_ROWS) {
        bytes += out.take().byteLength;
        n = 0;
      }
    }
    if (n > 0) bytes += out.take().byteLength;
    return bytes;
  };
  for (let rep = 0; rep <= reps; rep++) {
    for (const f of FORMATS) {
      const c0 = ownCpu();
      const bytes = encodeAll(f.driver);
      const s = ownCpu() - c0;
      bytesPerRow.set(f.name, bytes / workerRows);
      if (rep > 0) encodeOnly.get(f.name)?.push((s / workerRows) * 1e6); // rep 0 warms up
    }
    for (const [name, drivers] of [['none', []], ...FORMATS.map((f) => [f.name, [f.driver]])] as [
      string,
      OutputDriver[],
    ][]) {
      const w = workerPath(
        inventory,
        drivers.map((d) => d.create()),
        () => {},
      );
      const c0 = ownCpu();
      w.run(workerDatagrams);
      const s = ownCpu() - c0;
      if (rep > 0) path.get(name)?.push((s / workerRows) * 1e6);
    }
  }
  records.length = 0;
  const encodeUs = new Map<FormatName, number>();
  for (const f of FORMATS) {
    const xs = encodeOnly.get(f.name) ?? [];
    encodeUs.set(f.name, median(xs));
    ctx.record({
      name: `worker: ${f.name} output driver alone (write + take per ${CHUNK_ROWS} rows)`,
      value: median(xs),
      unit: 'CPU µs/row',
      samples: xs,
      note: `${(bytesPerRow.get(f.name) ?? 0).toFixed(1)} bytes/row`,
    });
  }
  const none = median(path.get('none') ?? []);
  for (const f of FORMATS) {
    const xs = path.get(f.name) ?? [];
    ctx.record({
      name: `worker path: decode + sampling + enrichment + ${f.name}`,
      value: median(xs),
      unit: 'CPU µs/row',
      samples: xs,
      note: `the output's share: ${us(median(xs) - none)} (decode + sampling + enrichment alone: ${us(none)})`,
    });
  }

  // (b) ClickHouse's CPU for the inserts
  const work = mkdtempSync(join(tmpdir(), `vxflow-bench-native-${process.pid}-`));
  const server = await startEmbedded({
    dataDir: join(work, 'ch'),
    httpPort: await freePort(),
    tcpPort: await freePort(),
  });
  const database = `native_${process.pid}`;
  const ch = await connectClickHouse({ url: server.url, database: 'default' } as never);
  try {
    const chPid = Number(
      execFileSync('pgrep', ['-f', `clickhouse-server.*${join(work, 'ch')}`], { encoding: 'utf8' }).split(
        '\n',
      )[0],
    );
    // both layouts built here from the schema, whatever the migrations do now: flows with
    // migration 1's three rollup views reading it, and a second database's flows without any
    const plain = `${database}_plain`;
    await ch.command(`CREATE DATABASE ${database}`);
    await ch.command(`CREATE DATABASE ${plain}`);
    await ch.command(createFlowsTable(database));
    await ch.command(createFlowsTable(plain));
    for (const r of ROLLUPS) {
      await ch.command(createRollupTable(database, r));
      await ch.command(createRollupView(database, r));
    }
    ctx.log(`clickhouse-server ${ch.version} (pid ${chPid})`);
    // merges stopped: they would charge both formats the same background work at random moments
    await ch.command('SYSTEM STOP MERGES');
    // every flow through the worker path once per format (untimed): the bodies the collector would send
    let rows = 0;
    const byFormat = new Map<FormatName, Buffer[]>();
    for (const f of FORMATS) {
      const chunks: { body: Buffer; rows: number }[] = [];
      workerPath(inventory, [f.driver.create()], (b, n) =>
        chunks.push({ body: Buffer.from(b[0]), rows: n }),
      ).run(datagrams);
      rows = chunks.reduce((n, c) => n + c.rows, 0);
      byFormat.set(f.name, batches(chunks));
    }
    ctx.log(`${rows.toLocaleString('en-US')} flows in ${BATCH_ROWS.toLocaleString('en-US')}-row batches`);
    const tables = [
      {
        table: `${database}.flows`,
        label: `flows with ${ROLLUPS.length} rollup views`,
        truncate: [`${database}.flows`, ...ROLLUPS.map((r) => `${database}.${r.table}`)],
      },
      { table: `${plain}.flows`, label: 'flows without views', truncate: [`${plain}.flows`] },
    ];
    const chUs = new Map<string, number[]>();
    for (let rep = 0; rep <= reps; rep++) {
      for (const t of tables) {
        // alternate which format goes first
        const order = rep % 2 === 0 ? FORMATS : [...FORMATS].reverse();
        for (const f of order) {
          for (const name of t.truncate) await ch.command(`TRUNCATE TABLE ${name}`);
          const c0 = processCpuSeconds(chPid);
          for (const b of byFormat.get(f.name) ?? []) await insert(ch, t.table, f.name, b);
          const s = processCpuSeconds(chPid) - c0;
          const [{ n }] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${t.table}`);
          if (Number(n) !== rows) throw new Error(`${t.table} ${f.name}: ${n} rows stored of ${rows}`);
          const key = `${t.table}|${f.name}`;
          if (rep > 0) chUs.set(key, [...(chUs.get(key) ?? []), (s / rows) * 1e6]); // rep 0 warms up
        }
      }
    }
    for (const t of tables) {
      const total: Record<string, number> = {};
      for (const f of FORMATS) {
        const xs = chUs.get(`${t.table}|${f.name}`) ?? [];
        const enc = encodeUs.get(f.name) ?? 0;
        total[f.name] = median(xs) + enc;
        ctx.record({
          name: `clickhouse-server: ${f.name} insert into ${t.label}`,
          value: median(xs),
          unit: 'CPU µs/row',
          samples: xs,
          note: `+ worker encode ${us(enc)} = ${us(total[f.name])} CPU µs/row`,
        });
      }
      const [fast, slow] = [...FORMATS].sort((a, b) => total[a.name] - total[b.name]);
      ctx.record({
        name: `cheaper overall into ${t.label} (worker encode + ClickHouse insert)`,
        value: total[fast.name],
        unit: 'CPU µs/row',
        peer: { name: slow.name, value: total[slow.name] },
        ratio: total[slow.name] / total[fast.name],
        note: `${fast.name} saves ${us(total[slow.name] - total[fast.name])} CPU µs/row (${(100 * (1 - total[fast.name] / total[slow.name])).toFixed(0)} %)`,
      });
    }
    await ch.command('SYSTEM START MERGES');
    await ch.command(`DROP DATABASE ${database}`);
    await ch.command(`DROP DATABASE ${plain}`);
  } finally {
    await ch.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}) satisfies Bench;
