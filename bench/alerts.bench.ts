/**
 * Alert evaluation cost and webhook delay.
 *
 * Data: 10 million flows (1 million with --quick; BENCH_ALERTS_FLOWS overrides) from the
 * exporter's simulator (8 tenants, their networks, SYN floods), evenly over 2026-11-30
 * 00:00–24:00 UTC, enriched with the simulator's inventory as the collector would, written
 * with the project's RowBinary writer into a fresh database (CLICKHOUSE_URL, else an
 * embedded server); the rollups fill through their materialized views.
 *
 * Evaluation cost: 1, 100 and 1,000 rules evaluated as of the end of the day, a mix an
 * operator would run: 70 % threshold rules on bits/packets/flows per second of one tenant
 * over 5 minutes (some with a filter on VNI, protocol or port), 20 % per-VNI rules over 5
 * minutes, 10 % SYN-share rules per (VNI, destination) over a minute on the raw table.
 * Each count is evaluated once to warm up, then 7 times (3 with --quick): median wall
 * time of evaluateRules (queries, JSON, judging), the number of queries, and the rows
 * ClickHouse reads for them (max_rows_to_read=1 makes 18.16 name the rows it would read;
 * it has no query_log here). The "peer" of the batched evaluation is the same 100 rules
 * evaluated one query per rule.
 *
 * Delay: an evaluator (interval 1 s, window 1 s, lag 1 s, tick 200 ms) and a receiver on
 * loopback; flows written each 100 ms stamped with the current second; at a crossing the
 * rate goes from 5 to 200 flows/s (threshold 50). Figure: from the first write of the high
 * rate to the firing webhook arriving, median of 5 crossings. By construction it is about
 * window + lag + up to one interval + the tick; with the defaults (lag 10 s, rollups of a
 * minute for windows of a minute or more) add those.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { createEnricher } from '../collector/src/enrich/enrich.ts';
import { parseInventory } from '../collector/src/enrich/inventory.ts';
import { createEvaluator } from '../dashboard/src/alerts/engine.ts';
import { evaluateRules } from '../dashboard/src/alerts/evaluate.ts';
import type { Rule, RuleSpec } from '../dashboard/src/alerts/model.ts';
import { batchSql, planBatches } from '../dashboard/src/alerts/query.ts';
import { createAlertStore } from '../dashboard/src/alerts/store.ts';
import { DashboardConfig } from '../dashboard/src/config.ts';
import { createGenerator } from '../exporter/src/sources/sim/generate.ts';
import { inventoryYaml } from '../exporter/src/sources/sim/inventory.ts';
import { buildCloud } from '../exporter/src/sources/sim/model.ts';
import { emptyFlow, type FlowRecord } from '../protocol/src/schema/columns.ts';
import { type ClickHouse, connectClickHouse } from '../storage/src/clickhouse.ts';
import { ClickHouseConfig } from '../storage/src/config.ts';
import { encodeFlowsRowBinary } from '../storage/src/flow-rowbinary.ts';
import { migrate } from '../storage/src/migrations.ts';
import { backfillAllRollups } from '../storage/src/rollup-backfill.ts';
import { FLOW_INSERT_COLUMNS } from '../storage/src/rowbinary.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import { type Bench, median } from './lib.ts';

const DAY0 = Date.UTC(2026, 10, 30) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rule(i: number, tenants: string[], spec: Partial<RuleSpec>): Rule {
  return {
    name: `bench ${i}`,
    enabled: true,
    scope: {},
    groupBy: [],
    measure: 'bps',
    condition: { type: 'threshold', op: 'above', value: 1e12 },
    windowSeconds: 300,
    intervalSeconds: 60,
    activation: { matches: 1, of: 1 },
    resolve: { after: 1, ratio: 1 },
    cooldownSeconds: 0,
    renotifySeconds: 0,
    minFlowsPerSecond: 0,
    targets: [],
    ...spec,
    id: i.toString(16).padStart(16, '0'),
    tenant: spec.scope?.filter?.includes('tenant') ? null : tenants[i % tenants.length],
    builtin: '',
    created: '',
    updated: '',
    version: 1,
  } as Rule;
}

/** The rule mix of the header comment. */
function mix(n: number, tenants: string[], vnis: number[]): Rule[] {
  const out: Rule[] = [];
  const filters = [
    '',
    '',
    'proto tcp',
    'dst port 443',
    `vni ${vnis[0]}`,
    'proto udp and dst port 53',
    'class east-west',
  ];
  for (let i = 0; i < n; i++) {
    const kind = i % 10;
    if (kind < 7)
      out.push(
        rule(i, tenants, {
          measure: (['bps', 'pps', 'fps'] as const)[i % 3],
          scope: { filter: filters[i % filters.length] },
          condition: { type: 'threshold', op: 'above', value: 1e6 * (1 + (i % 50)) },
        }),
      );
    else if (kind < 9)
      out.push(
        rule(i, tenants, {
          measure: 'bps',
          groupBy: ['vni'],
          condition: { type: 'threshold', op: 'above', value: 1e7 },
        }),
      );
    else
      out.push(
        rule(i, tenants, {
          measure: 'syn_share',
          groupBy: ['vni', 'dst_addr'],
          windowSeconds: 60,
          minFlowsPerSecond: 1,
          condition: { type: 'threshold', op: 'above', value: 0.5 },
        }),
      );
  }
  return out;
}

async function load(
  ch: ClickHouse,
  total: number,
  log: (m: string) => void,
): Promise<{ tenants: string[]; vnis: number[] }> {
  const cloud = buildCloud({ seed: 11, tenants: 8 });
  const inv = parseInventory(inventoryYaml(cloud));
  if (!inv.ok) throw new Error(inv.reason);
  const enricher = createEnricher(inv.value);
  const gen = createGenerator(cloud, 11);
  const span = 86_400_000 - 2000;
  let inflight: Promise<void> = Promise.resolve();
  const t0 = Date.now();
  for (let i = 0; i < total; ) {
    const chunk: FlowRecord[] = [];
    for (; chunk.length < 25_000 && i < total; i++) {
      const t = DAY0 * 1000 + Math.floor((i * span) / total);
      const r = gen.next(t);
      r.time_received = t + (i % 997);
      r.exporter = `192.0.2.${1 + (i % 6)}`;
      r.observation_domain = 1 + (i % 6);
      r.version = 9;
      enricher.enrich(r);
      chunk.push(r);
    }
    await inflight;
    const body = encodeFlowsRowBinary(chunk);
    // Generating a chunk keeps the event loop busy for a while, so the client cannot retire
    // a keep-alive socket the server closed meanwhile (EPIPE on the next insert): retry once
    // (a chunk either arrived whole or not at all: an insert is one request).
    inflight = ch
      .insertRowBinary(`${ch.database}.flows`, FLOW_INSERT_COLUMNS, body)
      .catch(() => ch.insertRowBinary(`${ch.database}.flows`, FLOW_INSERT_COLUMNS, body));
    if (i % 1_000_000 === 0)
      log(`  ${i.toLocaleString('en-US')} flows (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await inflight;
  // rows inserted straight into flows reach the rollups through the backfill (migration 5)
  await backfillAllRollups(ch);
  return {
    tenants: cloud.tenants.map((t) => t.name),
    vnis: cloud.tenants.flatMap((t) => t.networks.map((n) => n.vni)),
  };
}

/** Rows ClickHouse 18.16 would read for a SELECT: its max_rows_to_read error names them. */
async function rowsToRead(ch: ClickHouse, sql: string): Promise<number> {
  try {
    await ch.query(sql, { max_rows_to_read: 1, read_overflow_mode: 'throw' });
    return 0;
  } catch (err) {
    const m = /(\d+) rows read \(or to read\)/.exec((err as Error).message);
    return m ? Number(m[1]) : Number.NaN;
  }
}

const bench: Bench = async (ctx) => {
  const total = Number(process.env.BENCH_ALERTS_FLOWS ?? (ctx.quick ? 1_000_000 : 10_000_000));
  const runs = ctx.quick ? 3 : 7;
  const work = mkdtempSync(join(tmpdir(), `vxflow-bench-alerts-${process.pid}-`));
  const database = `bench_alerts_${process.pid}`;
  let server: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  let ch: ClickHouse | undefined;
  try {
    let url = process.env.CLICKHOUSE_URL ?? '';
    if (!url) {
      server = await startEmbedded({
        dataDir: join(work, 'ch'),
        httpPort: await freePort(),
        tcpPort: await freePort(),
      });
      url = server.url;
    }
    ch = await connectClickHouse({
      ...(Value.Default(ClickHouseConfig, {}) as ClickHouseConfig),
      url,
      database,
    });
    const db = ch;
    await migrate(db);
    ctx.log(
      `ClickHouse ${db.version}; loading ${total.toLocaleString('en-US')} simulated flows over one day`,
    );
    const { tenants, vnis } = await load(db, total, ctx.log);
    const now = DAY0 + 86_400;
    const opts = { lagSeconds: 0, maxKeysPerRule: 100, stateOf: () => undefined, knownKeys: () => [] };

    for (const n of [1, 100, 1000]) {
      const rules = mix(n, tenants, vnis);
      const batches = planBatches(rules, now, 0);
      let rows = 0;
      for (const b of batches) rows += await rowsToRead(db, batchSql(db.database, b, 100_000));
      await evaluateRules(db, rules, now, opts);
      const ms: number[] = [];
      let queries = 0;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        const { stats } = await evaluateRules(db, rules, now, opts);
        ms.push(performance.now() - t0);
        queries = stats.queries;
      }
      ctx.record({
        name: `evaluate ${n} rule${n > 1 ? 's' : ''} (batched)`,
        value: median(ms),
        unit: 'ms',
        samples: ms,
        note: `${queries} queries, ${rows.toLocaleString('en-US')} rows read, ${(median(ms) / n).toFixed(2)} ms per rule`,
      });
      if (n === 100) {
        // the peer: the same rules, one query each
        let rowsOne = 0;
        for (const r of rules)
          for (const b of planBatches([r], now, 0))
            rowsOne += await rowsToRead(db, batchSql(db.database, b, 100_000));
        const one: number[] = [];
        for (let r = 0; r < Math.max(1, runs - 2); r++) {
          const t0 = performance.now();
          for (const x of rules) await evaluateRules(db, [x], now, opts);
          one.push(performance.now() - t0);
        }
        ctx.record({
          name: 'evaluate 100 rules, batched vs one query per rule',
          value: median(ms),
          unit: 'ms',
          peer: { name: 'one query per rule', value: median(one) },
          ratio: median(one) / median(ms),
          note: `rows read batched ${rows.toLocaleString('en-US')} vs ${rowsOne.toLocaleString('en-US')}; ratio = speed-up`,
        });
      }
    }

    // ---- delay from a crossing to the webhook
    const arrivals: number[] = [];
    const rx = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (JSON.parse(body).type === 'firing') arrivals.push(Date.now());
        res.end('ok');
      });
    });
    await new Promise<void>((ok) => rx.listen(0, '127.0.0.1', ok));
    const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
    Object.assign(config.alerts, {
      tickMs: 200,
      lagSeconds: 1,
      minIntervalSeconds: 1,
      leaseSeconds: 5,
      allowPrivateTargets: true,
    });
    const store = createAlertStore(db);
    await store.createRule(
      {
        name: 'delay',
        enabled: true,
        scope: { vni: 424242 },
        measure: 'fps',
        groupBy: [],
        condition: { type: 'threshold', op: 'above', value: 50 },
        windowSeconds: 1,
        intervalSeconds: 1,
        activation: { matches: 1, of: 1 },
        resolve: { after: 1, ratio: 1 },
        cooldownSeconds: 0,
        renotifySeconds: 0,
        minFlowsPerSecond: 0,
        targets: [
          {
            url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/`,
            format: 'json',
            secret: 'x'.repeat(32),
          },
        ],
      },
      { tenant: null, author: 'bench' },
    );
    // only the delay rule: the mix above is not stored
    const ev = createEvaluator({
      ch: db,
      config,
      log: { info() {}, warn() {}, error() {} },
      publicUrl: () => 'http://bench',
    });
    ev.start();
    let rate = 5;
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        const t = Date.now();
        const flows = Array.from({ length: Math.max(1, Math.round(rate / 10)) }, () =>
          Object.assign(emptyFlow(), {
            time_received: t,
            vni: 424242,
            bytes: 100,
            packets: 1,
            sampling_rate: 1,
          }),
        );
        await db.insertRowBinary(`${db.database}.flows`, FLOW_INSERT_COLUMNS, encodeFlowsRowBinary(flows));
        await sleep(Math.max(0, 100 - (Date.now() - t)));
      }
    })();
    const delays: number[] = [];
    await sleep(4000);
    for (let k = 0; k < 5; k++) {
      const before = arrivals.length;
      rate = 200;
      const crossing = Date.now();
      while (arrivals.length === before && Date.now() - crossing < 30_000) await sleep(20);
      if (arrivals.length > before) delays.push((arrivals[before] - crossing) / 1000);
      rate = 5;
      await sleep(5000);
    }
    stop = true;
    await writer;
    await ev.stop();
    rx.close();
    ctx.record({
      name: 'traffic crossing → firing webhook (window 1 s, lag 1 s, interval 1 s)',
      value: median(delays),
      unit: 's',
      samples: delays,
      note: `${delays.length} of 5 crossings; expected ≈ window + lag + ≤ 1 interval + tick`,
    });
  } finally {
    if (ch) {
      await ch.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => {});
      await ch.close().catch(() => {});
    }
    await server?.stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
};

export default bench;
