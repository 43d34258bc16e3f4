/**
 * Dashboard API latency on a day of multi-tenant flows, against nfdump on the same flows.
 *
 * Data: 10 million flows (1 million with --quick; BENCH_DASHBOARD_FLOWS overrides) from
 * the exporter's simulator (8 tenants whose networks reuse 10.0.n.0/24 on different VNIs,
 * subnets, VMs, internet peers, SYN floods, 1 % on a VNI nobody owns), evenly over
 * 2026-11-30 00:00–24:00 UTC, six exporters of which two sample (1:10, 1:100). They are
 * enriched with the simulator's inventory as the collector would, written to a fresh
 * database of the bench's ClickHouse (CLICKHOUSE_URL, else an embedded server) with the
 * project's writer (encodeFlowsRowBinary, 100 k rows per insert; the rollups fill through
 * their materialized views), and, in the same pass, exported as NetFlow v9 with the
 * project's encoder (one stream per exporter, sampling announced in options data) over UDP
 * loopback to nfcapd, paced on nfcapd's socket queue; nfcapd's record count must equal
 * what was sent.
 *
 * Queries go through the real API: the app from buildDashboardApp() driven with
 * app.inject() (no socket: Fastify routing, auth, validation, serialisation, ClickHouse),
 * as an admin token and as the largest tenant's token. Each runs once to warm up, then 15
 * times (5 with --quick): median and p95 ms, the table the response says answered, the
 * time the request spent in ch.query (summed: top-N and matrix run two queries at once, so
 * it can exceed the wall time) and the rows each of its ClickHouse queries reads
 * (max_rows_to_read=1 makes 18.16 name the rows it would read; 18.16 has no query_log here).
 * nfdump runs 7 times (3) per query on nfcapd's files; ratio = nfdump median / ours.
 *
 * Correctness: ours top-10 talkers against the generator's truth (scaled by each
 * exporter's sampling rate) and against nfdump: nfcapd 1.7.1 does not apply the sampling
 * our v9 options data announce (its totals are as exported), so nfdump's figure for an
 * address is rebuilt as Σ over exporters (sampling rate × nfdump's bytes from that
 * exporter, `sysid N`), which must equal ours exactly; nfdump's own (unscaled) top 10 must
 * equal the truth's unscaled top 10.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import type { ExporterDomainStats } from '../collector/src/ingest/worker-protocol.ts';
import { EXPORTERS_INSERT_COLUMNS, encodeExporterRows } from '../collector/src/sink/exporters-table.ts';
import { createTokenStore } from '../dashboard/src/auth/tokens.ts';
import { DashboardConfig } from '../dashboard/src/config.ts';
import { buildDashboardApp } from '../dashboard/src/server.ts';
import { createFlowEncoder } from '../protocol/src/encode/index.ts';
import type { FlowRecord } from '../protocol/src/schema/columns.ts';
import { type ClickHouse, connectClickHouse } from '../storage/src/clickhouse.ts';
import { ClickHouseConfig } from '../storage/src/config.ts';
import { encodeFlowsRowBinary } from '../storage/src/flow-rowbinary.ts';
import { migrate } from '../storage/src/migrations.ts';
import { backfillAllRollups } from '../storage/src/rollup-backfill.ts';
import { FLOW_INSERT_COLUMNS } from '../storage/src/rowbinary.ts';
import { freePort, startEmbedded } from '../storage/src/server.ts';
import {
  canonicalIp,
  createFlowSource,
  createPacedSender,
  DAY_END_S,
  DAY_START_S,
  EXPORTERS,
  type Nfcapd,
  nfdump,
  nfdumpSysIds,
  parseNfdumpStatCsv,
  sleep,
  startNfcapd,
  topOf,
  udpSocketState,
} from './dashboard-data.ts';
import { type Bench, median } from './lib.ts';

const CHUNK = 100_000;

function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(s.length * 0.95) - 1)];
}

interface QuerySpec {
  name: string;
  who: 'admin' | 'tenant';
  method: 'GET' | 'POST';
  url: string;
  body?: Record<string, unknown>;
  /** the table the response must name (series/top/matrix), or what the route reads */
  expect: string;
  /** the nfdump query it is compared with */
  peer?: string;
}

interface Result {
  spec: QuerySpec;
  table: string;
  ms: number[];
  chMs: number[];
  rowsRead: string;
  body: unknown;
  /** the ClickHouse queries one request ran */
  sqls: string[];
}

const bench: Bench = async (ctx) => {
  const total = Number(process.env.BENCH_DASHBOARD_FLOWS ?? (ctx.quick ? 1_000_000 : 10_000_000));
  const runs = ctx.quick ? 5 : 15;
  const nfRuns = ctx.quick ? 3 : 7;
  const work = mkdtempSync(join(tmpdir(), `vxflow-bench-dashboard-${process.pid}-`));
  const nfDir = join(work, 'nfcapd');
  mkdirSync(nfDir);
  // BENCH_DASHBOARD_KEEP=NAME loads into database NAME and keeps it (with CLICKHOUSE_URL), for
  // `BENCH_UI_DATABASE=NAME npm run bench -- ui` to time the UI over the same flows
  const keep = process.env.BENCH_DASHBOARD_KEEP ?? '';
  if (keep && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(keep))
    throw new Error(`BENCH_DASHBOARD_KEEP: not a database name: ${keep}`);
  const database = keep || `bench_dashboard_${process.pid}`;
  let server: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  let ch: ClickHouse | undefined;
  let nfcapd: Nfcapd | undefined;
  let app: FastifyInstance | undefined;

  let cleaned: Promise<void> | undefined;
  const cleanup = () => {
    cleaned ??= (async () => {
      await nfcapd?.stop().catch(() => {});
      await app?.close().catch(() => {});
      if (ch) {
        if (!keep) await ch.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => {});
        await ch.close().catch(() => {});
      }
      await server?.stop().catch(() => {});
      rmSync(work, { recursive: true, force: true });
    })();
    return cleaned;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    ctx.log(`${sig}: cleaning up (nfcapd, database ${database})`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

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
    ctx.log(`ClickHouse ${db.version} at ${url}, database ${database}`);

    // ---- load: the same flows into ClickHouse and, as NetFlow v9, into nfcapd
    nfcapd = await startNfcapd(nfDir, await freePort());
    const sender = createPacedSender(nfcapd.port);
    const encoders = EXPORTERS.map((e) =>
      createFlowEncoder({
        version: 9,
        observationDomain: e.domain,
        bootTimeMs: (DAY_START_S - 3600) * 1000,
        samplingInterval: e.rate,
      }),
    );
    const source = createFlowSource(total);
    const tenant = source.tenants[0];
    ctx.log(
      `loading ${total.toLocaleString('en-US')} flows (${source.tenants.length} tenants: ${source.tenants.join(', ')}; ${EXPORTERS.length} exporters, sampled 1:10 and 1:100) into ClickHouse and nfcapd`,
    );
    let genMs = 0;
    let chMs = 0;
    let nfMs = 0;
    const began = Date.now();
    let nextLog = 1_000_000;
    // one insert in flight while the next chunk is generated and the last one goes to nfcapd
    // (ClickHouse works in its own process: on 2 cores the two overlap)
    let inserting: Promise<void> = Promise.resolve();
    let insertMs = 0;
    let retries = 0;
    for (;;) {
      let t = Date.now();
      const chunk = source.next(CHUNK);
      const rows = chunk.length > 0 ? encodeFlowsRowBinary(chunk) : undefined;
      genMs += Date.now() - t;
      t = Date.now();
      await inserting;
      chMs += Date.now() - t;
      if (!rows) break;
      inserting = (async () => {
        const t1 = Date.now();
        try {
          await db.insertRowBinary(`${database}.flows`, FLOW_INSERT_COLUMNS, rows);
        } catch (err) {
          // the pooled socket sat idle past the server's 3 s keep-alive while the next chunk
          // was generated: the request never reached ClickHouse, send it again (the totals
          // checked below would show a duplicate)
          if (!/EPIPE|ECONNRESET|socket hang up/.test((err as Error).message)) throw err;
          retries++;
          await db.insertRowBinary(`${database}.flows`, FLOW_INSERT_COLUMNS, rows);
        }
        insertMs += Date.now() - t1;
      })();
      inserting.catch(() => {});
      t = Date.now();
      const byExporter: FlowRecord[][] = EXPORTERS.map(() => []);
      for (const r of chunk) byExporter[Number(r.observation_domain) - 1].push(r);
      const nowMs = Number(chunk[chunk.length - 1].time_received) + 1000;
      for (let e = 0; e < EXPORTERS.length; e++) await sender.send(encoders[e].encode(byExporter[e], nowMs));
      nfMs += Date.now() - t;
      if (source.truth.flows >= nextLog || source.truth.flows === total) {
        const s = (Date.now() - began) / 1000;
        ctx.log(
          `  ${source.truth.flows.toLocaleString('en-US')} flows in ${s.toFixed(0)} s (generate + RowBinary ${(genMs / 1000).toFixed(0)} s, v9 encode + send to nfcapd ${(nfMs / 1000).toFixed(0)} s, waiting for ClickHouse ${(chMs / 1000).toFixed(0)} s; inserts took ${(insertMs / 1000).toFixed(0)} s in all)`,
        );
        nextLog += 1_000_000;
      }
    }
    const loadS = (Date.now() - began) / 1000;
    // rows inserted straight into flows reach the rollups through the backfill (migration 5)
    const rollupStart = Date.now();
    await backfillAllRollups(db);
    ctx.log(
      `rollups filled by the backfill (vxflow rollup) in ${((Date.now() - rollupStart) / 1000).toFixed(0)} s`,
    );
    const sentRecords = encoders.reduce((n, e) => n + e.stats.records, 0);
    await sender.drain();
    const drops = udpSocketState(nfcapd.port).drops;
    sender.close();
    await nfcapd.stop();
    const stat = nfdump(['-R', nfDir, '-I']).out;
    const nfFlows = Number(/^Flows:\s*(\d+)/m.exec(stat)?.[1] ?? -1);
    ctx.log(
      `loaded in ${loadS.toFixed(0)} s (${Math.round(total / loadS).toLocaleString('en-US')} flows/s; 100 k-row inserts took ${(insertMs / 1000).toFixed(0)} s in all, overlapped with generation: ${Math.round(total / (insertMs / 1000)).toLocaleString('en-US')} rows/s while inserting; ${retries} insert(s) resent after a stale keep-alive socket)`,
    );
    ctx.log(
      `nfcapd: ${nfFlows.toLocaleString('en-US')} records stored of ${sentRecords.toLocaleString('en-US')} sent in ${sender.sent.toLocaleString('en-US')} datagrams (kernel drops on its socket: ${drops}) — ${nfFlows === sentRecords && sentRecords === total ? 'every flow' : 'MISMATCH'}`,
    );
    if (nfFlows !== sentRecords || sentRecords !== total)
      throw new Error(`nfcapd stored ${nfFlows} records, ${sentRecords} sent, ${total} generated`);

    // the exporters' health rows, as the collector writes them
    const stats: ExporterDomainStats[] = EXPORTERS.map((e, i) => ({
      exporter: e.address,
      version: 9,
      observationDomain: e.domain,
      templates: 1,
      samplingRate: e.rate,
      packets: encoders[i].stats.packets,
      records: source.truth.exporterRecords[i],
      lostPackets: 0,
      lostRecords: 0,
      reordered: 0,
      errors: 0,
      firstSeenMs: DAY_START_S * 1000,
      lastSeenMs: DAY_END_S * 1000,
    }));
    await db.insertRowBinary(
      `${database}.exporters`,
      EXPORTERS_INSERT_COLUMNS,
      encodeExporterRows(stats, new Map()),
    );

    // let background merges settle (a running system queries mostly merged parts)
    const settleStart = Date.now();
    while (Date.now() - settleStart < 120_000) {
      const [m] = await db.query<{ n: string }>(
        `SELECT count() AS n FROM system.merges WHERE database = '${database}'`,
      );
      if (Number(m.n) === 0) break;
      await sleep(1000);
    }
    const [stored] = await db.query<{ n: string }>(`SELECT count() AS n FROM ${database}.flows`);
    ctx.log(
      `flows table: ${Number(stored.n).toLocaleString('en-US')} rows of ${total.toLocaleString('en-US')} generated — ${Number(stored.n) === total ? 'every flow once' : 'MISMATCH'}`,
    );
    if (Number(stored.n) !== total) throw new Error(`flows holds ${stored.n} rows, ${total} were generated`);
    const parts = await db.query<{ table: string; parts: string; rows: string; bytes: string }>(
      `SELECT table, count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = '${database}' AND active GROUP BY table ORDER BY table`,
    );
    ctx.log(
      `tables after ${((Date.now() - settleStart) / 1000).toFixed(0)} s of merges: ${parts.map((p) => `${p.table} ${Number(p.rows).toLocaleString('en-US')} rows in ${p.parts} parts (${(Number(p.bytes) / 2 ** 20).toFixed(0)} MiB)`).join('; ')}`,
    );

    // ---- the API
    const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
    config.rateLimit.perMinute = 1_000_000;
    /** what the app asked ClickHouse during one request, and how long it waited */
    let asked: { sql: string; ms: number }[] = [];
    const spy: ClickHouse = {
      ...db,
      async query<T>(sql: string, settings?: Record<string, string | number>): Promise<T[]> {
        const t0 = process.hrtime.bigint();
        try {
          return await db.query<T>(sql, settings);
        } finally {
          asked.push({ sql, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
        }
      },
    };
    app = await buildDashboardApp({ ch: spy, config });
    const tokens = createTokenStore(db);
    const adminToken = (await tokens.create({ role: 'admin', name: 'bench' })).token;
    const tenantToken = (await tokens.create({ role: 'tenant', tenant, name: 'bench' })).token;
    const range = { start: DAY_START_S, end: DAY_END_S };
    const raw = 'src port >= 0';
    const search = (f: string) =>
      `/api/v1/flows?start=${DAY_START_S}&end=${DAY_END_S}&filter=${encodeURIComponent(f)}&limit=100`;
    const specs: QuerySpec[] = [
      {
        name: 'series 24 h, by network, 288 pts',
        who: 'tenant',
        method: 'POST',
        url: '/api/v1/traffic/series',
        body: { ...range, unit: 'bps', dimensions: ['network'], points: 288 },
        expect: 'flows_5m',
      },
      {
        name: 'series 24 h, by network (raw)',
        who: 'tenant',
        method: 'POST',
        url: '/api/v1/traffic/series',
        body: { ...range, unit: 'bps', dimensions: ['network'], points: 288, filter: raw },
        expect: 'flows',
      },
      {
        name: 'top-10 talkers (src_addr)',
        who: 'admin',
        method: 'POST',
        url: '/api/v1/traffic/top',
        body: { ...range, dimensions: ['src_addr'], limit: 10 },
        expect: 'flows',
        peer: 'srcip',
      },
      {
        name: 'top-10 talkers (src_addr), tenant',
        who: 'tenant',
        method: 'POST',
        url: '/api/v1/traffic/top',
        body: { ...range, dimensions: ['src_addr'], limit: 10 },
        expect: 'flows',
      },
      {
        name: 'top-10 dst ports',
        who: 'admin',
        method: 'POST',
        url: '/api/v1/traffic/top',
        body: { ...range, dimensions: ['dst_port'], limit: 10 },
        expect: 'flows_1h',
        peer: 'dstport',
      },
      {
        name: 'top-10 dst ports (raw)',
        who: 'admin',
        method: 'POST',
        url: '/api/v1/traffic/top',
        body: { ...range, dimensions: ['dst_port'], limit: 10, filter: raw },
        expect: 'flows',
        peer: 'dstport',
      },
      {
        name: 'matrix by subnet',
        who: 'tenant',
        method: 'POST',
        url: '/api/v1/traffic/matrix',
        body: { ...range, by: 'subnet' },
        expect: 'flows_1h',
      },
      {
        name: 'matrix by endpoint (raw)',
        who: 'tenant',
        method: 'POST',
        url: '/api/v1/traffic/matrix',
        body: { ...range, by: 'endpoint' },
        expect: 'flows',
      },
      { name: 'exporters', who: 'admin', method: 'GET', url: '/api/v1/exporters', expect: 'exporters' },
      {
        name: 'exporters, tenant',
        who: 'tenant',
        method: 'GET',
        url: '/api/v1/exporters',
        expect: 'exporters',
      },
      {
        name: 'flows: tcp dst 443, 100 newest',
        who: 'admin',
        method: 'GET',
        url: search('proto tcp and dst port 443'),
        expect: 'flows',
        peer: 'filter',
      },
      {
        name: 'flows: tcp dst 443, 100 newest, tenant',
        who: 'tenant',
        method: 'GET',
        url: search('proto tcp and dst port 443'),
        expect: 'flows',
      },
    ];

    const call = async (s: QuerySpec) => {
      const res = await app!.inject({
        method: s.method,
        url: s.url,
        headers: { authorization: `Bearer ${s.who === 'admin' ? adminToken : tenantToken}` },
        ...(s.body ? { payload: s.body } : {}),
      });
      if (res.statusCode !== 200)
        throw new Error(`${s.name}: HTTP ${res.statusCode} ${res.body.slice(0, 300)}`);
      return res.json() as Record<string, unknown>;
    };

    /** rows ClickHouse 18.16 would read for a SELECT: its max_rows_to_read error names them */
    const rowsToRead = async (sql: string): Promise<number | null> => {
      try {
        await db.query(sql, { max_rows_to_read: 1, read_overflow_mode: 'throw' });
        return null;
      } catch (err) {
        const m = /(\d+) rows read \(or to read\)/.exec((err as Error).message);
        return m ? Number(m[1]) : null;
      }
    };

    ctx.log(`queries: ${runs} runs each after a warm-up, app.inject(); tenant token = '${tenant}'`);
    const results: Result[] = [];
    for (const s of specs) {
      asked = [];
      const body = await call(s);
      const sqls = asked.filter((a) => /\.(flows\w*|exporters)\b/.test(a.sql)).map((a) => a.sql);
      const ms: number[] = [];
      const chTimes: number[] = [];
      // a query that takes seconds gets 7 runs, not 15: the bench has to end on a shared machine
      const warm = asked.reduce((n, a) => n + a.ms, 0);
      const count = warm > 3000 ? Math.min(runs, 7) : runs;
      for (let i = 0; i < count; i++) {
        asked = [];
        const t0 = process.hrtime.bigint();
        await call(s);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        chTimes.push(asked.reduce((n, a) => n + a.ms, 0));
      }
      const reads: string[] = [];
      for (const q of sqls) {
        const n = await rowsToRead(q);
        reads.push(n === null ? '≤1' : n.toLocaleString('en-US'));
      }
      const table = typeof body.table === 'string' ? body.table : s.expect;
      results.push({ spec: s, table, ms, chMs: chTimes, rowsRead: reads.join(' + '), body, sqls });
      ctx.log(
        `  ${s.name} [${table}${table !== s.expect ? ` — EXPECTED ${s.expect}` : ''}]: median ${median(ms).toFixed(0)} ms, p95 ${p95(ms).toFixed(0)} ms (ClickHouse ${median(chTimes).toFixed(0)} ms; rows read ${reads.join(' + ')})`,
      );
    }

    // ---- nfdump on the same flows
    const nfQueries: Record<string, string[]> = {
      ip: ['-R', nfDir, '-s', 'ip/bytes', '-n', '10'],
      srcip: ['-R', nfDir, '-s', 'srcip/bytes', '-n', '10'],
      dstport: ['-R', nfDir, '-s', 'dstport/bytes', '-n', '10'],
      filter: ['-R', nfDir, '-c', '100', '-o', 'long', 'proto tcp and dst port 443'],
    };
    const nfTimes: Record<string, number[]> = {};
    for (const [k, args] of Object.entries(nfQueries)) {
      nfdump(args);
      nfTimes[k] = [];
      for (let i = 0; i < nfRuns; i++) nfTimes[k].push(nfdump(args).ms);
      ctx.log(
        `  nfdump ${args.slice(2).join(' ')}: median ${median(nfTimes[k]).toFixed(0)} ms, p95 ${p95(nfTimes[k]).toFixed(0)} ms`,
      );
    }

    // ---- what would make the slow raw queries faster: the same answer by other SQL, timed
    // straight on ClickHouse beside the SQL the API ran (the query code is not changed here)
    const timeSql = async (q: string) => {
      await db.query(q);
      const t: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = process.hrtime.bigint();
        await db.query(q);
        t.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return median(t);
    };
    const whatIf = async (label: string, current: string | undefined, alternative: (q: string) => string) => {
      if (!current) return;
      try {
        const alt = alternative(current);
        const [a, b] = [await timeSql(current), await timeSql(alt)];
        const reads = [await rowsToRead(current), await rowsToRead(alt)].map((n) =>
          n?.toLocaleString('en-US'),
        );
        ctx.log(
          `  what-if ${label}: the API's SQL ${a.toFixed(0)} ms (rows ${reads[0]}) → ${b.toFixed(0)} ms (rows ${reads[1]}) (medians of 3)`,
        );
      } catch (err) {
        ctx.log(`  what-if ${label}: failed: ${(err as Error).message.slice(0, 200)}`);
      }
    };
    const sqlOf = (name: string, part = ' ORDER BY ') =>
      results.find((r) => r.spec.name === name)?.sqls.find((q) => q.includes(part));
    const orderKeys =
      'time_received, batch_id, src_addr, dst_addr, src_port, dst_port, proto, flow_start, flow_end, bytes, packets, exporter';
    const flowsSql = sqlOf('flows: tcp dst 443, 100 newest');
    await whatIf('flows search, sort only the key columns (then fetch 100 rows)', flowsSql, (q) =>
      q.replace(/^SELECT [\s\S]*? FROM /, `SELECT ${orderKeys} FROM `),
    );
    const lastHour = (q: string) =>
      q.replace(
        `time_received >= toDateTime(${DAY_START_S})`,
        `time_received >= toDateTime(${DAY_END_S - 3600})`,
      );
    await whatIf('flows search, newest hour first (widen only if it holds < 100)', flowsSql, lastHour);
    await whatIf('flows search, newest hour first and key columns only', flowsSql, (q) =>
      lastHour(q).replace(/^SELECT [\s\S]*? FROM /, `SELECT ${orderKeys} FROM `),
    );
    await whatIf(
      'top talkers, group by the FixedString(16) address and format only the 10 winners',
      sqlOf('top-10 talkers (src_addr)', ' GROUP BY '),
      (q) => {
        const where = q.slice(q.indexOf(' WHERE '), q.indexOf(' GROUP BY '));
        return `SELECT replaceRegexpOne(IPv6NumToString(k), '^::ffff:', '') AS k0, v FROM (SELECT src_addr AS k, sum(bytes * greatest(sampling_rate, 1)) AS v FROM ${database}.flows${where} GROUP BY k ORDER BY v DESC LIMIT 10)`;
      },
    );

    // ---- correctness: top-10 talkers, ours vs the truth vs nfdump
    const talkers = results.find((r) => r.spec.name === 'top-10 talkers (src_addr)')!;
    const ours = (talkers.body as { rows: { key: string[]; total: number }[] }).rows.map(
      (r) => [canonicalIp(r.key[0]), r.total] as [string, number],
    );
    const scaled = new Map<string, number>();
    const unscaled = new Map<string, number>();
    for (const [a, v] of source.truth.srcBytes) {
      scaled.set(canonicalIp(a), v.scaled);
      unscaled.set(canonicalIp(a), v.raw);
    }
    const truthTop = topOf(scaled, 10);
    const oursVsTruth = JSON.stringify(ours) === JSON.stringify(truthTop);
    const nfTop = parseNfdumpStatCsv(nfdump([...nfQueries.srcip, '-o', 'csv']).out).map(
      ([a, b]) => [canonicalIp(a), b] as [string, number],
    );
    const truthTopRaw = topOf(unscaled, 10);
    const nfVsTruth =
      nfTop.length === 10 &&
      nfTop.every(([a, b]) => unscaled.get(a) === b) &&
      nfTop.map((x) => x[1]).join() === truthTopRaw.map((x) => x[1]).join();
    const firstFile = readdirSync(nfDir).find((f) => f.startsWith('nfcapd.'));
    const sysIds = firstFile ? nfdumpSysIds(join(nfDir, firstFile)) : new Map<number, number>();
    const rebuilt = new Map<string, number>();
    const list = ours.map(([a]) => a).join(' ');
    for (const e of EXPORTERS) {
      const sysid = sysIds.get(e.domain);
      if (sysid === undefined) throw new Error(`nfdump -E: no exporter with Source ID ${e.domain}`);
      const rows = parseNfdumpStatCsv(
        nfdump([
          '-R',
          nfDir,
          '-s',
          'srcip/bytes',
          '-n',
          '0',
          '-o',
          'csv',
          `sysid ${sysid} and src ip in [ ${list} ]`,
        ]).out,
      );
      for (const [a, b] of rows) rebuilt.set(canonicalIp(a), (rebuilt.get(canonicalIp(a)) ?? 0) + b * e.rate);
    }
    const mismatches = ours.filter(([a, v]) => rebuilt.get(a) !== v);
    ctx.log(
      `check: our top-10 talkers (scaled by sampling) ${oursVsTruth ? 'equal' : 'DIFFER FROM'} the generator's truth; nfdump's own top 10 (unscaled: nfcapd ignores the announced sampling) ${nfVsTruth ? 'equals' : 'DIFFERS FROM'} the truth's unscaled top 10; nfdump per exporter × its sampling rate ${mismatches.length === 0 ? 'equals ours for all 10 addresses' : `DIFFERS for ${mismatches.map(([a]) => a).join(', ')}`}`,
    );
    for (const [a, v] of ours)
      ctx.log(
        `    ${a.padEnd(18)} ours ${v.toLocaleString('en-US').padStart(16)}  nfdump rebuilt ${(rebuilt.get(a) ?? 0).toLocaleString('en-US').padStart(16)}  nfdump unscaled ${(unscaled.get(a) ?? 0).toLocaleString('en-US').padStart(14)}`,
      );
    // the series' totals: rollup = raw = truth for the tenant
    const seriesTotal = (r: Result | undefined) =>
      ((r?.body as { series?: { total: number }[] })?.series ?? []).reduce((n, s) => n + s.total, 0);
    const sRoll = seriesTotal(results[0]);
    const sRaw = seriesTotal(results[1]);
    const sTruth = source.truth.tenantBytes.get(tenant) ?? 0;
    ctx.log(
      `check: '${tenant}' 24 h bytes: rollup ${sRoll.toLocaleString('en-US')}, raw ${sRaw.toLocaleString('en-US')}, truth ${sTruth.toLocaleString('en-US')} — ${sRoll === sRaw && sRaw === sTruth ? 'equal' : 'DIFFER'}`,
    );

    // ---- the table
    const rows = results.map((r) => {
      const peer = r.spec.peer ? nfTimes[r.spec.peer] : undefined;
      const ratio = peer ? median(peer) / median(r.ms) : undefined;
      return {
        query: r.spec.name,
        as: r.spec.who === 'admin' ? 'admin' : 'tenant',
        table: r.table,
        runs: r.ms.length,
        'median ms': Number(median(r.ms).toFixed(1)),
        'p95 ms': Number(p95(r.ms).toFixed(1)),
        'CH ms Σ': Number(median(r.chMs).toFixed(1)),
        'rows read': r.rowsRead,
        nfdump: peer ? `${r.spec.peer} ${median(peer).toFixed(0)} / ${p95(peer).toFixed(0)}` : '',
        'nfdump/ours': ratio !== undefined ? `${ratio.toPrecision(2)}x` : '',
        target: r.table.startsWith('flows_') ? (p95(r.ms) < 300 ? 'p95<300 met' : 'p95<300 MISSED') : '',
      };
    });
    // the issue's own talkers command counts both directions (ip = src or dst): also shown
    const ipOurs = results.find((r) => r.spec.peer === 'srcip');
    if (ipOurs)
      rows.push({
        query: "top-10 talkers vs nfdump '-s ip' (src+dst)",
        as: 'admin',
        table: ipOurs.table,
        runs: ipOurs.ms.length,
        'median ms': Number(median(ipOurs.ms).toFixed(1)),
        'p95 ms': Number(p95(ipOurs.ms).toFixed(1)),
        'CH ms Σ': Number(median(ipOurs.chMs).toFixed(1)),
        'rows read': ipOurs.rowsRead,
        nfdump: `ip ${median(nfTimes.ip).toFixed(0)} / ${p95(nfTimes.ip).toFixed(0)}`,
        'nfdump/ours': `${(median(nfTimes.ip) / median(ipOurs.ms)).toPrecision(2)}x`,
        target: '',
      });
    console.log(
      `\n  dashboard API on ${total.toLocaleString('en-US')} flows / 24 h (median and p95 of ${runs} runs (7 where one takes seconds, see runs; p95 of 15 or fewer = the slowest run); nfdump median / p95 of ${nfRuns}; ratio = nfdump median / ours, > 1 = we are faster)`,
    );
    console.table(rows);

    for (const r of results) {
      const peer = r.spec.peer ? nfTimes[r.spec.peer] : undefined;
      ctx.record({
        name: `${r.spec.name} [${r.table}]${r.spec.who === 'tenant' ? ' (tenant)' : ''}`,
        value: median(r.ms),
        unit: 'ms',
        samples: r.ms,
        ...(peer
          ? {
              peer: { name: `nfdump ${r.spec.peer}`, value: median(peer) },
              ratio: median(peer) / median(r.ms),
            }
          : {}),
        note: `p95 ${p95(r.ms).toFixed(0)} ms; ClickHouse ${median(r.chMs).toFixed(0)} ms; rows read ${r.rowsRead}`,
      });
    }
    ctx.record({
      name: 'load: generate + ClickHouse + nfcapd',
      value: total / loadS,
      unit: 'flows/s',
      note: `${total} flows in ${loadS.toFixed(0)} s; ClickHouse inserts ${(insertMs / 1000).toFixed(0)} s (overlapped); nfcapd stored ${nfFlows} of ${sentRecords}`,
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
};
export default bench;
