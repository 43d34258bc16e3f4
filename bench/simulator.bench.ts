/**
 * The simulator's generation rate: records/s of the flow generator alone, of the `sim`
 * source running flat out (virtual clock, no pacing), and of sim → v9 encoder (what
 * `vxflow exporter --source sim` can sustain before the network). Medians of several runs.
 */
import { createFlowEncoder } from '../protocol/src/encode/index.ts';
import type { FlowRecord } from '../protocol/src/schema/columns.ts';
import { createSimSource } from '../exporter/src/sources/sim.ts';
import { createGenerator } from '../exporter/src/sources/sim/generate.ts';
import { buildCloud } from '../exporter/src/sources/sim/model.ts';
import { type Bench, median, timeRuns } from './lib.ts';

const bench: Bench = async (ctx) => {
  const n = ctx.quick ? 50_000 : 300_000;
  const runs = ctx.quick ? 3 : 7;
  const start = Date.UTC(2026, 10, 25, 12);
  const cloud = buildCloud({ seed: 1, tenants: 12 });
  ctx.log(
    `cloud: ${cloud.tenants.length} tenants, ${cloud.tenants.reduce((a, t) => a + t.ports.length, 0)} VMs`,
  );

  let sink = 0;
  const genTimes = await timeRuns(runs, () => {
    const gen = createGenerator(cloud, 1);
    for (let i = 0; i < n; i++) sink += gen.next(start + i).packets as number;
  });
  const genRates = genTimes.map((t) => n / t);
  ctx.record({
    name: 'sim generator (12 tenants)',
    value: median(genRates),
    unit: 'records/s',
    samples: genRates,
  });

  const srcTimes = await timeRuns(runs, async () => {
    let count = 0;
    await createSimSource({
      rate: n,
      seed: 1,
      tenants: 12,
      durationS: 1,
      flat: true,
      realtime: false,
      startMs: start,
    }).run({
      emit: (r) => {
        count += r.length;
      },
      signal: new AbortController().signal,
    });
    sink += count;
  });
  const srcRates = srcTimes.map((t) => n / t);
  ctx.record({ name: 'sim source, unpaced', value: median(srcRates), unit: 'records/s', samples: srcRates });

  const encTimes = await timeRuns(runs, async () => {
    const enc = createFlowEncoder({ version: 9, observationDomain: 1, bootTimeMs: start - 1000 });
    const batch: FlowRecord[] = [];
    await createSimSource({
      rate: n,
      seed: 1,
      tenants: 12,
      durationS: 1,
      flat: true,
      realtime: false,
      startMs: start,
    }).run({
      emit: (r) => {
        for (const x of r) batch.push(x);
        if (batch.length >= 1000) sink += enc.encode(batch.splice(0), start + 1000).length;
      },
      signal: new AbortController().signal,
    });
    sink += enc.encode(batch, start + 1000).length;
  });
  const encRates = encTimes.map((t) => n / t);
  ctx.record({
    name: 'sim source → NetFlow v9 encoder',
    value: median(encRates),
    unit: 'records/s',
    samples: encRates,
  });
  if (sink === 0) ctx.log('(no output)');
};
export default bench;
