/**
 * `npm run bench -- cluster`: what the ClickHouse cluster costs, on this machine.
 *
 * Same run, same traffic (the simulator's multi-tenant flows, encoded once as NetFlow v9 and
 * sent over UDP loopback paced on the collector's socket): one collector into one embedded
 * server, then one collector into the loopback cluster of test/helpers/cluster.ts (shard 1 =
 * ch1 + ch2, shard 2 = ch3, one ZooKeeper), schema by `migrateCluster`, then two collectors
 * (one exporter each) inserting through ch1 and ch3 into the cluster. Recorded: the
 * end-to-end rate (until every flow is counted through `flows`), ClickHouse CPU per flow
 * (every server process, from /proc; ZooKeeper apart), the collector's (+ sender's) CPU per
 * flow. Then the dashboard's main queries (dashboard/src/query: time series, top-N on a
 * rollup and on the raw table, flow search) against both, medians.
 *
 * On two cores shared by three servers, ZooKeeper, the collector and the sender, the cluster
 * cannot be faster: the figures say what coordination costs (the Distributed insert's
 * split and forwarding, the replica's fetch, ZooKeeper's bookkeeping, a query's fan-out and
 * merge), not the speed-up. The expected scaling is derived from the CPU per flow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFlowEncoder } from '../protocol/src/encode/index.ts';
import type { FlowRecord } from '../protocol/src/schema/columns.ts';
import { type ClickHouse, connectClickHouse } from '../storage/src/clickhouse.ts';
import { migrateCluster } from '../storage/src/cluster-migrate.ts';
import type { ClickHouseConfig } from '../storage/src/config.ts';
import { migrate } from '../storage/src/migrations.ts';
import { startEmbedded } from '../storage/src/server.ts';
import { searchFlows } from '../dashboard/src/query/flows.ts';
import { timeSeries, topN } from '../dashboard/src/query/traffic.ts';
import { startCollector, tempDir } from '../test/collector/harness.ts';
import { startTestCluster } from '../test/helpers/cluster.ts';
import { createFlowSource, createPacedSender, sleep } from './dashboard-data.ts';
import { type Bench, median } from './lib.ts';
import { processCpuSeconds } from './proc-cpu.ts';

const DB = 'bench_cluster';
const DB2 = 'bench_cluster_two';

interface IngestResult {
  seconds: number;
  /** CPU seconds of the servers during the ingest, net of what they burn idle */
  clickhouseCpu: number;
  perNodeCpu: Record<string, number>;
  /** CPU seconds per second of each process while idle (measured just before) */
  idleRate: Record<string, number>;
  collectorCpu: number;
}

const IDLE_SAMPLE_MS = 3000;

/** Each figure's median over several runs of the same setup. */
function medianResult(rs: readonly IngestResult[]): IngestResult {
  const med = (f: (r: IngestResult) => number) => median(rs.map(f));
  const keys = Object.keys(rs[0].perNodeCpu);
  return {
    seconds: med((r) => r.seconds),
    clickhouseCpu: med((r) => r.clickhouseCpu),
    collectorCpu: med((r) => r.collectorCpu),
    perNodeCpu: Object.fromEntries(keys.map((k) => [k, med((r) => r.perNodeCpu[k])])),
    idleRate: Object.fromEntries(keys.map((k) => [k, med((r) => r.idleRate[k])])),
  };
}

function uptime(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function count(ch: ClickHouse): Promise<number> {
  const [r] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ch.database}.flows`);
  return Number(r.n);
}

/**
 * One collector per target, each sent its own datagrams (at the same time), until
 * ClickHouse counts every flow through the first target; CPU from /proc.
 */
async function ingest(
  targets: readonly { clickhouse: ClickHouseConfig; datagrams: readonly Buffer[] }[],
  pids: () => Record<string, number | undefined>,
  flows: number,
): Promise<IngestResult> {
  const dir = tempDir('bench-cluster');
  const ch = await connectClickHouse(targets[0].clickhouse);
  // rows already there from an earlier round
  const base = await count(ch);
  const collectors: Awaited<ReturnType<typeof startCollector>>[] = [];
  try {
    for (const [i, t] of targets.entries())
      collectors.push(
        await startCollector({
          stateDir: join(dir.path, `collector-${i}`),
          clickhouse: t.clickhouse,
          config: { batchMaxRows: 50_000, batchMaxWaitMs: 500 },
        }),
      );
    const cpu = () =>
      Object.fromEntries(Object.entries(pids()).map(([k, pid]) => [k, pid ? processCpuSeconds(pid) : 0]));
    // what the servers burn doing nothing (background threads, ZooKeeper polling), so the
    // per-flow figure is the ingest's own cost and not the length of the run
    const idle0 = cpu();
    await sleep(IDLE_SAMPLE_MS);
    const idle1 = cpu();
    const idleRate = Object.fromEntries(
      Object.keys(idle1).map((k) => [k, (idle1[k] - (idle0[k] ?? 0)) / (IDLE_SAMPLE_MS / 1000)]),
    );
    const before = cpu();
    const self0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await Promise.all(
      targets.map(async (t, i) => {
        const sender = createPacedSender(collectors[i].udpPort, { maxPps: 20_000 });
        await sender.send(t.datagrams);
        await sender.drain();
        sender.close();
      }),
    );
    const deadline = Date.now() + 300_000;
    while ((await count(ch)) < base + flows) {
      if (Date.now() > deadline)
        throw new Error(`cluster bench: only ${(await count(ch)) - base} of ${flows} flows stored`);
      await sleep(100);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const self = process.cpuUsage(self0);
    const after = cpu();
    const perNodeCpu = Object.fromEntries(
      Object.keys(after).map((k) => [k, Math.max(0, after[k] - (before[k] ?? 0) - idleRate[k] * seconds)]),
    );
    const clickhouseCpu = Object.entries(perNodeCpu)
      .filter(([k]) => k !== 'zookeeper')
      .reduce((s, [, v]) => s + v, 0);
    return { seconds, clickhouseCpu, perNodeCpu, idleRate, collectorCpu: (self.user + self.system) / 1e6 };
  } finally {
    for (const c of collectors) await c.stop();
    await ch.close();
    dir.remove();
  }
}

/** The dashboard's main queries (the functions its API calls), on one connection. */
function dashboardQueries(ch: ClickHouse, tenant: string, startS: number, endS: number) {
  const range = { start: startS, end: endS };
  const queries: [string, () => Promise<unknown>][] = [
    [
      'time series (all tenants, bps by tenant)',
      () =>
        timeSeries(
          ch,
          { tenant: null },
          {
            range,
            unit: 'bps',
            dimensions: ['tenant'],
            filter: '',
            limit: 10,
            points: 120,
            previousPeriod: 'none',
          },
        ),
    ],
    [
      'time series (one tenant, bps by dst_port)',
      () =>
        timeSeries(
          ch,
          { tenant },
          {
            range,
            unit: 'bps',
            dimensions: ['dst_port'],
            filter: '',
            limit: 10,
            points: 120,
            previousPeriod: 'none',
          },
        ),
    ],
    [
      'top 10 dst_port (rollup)',
      () => topN(ch, { tenant }, { range, unit: 'bps', dimensions: ['dst_port'], filter: '', limit: 10 }),
    ],
    [
      'top 10 src_addr (raw flows)',
      () => topN(ch, { tenant }, { range, unit: 'bps', dimensions: ['src_addr'], filter: '', limit: 10 }),
    ],
    [
      'flow search (newest 100)',
      () => searchFlows(ch, { tenant }, { range, filter: '', limit: 100 }, 'bench'),
    ],
  ];
  return queries;
}

/**
 * Times each query on both targets, alternating one run on each, so a change in the
 * machine's load (other work shares these two cores) falls on both alike: median ms.
 */
async function compareQueries(
  single: ReturnType<typeof dashboardQueries>,
  cluster: ReturnType<typeof dashboardQueries>,
  runs: number,
) {
  const out: { name: string; single: number; cluster: number; samples: number[] }[] = [];
  const time = async (run: () => Promise<unknown>) => {
    const t0 = process.hrtime.bigint();
    await run();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  for (let q = 0; q < single.length; q++) {
    await single[q][1]();
    await cluster[q][1]();
    const s: number[] = [];
    const c: number[] = [];
    for (let i = 0; i < runs; i++) {
      s.push(await time(single[q][1]));
      c.push(await time(cluster[q][1]));
    }
    out.push({ name: single[q][0], single: median(s), cluster: median(c), samples: c });
  }
  return out;
}

export default (async (ctx) => {
  const flows = ctx.quick ? 40_000 : 200_000;
  const runs = ctx.quick ? 5 : 15;
  const rounds = ctx.quick ? 1 : 3;
  ctx.log(`load average before: ${uptime()}`);

  // the traffic, once: simulated tenants, sent now (flow times moved to the present)
  const source = createFlowSource(flows);
  const all: FlowRecord[] = [];
  for (let b = source.next(10_000); b.length > 0; b = source.next(10_000)) all.push(...b);
  const now = Date.now();
  for (const r of all) {
    r.flow_start = now - 2000;
    r.flow_end = now - 1000;
  }
  // two exporters (observation domains 1 and 2), half the flows each: one collector takes
  // both, or two collectors one each
  const stream = (domain: number, records: FlowRecord[]) => {
    const enc = createFlowEncoder({
      version: 9,
      observationDomain: domain,
      bootTimeMs: now - 60_000,
      templateRefreshPackets: 1e9,
      templateRefreshMs: 1e9,
    });
    return [...enc.templates(now), ...enc.encode(records, now)];
  };
  const half = all.length >> 1;
  const streamA = stream(1, all.slice(0, half));
  const streamB = stream(2, all.slice(half));
  const datagrams = [...streamA, ...streamB];
  const tenant = source.tenants[0];

  const singleDir = tempDir('bench-cluster-single');
  const single = await startEmbedded({ dataDir: singleDir.path, httpPort: 0, tcpPort: 0 });
  const cluster = await startTestCluster();
  try {
    const singleCfg = { ...cluster.config(DB), url: single.url };
    const singlePid = () =>
      (JSON.parse(readFileSync(join(singleDir.path, 'vxflow-server.json'), 'utf8')) as { pid: number }).pid;
    const sch = await connectClickHouse(singleCfg);
    await migrate(sch);
    const cch = await cluster.connect(DB);
    await migrateCluster(cch, cluster.name);

    const startS = Math.floor(Date.now() / 1000) - 120;
    const clusterPids = () => ({
      ...Object.fromEntries(cluster.nodes.map((n) => [n.name, n.pid()])),
      zookeeper: cluster.zookeeper.pid(),
    });
    const c2 = await cluster.connect(DB2);
    await migrateCluster(c2, cluster.name);
    await c2.close();
    // the three setups in turn, `rounds` times, so a change in the machine's load falls on
    // all of them alike; medians of each figure
    const runs1: IngestResult[] = [];
    const runs2: IngestResult[] = [];
    const runs3: IngestResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      ctx.log(`round ${round}/${rounds}: ${flows} flows (${datagrams.length} datagrams) into one server…`);
      runs1.push(
        await ingest([{ clickhouse: singleCfg, datagrams }], () => ({ single: singlePid() }), flows),
      );
      ctx.log(`load average: ${uptime()}; the same into the cluster (2 shards, shard 1 with 2 replicas)…`);
      runs2.push(await ingest([{ clickhouse: cluster.config(DB), datagrams }], clusterPids, flows));
      // two collectors, each inserting through another node (ch1 of shard 1, ch3 of shard 2),
      // into a database of their own
      ctx.log(`load average: ${uptime()}; two collectors, one exporter each, into ch1 and ch3…`);
      runs3.push(
        await ingest(
          [
            { clickhouse: cluster.config(DB2, 'ch1'), datagrams: streamA },
            { clickhouse: cluster.config(DB2, 'ch3'), datagrams: streamB },
          ],
          clusterPids,
          flows,
        ),
      );
    }
    const one = medianResult(runs1);
    const two = medianResult(runs2);
    const twoByTwo = medianResult(runs3);
    const load = uptime();
    ctx.log(`load average: ${load}`);
    const us = (cpu: number) => (cpu / flows) * 1e6;
    ctx.record({
      name: 'ingest rate, one collector into the 2-shard cluster',
      value: flows / two.seconds,
      unit: 'flows/s',
      peer: { name: 'one server', value: flows / one.seconds },
      note: `end to end, paced on the collector's socket; medians of ${rounds} rounds; load ${load}`,
    });
    ctx.record({
      name: 'ClickHouse CPU per flow, cluster (all 3 servers)',
      value: us(two.clickhouseCpu),
      unit: 'µs/flow',
      peer: { name: 'one server', value: us(one.clickhouseCpu) },
      note: `net of idle (cluster idle ${Object.entries(two.idleRate)
        .map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`)
        .join(
          ', ',
        )}; one server idle ${(one.idleRate.single * 100).toFixed(1)}% of a core); ch1 ${us(two.perNodeCpu.ch1).toFixed(2)}, ch2 (replica) ${us(two.perNodeCpu.ch2).toFixed(2)}, ch3 ${us(two.perNodeCpu.ch3).toFixed(2)}; ZooKeeper ${us(two.perNodeCpu.zookeeper).toFixed(2)} µs/flow`,
    });
    ctx.record({
      name: 'ingest rate, two collectors (into ch1 and ch3) into the 2-shard cluster',
      value: flows / twoByTwo.seconds,
      unit: 'flows/s',
      peer: { name: 'one collector, one server', value: flows / one.seconds },
      note: `ClickHouse CPU ${us(twoByTwo.clickhouseCpu).toFixed(2)} µs/flow net of idle (ch1 ${us(twoByTwo.perNodeCpu.ch1).toFixed(2)}, ch2 ${us(twoByTwo.perNodeCpu.ch2).toFixed(2)}, ch3 ${us(twoByTwo.perNodeCpu.ch3).toFixed(2)}; ZooKeeper ${us(twoByTwo.perNodeCpu.zookeeper).toFixed(2)}); load ${load}`,
    });
    ctx.record({
      name: 'collector (+ sender) CPU per flow, into the cluster',
      value: us(two.collectorCpu),
      unit: 'µs/flow',
      peer: { name: 'into one server', value: us(one.collectorCpu) },
    });

    // expected scaling from the CPU per flow: a core of a shard's writer node takes
    // 1e6 / (writer µs per flow) flows/s; a shard with a replica also pays the replica's fetch
    const stored = await cch.query<{ shard: number; n: string }>(
      `SELECT intHash64(batch_id) % 2 + 1 AS shard, count() AS n FROM ${DB}.flows GROUP BY shard ORDER BY shard`,
    );
    const perShard = Object.fromEntries(stored.map((r) => [r.shard, Number(r.n) / rounds]));
    const writerUs = ((two.perNodeCpu.ch1 + two.perNodeCpu.ch3) / flows) * 1e6;
    const replicaUs = (two.perNodeCpu.ch2 / (perShard[1] || 1)) * 1e6;
    const singleUs = us(one.clickhouseCpu);
    ctx.log(
      `flows per shard: ${JSON.stringify(perShard)}; one server ${singleUs.toFixed(2)} µs/flow → ${Math.round(1e6 / singleUs).toLocaleString('en-US')} flows/s per core; ` +
        `cluster writers ${writerUs.toFixed(2)} µs/flow → ${Math.round(1e6 / writerUs).toLocaleString('en-US')} flows/s per writer core, ` +
        `each replica ${replicaUs.toFixed(2)} µs per flow of its shard`,
    );
    ctx.record({
      name: 'expected ClickHouse ingest per added core (cluster, from CPU per flow)',
      value: 1e6 / writerUs,
      unit: 'flows/s/core',
      peer: { name: 'one server, per core', value: 1e6 / singleUs },
      note: `a shard of k cores adds ≈ k × this; each replica of it costs ${replicaUs.toFixed(2)} µs per flow of its shard on its own cores`,
    });

    const endS = Math.floor(Date.now() / 1000) + 60;
    const qs = await compareQueries(
      dashboardQueries(sch, tenant, startS, endS),
      dashboardQueries(cch, tenant, startS, endS),
      runs,
    );
    const qload = uptime();
    ctx.log(`load average: ${qload}`);
    for (const q of qs)
      ctx.record({
        name: `query: ${q.name}, through the Distributed tables`,
        value: q.cluster,
        unit: 'ms',
        peer: { name: 'one server', value: q.single },
        samples: q.samples,
        note: `median of ${runs}, alternating runs; ratio = cluster / one server (higher = slower); load ${qload}`,
      });
    await sch.close();
    await cch.close();
  } finally {
    await cluster.stop();
    await single.stop();
    singleDir.remove();
  }
}) satisfies Bench;
