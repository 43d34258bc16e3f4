/**
 * Storage cost of realistic flows: the simulator's multi-tenant traffic (Zipf-drawn tenants,
 * VMs and internet peers, role-based ports, log-normal sizes, VXLAN VNIs), enriched with the
 * simulated cloud's inventory as the collector would, stamped like the collector stamps
 * them (one exporter per VTEP host, arrival a moment after the flow ends), inserted as
 * RowBinary in the collector's batch size into a fresh database with its rollup views.
 *
 * Printed: bytes on disk per stored flow (flows table, after OPTIMIZE FINAL; and with the
 * three rollups), ClickHouse's insert rate and CPU per row on this traffic. The collector
 * bench measures the same on its sender's synthetic flows, which compress far better.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnricher } from '../collector/src/enrich/enrich.ts';
import { parseInventory } from '../collector/src/enrich/inventory.ts';
import { createGenerator, dailyFactor } from '../exporter/src/sources/sim/generate.ts';
import { inventoryYaml } from '../exporter/src/sources/sim/inventory.ts';
import { buildCloud } from '../exporter/src/sources/sim/model.ts';
import type { FlowRecord } from '../protocol/src/schema/columns.ts';
import { connectClickHouse } from '../storage/src/clickhouse.ts';
import { newFlowRowBuffer, writeFlowRowFast } from '../storage/src/flow-rowbinary.ts';
import { migrate } from '../storage/src/migrations.ts';
import { FLOW_INSERT_COLUMNS } from '../storage/src/rowbinary.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import { type Bench, median } from './lib.ts';
import { processCpuSeconds } from './proc-cpu.ts';

const BATCH = 200_000;

/** RowBinary batches of `total` simulated, enriched flows at `rate` flows/s of virtual time. */
function simulatedBatches(total: number, rate: number): Buffer[] {
  const cloud = buildCloud({ seed: 7, tenants: 12 });
  const inv = parseInventory(inventoryYaml(cloud));
  if (!inv.ok) throw new Error(`simulated inventory: ${inv.reason}`);
  const enricher = createEnricher(inv.value);
  const gen = createGenerator(cloud, 7);
  const batches: Buffer[] = [];
  let out = newFlowRowBuffer(BATCH * 256);
  let vt = Date.UTC(2026, 10, 25, 9);
  for (let i = 0; i < total; i++) {
    const rec: FlowRecord = gen.next(vt);
    rec.time_received = (rec.flow_end as number) + 50 + (i % 900);
    // the VTEP host's datapath exports (a few dozen exporters), as the demo's exporters do
    rec.exporter = `192.0.2.${1 + (i % 24)}`;
    rec.version = 10;
    rec.observation_domain = 1;
    rec.sampling_rate = 1;
    enricher.enrich(rec);
    writeFlowRowFast(out, rec);
    if (out.rows === BATCH) {
      batches.push(out.buf.subarray(0, out.off));
      out = newFlowRowBuffer(BATCH * 256);
    }
    vt += 1000 / (rate * dailyFactor(vt));
  }
  if (out.rows > 0) batches.push(out.buf.subarray(0, out.off));
  return batches;
}

export default (async (ctx) => {
  const total = ctx.quick ? 400_000 : 2_000_000;
  const work = mkdtempSync(join(tmpdir(), `vxflow-bench-storage-${process.pid}-`));
  const server = await startEmbedded({
    dataDir: join(work, 'ch'),
    httpPort: await freePort(),
    tcpPort: await freePort(),
  });
  try {
    ctx.log(`simulating ${total.toLocaleString('en-US')} flows (12 tenants, 5,000 flows/s of virtual time)`);
    const batches = simulatedBatches(total, 5000);
    const chPid = Number(
      execFileSync('pgrep', ['-f', `clickhouse-server.*${join(work, 'ch')}`], { encoding: 'utf8' }).split(
        '\n',
      )[0],
    );
    const rates: number[] = [];
    const cpus: number[] = [];
    const disk: number[] = [];
    const diskAll: number[] = [];
    for (let rep = 0; rep < (ctx.quick ? 1 : 3); rep++) {
      const database = `storage_${process.pid}_${rep}`;
      const ch = await connectClickHouse({ url: server.url, database } as never);
      try {
        await migrate(ch);
        const cpu0 = processCpuSeconds(chPid);
        const t0 = process.hrtime.bigint();
        for (const b of batches) await ch.insertRowBinary(`${database}.flows`, FLOW_INSERT_COLUMNS, b);
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        cpus.push(((processCpuSeconds(chPid) - cpu0) / total) * 1e6);
        rates.push(total / s);
        for (const t of ['flows', 'flows_1m', 'flows_5m', 'flows_1h'])
          await ch.command(`OPTIMIZE TABLE ${database}.${t} FINAL`);
        const parts = await ch.query<{ table: string; bytes: string }>(
          `SELECT table, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = '${database}' AND active GROUP BY table`,
        );
        const bytes = (t: string) => Number(parts.find((p) => p.table === t)?.bytes ?? 0);
        disk.push(bytes('flows') / total);
        diskAll.push(parts.reduce((n, p) => n + Number(p.bytes), 0) / total);
        if (rep === 0) {
          const cols = await ch.query<{ name: string; bytes: string }>(
            `SELECT name, data_compressed_bytes AS bytes FROM system.columns WHERE database = '${database}' AND table = 'flows' ORDER BY data_compressed_bytes DESC LIMIT 10`,
          );
          ctx.log(
            `where the bytes go (per flow): ${cols.map((c) => `${c.name} ${(Number(c.bytes) / total).toFixed(1)}`).join(', ')}`,
          );
        }
        await ch.command(`DROP DATABASE ${database}`);
      } finally {
        await ch.close();
      }
    }
    ctx.record({
      name: 'disk per stored flow, simulated multi-tenant traffic (flows table)',
      value: median(disk),
      unit: 'bytes/flow',
      samples: disk,
      note: 'target < 30',
    });
    ctx.record({
      name: 'disk per stored flow, simulated traffic, flows + 1m/5m/1h rollups',
      value: median(diskAll),
      unit: 'bytes/flow',
      samples: diskAll,
    });
    ctx.record({
      name: 'ClickHouse RowBinary insert rate, simulated traffic (with rollup views)',
      value: median(rates),
      unit: 'rows/s',
      samples: rates,
      note: `${BATCH.toLocaleString('en-US')}-row inserts; ${median(cpus).toFixed(2)} CPU µs per row in clickhouse-server`,
    });
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}) satisfies Bench;
