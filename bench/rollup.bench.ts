/**
 * `npm run bench -- rollup`: what moving the rollups into the collector (issue 15) costs
 * and saves, on the simulator's enriched multi-tenant traffic cut into the collector's
 * chunks (5 000 flows) and batches (200 000 rows):
 *
 * - the decode worker's extra CPU per flow for the rollup aggregation
 *   (collector/src/output/rollup-aggregator.ts), beside the RowBinary writer's on the same
 *   flows, and the aggregation ratio per chunk (raw rows per rollup row);
 * - the receiving thread's CPU per flow for summing a batch's chunks again
 *   (collector/src/output/rollup-merge.ts), and the ratio per batch: what ClickHouse gets;
 * - clickhouse-server's CPU per raw row, from /proc, for the same batches inserted three
 *   ways: the schema before migration 5 (three views on flows), the collector's path after
 *   it (each batch's merged rollup rows into flows_rollup_in, whose views feed the rollups,
 *   then the raw rows), and raw rows alone (the floor: no rollups at all).
 *
 * Medians of several runs, each starting with another mode; before each measurement the
 * server's merges are let finish and its idle CPU rate is measured and subtracted. The load
 * average is printed beside the figures, because they move with what else the machine runs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { takeOutputBuffer } from '../common/output-buffer.ts';
import { createEnricher } from '../collector/src/enrich/enrich.ts';
import { parseInventory } from '../collector/src/enrich/inventory.ts';
import { createRollupAggregator } from '../collector/src/output/rollup-aggregator.ts';
import { mergeRollupParts } from '../collector/src/output/rollup-merge.ts';
import { createGenerator } from '../exporter/src/sources/sim/generate.ts';
import { inventoryYaml } from '../exporter/src/sources/sim/inventory.ts';
import { buildCloud } from '../exporter/src/sources/sim/model.ts';
import type { FlowRecord } from '../protocol/src/schema/columns.ts';
import { type ClickHouse, connectClickHouse } from '../storage/src/clickhouse.ts';
import { ClickHouseConfig } from '../storage/src/config.ts';
import { ROLLUP_INSERT_COLUMNS, ROLLUP_STAGING_TABLE } from '../storage/src/ddl.ts';
import { newFlowRowBuffer, writeFlowRowFast } from '../storage/src/flow-rowbinary.ts';
import { migrate } from '../storage/src/migrations.ts';
import { FLOW_INSERT_COLUMNS } from '../storage/src/rowbinary.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import { Value } from '@sinclair/typebox/value';
import { type Bench, median } from './lib.ts';
import { processCpuSeconds } from './proc-cpu.ts';

const CHUNK = 5000;
const BATCH = 200_000;
/** the simulated flows arrive at this rate, so a chunk spans 50 ms as at 100 k flows/s per worker */
const RATE = 100_000;
const EXPORTERS = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];

function simulatedFlows(n: number): FlowRecord[] {
  const cloud = buildCloud({ seed: 5, tenants: 8 });
  const inv = parseInventory(inventoryYaml(cloud));
  if (!inv.ok) throw new Error(inv.reason);
  const enricher = createEnricher(inv.value);
  const gen = createGenerator(cloud, 5);
  const start = Date.UTC(2026, 11, 1, 10, 0, 0);
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const t = start + Math.floor((i * 1000) / RATE);
    const r = gen.next(t);
    r.time_received = t;
    // the collector's flows come a datagram (~30 flows) at a time, each with its exporter's one string
    r.exporter = EXPORTERS[Math.floor(i / 30) % EXPORTERS.length];
    r.version = 9;
    enricher.enrich(r);
    out.push(r);
  }
  return out;
}

/** CPU seconds this thread spends on fn (user + system). */
function cpuOf(fn: () => void): number {
  const a = process.cpuUsage();
  fn();
  const b = process.cpuUsage(a);
  return (b.user + b.system) / 1e6;
}

interface Encoded {
  raw: Buffer[];
  rollup: Buffer[];
}

function encodeChunks(flows: FlowRecord[]): Encoded {
  const rawOut = newFlowRowBuffer(1 << 20);
  const rollupOut = newFlowRowBuffer(1 << 16);
  const agg = createRollupAggregator();
  const enc: Encoded = { raw: [], rollup: [] };
  for (let i = 0; i < flows.length; i += CHUNK) {
    const end = Math.min(flows.length, i + CHUNK);
    for (let j = i; j < end; j++) {
      writeFlowRowFast(rawOut, flows[j]);
      agg.add(flows[j]);
    }
    enc.raw.push(Buffer.from(takeOutputBuffer(rawOut)));
    agg.writeTo(rollupOut);
    enc.rollup.push(Buffer.from(takeOutputBuffer(rollupOut)));
  }
  return enc;
}

type Mode = 'views on flows (before)' | 'collector rollups (after)' | 'raw only (floor)';
const MODES: Mode[] = ['views on flows (before)', 'collector rollups (after)', 'raw only (floor)'];

/**
 * Waits until the server merges nothing (what the last mode left must not be charged to the
 * next), then measures its idle CPU rate for a second: the part of a measurement that is
 * not the inserts' (background threads, the other helpers' load on the same cores).
 */
async function settle(ch: ClickHouse, pid: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [m] = await ch.query<{ n: string }>('SELECT count() AS n FROM system.merges');
    if (Number(m?.n ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const c0 = processCpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 1000));
  return (processCpuSeconds(pid) - c0) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Inserts every batch as the collector would in `mode`; returns the server's CPU seconds, net of its idle rate. */
async function insertAll(ch: ClickHouse, pid: number, enc: Encoded, mode: Mode): Promise<number> {
  const perBatch = BATCH / CHUNK;
  const idle = await settle(ch, pid);
  const t0 = process.hrtime.bigint();
  const cpu0 = processCpuSeconds(pid);
  for (let c = 0; c < enc.raw.length; c += perBatch) {
    if (mode === 'collector rollups (after)')
      await ch.insertRowBinary(
        `${ch.database}.${ROLLUP_STAGING_TABLE}`,
        ROLLUP_INSERT_COLUMNS,
        mergeRollupParts(enc.rollup.slice(c, c + perBatch)).body,
      );
    await ch.insertRowBinary(
      `${ch.database}.flows`,
      FLOW_INSERT_COLUMNS,
      Buffer.concat(enc.raw.slice(c, c + perBatch)),
    );
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return processCpuSeconds(pid) - cpu0 - idle * seconds;
}

const bench: Bench = async (ctx) => {
  const n = ctx.quick ? 200_000 : 1_000_000;
  const runs = ctx.quick ? 2 : 5;
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  ctx.log(`load average at start: ${load()}`);
  const flows = simulatedFlows(n);

  // --- the worker: RowBinary writer vs rollup aggregation, CPU per flow ---------------
  const rawOut = newFlowRowBuffer(1 << 20);
  const rollupOut = newFlowRowBuffer(1 << 16);
  const agg = createRollupAggregator();
  let rollupRows = 0;
  const writeRaw = () => {
    for (let i = 0; i < flows.length; i += CHUNK) {
      const end = Math.min(flows.length, i + CHUNK);
      for (let j = i; j < end; j++) writeFlowRowFast(rawOut, flows[j]);
      takeOutputBuffer(rawOut);
    }
  };
  const aggregate = () => {
    rollupRows = 0;
    for (let i = 0; i < flows.length; i += CHUNK) {
      const end = Math.min(flows.length, i + CHUNK);
      for (let j = i; j < end; j++) agg.add(flows[j]);
      agg.writeTo(rollupOut);
      rollupRows += rollupOut.rows;
      takeOutputBuffer(rollupOut);
    }
  };
  writeRaw();
  aggregate();
  const rawNs: number[] = [];
  const aggNs: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    rawNs.push((cpuOf(writeRaw) * 1e9) / n);
    aggNs.push((cpuOf(aggregate) * 1e9) / n);
  }
  ctx.record({
    name: 'worker: rollup aggregation, CPU per flow (chunks of 5 000)',
    value: median(aggNs),
    unit: 'ns/flow',
    samples: aggNs,
    peer: { name: 'RowBinary writer on the same flows', value: median(rawNs) },
    note: `load ${load()}`,
  });
  ctx.record({
    name: 'aggregation ratio on simulated traffic, per worker chunk (raw rows per rollup row)',
    value: n / rollupRows,
    unit: 'rows/row',
    note: `${n.toLocaleString('en-US')} flows → ${rollupRows.toLocaleString('en-US')} rollup rows`,
  });

  // --- the receiving thread: a batch's chunks summed into one row per key ---------------
  const enc = encodeChunks(flows);
  const perBatch = BATCH / CHUNK;
  let mergedRows = 0;
  const merge = () => {
    mergedRows = 0;
    for (let c = 0; c < enc.rollup.length; c += perBatch)
      mergedRows += mergeRollupParts(enc.rollup.slice(c, c + perBatch)).rows;
  };
  merge();
  const mergeNs: number[] = [];
  for (let r = 0; r < runs + 2; r++) mergeNs.push((cpuOf(merge) * 1e9) / n);
  ctx.record({
    name: "receiving thread: merging a batch's rollup rows, CPU per flow",
    value: median(mergeNs),
    unit: 'ns/flow',
    samples: mergeNs,
    note: `load ${load()}`,
  });
  ctx.record({
    name: 'aggregation ratio on simulated traffic, per batch of 200 000 (raw rows per rollup row sent)',
    value: n / mergedRows,
    unit: 'rows/row',
    note: `${n.toLocaleString('en-US')} flows → ${mergedRows.toLocaleString('en-US')} rollup rows inserted`,
  });

  // --- ClickHouse: CPU per raw row, before / after / floor -----------------------------
  const work = mkdtempSync(join(tmpdir(), `vxflow-bench-rollup-${process.pid}-`));
  const server = await startEmbedded({
    dataDir: work,
    httpPort: await freePort(),
    tcpPort: await freePort(),
  });
  try {
    const pid = (JSON.parse(readFileSync(join(work, 'vxflow-server.json'), 'utf8')) as { pid: number }).pid;
    const base = Value.Default(ClickHouseConfig, {}) as ClickHouseConfig;
    const samples = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
    for (let run = 0; run < runs; run++) {
      // each run starts with another mode, so none always follows the same one
      for (const mode of [...MODES.slice(run % MODES.length), ...MODES.slice(0, run % MODES.length)]) {
        const database = `bench_rollup_${process.pid}_${run}_${MODES.indexOf(mode)}`;
        const ch = await connectClickHouse({ ...base, url: server.url, database });
        try {
          await migrate(ch, mode === 'views on flows (before)' ? { upTo: 4 } : {});
          const cpu = await insertAll(ch, pid, enc, mode);
          samples.get(mode)?.push((cpu * 1e6) / n);
        } finally {
          await ch.command(`DROP DATABASE IF EXISTS ${database}`);
          await ch.close();
        }
      }
      ctx.log(
        `run ${run + 1}: ${MODES.map((m) => `${m} ${samples.get(m)?.at(-1)?.toFixed(2)} µs/row`).join(', ')}; load ${load()}`,
      );
    }
    const before = median(samples.get('views on flows (before)') ?? []);
    for (const mode of MODES) {
      const s = samples.get(mode) ?? [];
      ctx.record({
        name: `clickhouse-server CPU per raw row: ${mode}`,
        value: median(s),
        unit: 'µs/row',
        samples: s,
        ...(mode === 'views on flows (before)' ? {} : { peer: { name: 'views on flows', value: before } }),
        note: `${n.toLocaleString('en-US')} rows in batches of ${BATCH.toLocaleString('en-US')}; load ${load()}`,
      });
    }
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
  ctx.log(`load average at end: ${load()}`);
};

export default bench;
