/**
 * Encoder throughput: records/s turned into datagrams for NetFlow v9, IPFIX and v5
 * (MTU 1400, default refresh), on a fixed mixed set (2/3 IPv4, 1/3 IPv6, VXLAN tunnels
 * with VTEPs). Median of several runs; every run encodes the whole set a few times.
 */
import { createFlowEncoder } from '../protocol/src/encode/index.ts';
import { knownFlows } from '../test/interop/known-flows.ts';
import { type Bench, median, timeRuns } from './lib.ts';

const bench: Bench = async (ctx) => {
  const n = ctx.quick ? 5_000 : 20_000;
  const rounds = ctx.quick ? 3 : 10;
  const runs = ctx.quick ? 3 : 7;
  const now = Date.UTC(2026, 10, 25, 12);
  const { records } = knownFlows(n, now);
  for (const version of [9, 10, 5] as const) {
    const enc = createFlowEncoder({ version, observationDomain: 1, bootTimeMs: now - 3_600_000 });
    let octets = 0;
    const times = await timeRuns(runs, () => {
      for (let i = 0; i < rounds; i++) for (const d of enc.encode(records, now + i)) octets += d.length;
    });
    const encoded = version === 5 ? records.filter((r) => !String(r.src_addr).includes(':')).length : n;
    const rates = times.map((t) => (encoded * rounds) / t);
    ctx.record({
      name: `encode ${version === 10 ? 'IPFIX' : `NetFlow v${version}`} (${encoded} records × ${rounds}, MTU 1400)`,
      value: Math.round(median(rates)),
      unit: 'records/s',
      samples: rates.map(Math.round),
      note: `${octets} octets produced in all`,
    });
  }
};

export default bench;
