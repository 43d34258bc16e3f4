/**
 * Migration 5 on an installation that has data (built at migration 4, its rollups fed by
 * the old views on flows), and the backfill behind `vxflow rollup`, on the suite's real
 * ClickHouse: nothing the rollups held is lost or doubled by the migration; rows another
 * tool inserts into flows afterwards reach the rollups through the backfill, once, however
 * often it runs; rows the collector rolled up itself are never added again.
 */
import { describe, expect, it } from 'vitest';
import { emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import { ROLLUP_INSERT_COLUMNS, ROLLUP_STAGING_TABLE } from '../../storage/src/ddl.ts';
import { encodeFlowsRowBinary } from '../../storage/src/flow-rowbinary.ts';
import { MIGRATIONS, migrate } from '../../storage/src/migrations.ts';
import { backfillRollups } from '../../storage/src/rollup-backfill.ts';
import { applyRetention } from '../../storage/src/retention.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import { grandTotals, rollupRowsOf, rollupVsRaw } from './rollup-totals.ts';

const db = useTestClickHouse({ migrate: false });

/** 23:50 UTC, so the rows span two days (two partitions, two backfill steps) */
const T0 = Date.UTC(2026, 11, 5, 23, 50, 0);

function flows(n: number, seed: number, tenants = ['acme', 'globex', 'initech']): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const k = i + seed;
    const tenant = tenants[k % tenants.length];
    out.push(
      Object.assign(emptyFlow(), {
        time_received: T0 + ((k * 7919) % (20 * 60_000)), // 20 minutes across midnight
        exporter: k % 2 ? '192.0.2.1' : '192.0.2.2',
        tenant,
        network: `${tenant}-net${k % 2}`,
        vni: 1000 + (k % 5),
        src_addr: `10.0.${(k >> 8) & 255}.${k & 255}`,
        dst_addr: '10.1.0.1',
        dst_port: [443, 80, 53][k % 3],
        proto: 6,
        ip_version: 4,
        sampling_rate: 1,
        bytes: 100 + k,
        packets: 1 + (k % 9),
      }),
    );
  }
  return out;
}

const insertRaw = (rows: FlowRecord[]) =>
  db().insertRowBinary(`${db().database}.flows`, FLOW_INSERT_COLUMNS, encodeFlowsRowBinary(rows));

const insertRollupRows = (rows: FlowRecord[]) =>
  db().insertRowBinary(`${db().database}.${ROLLUP_STAGING_TABLE}`, ROLLUP_INSERT_COLUMNS, rollupRowsOf(rows));

async function expectRollupsEqualRaw(): Promise<void> {
  for (const t of await rollupVsRaw(db())) expect(t.rollup, t.table).toEqual(t.raw);
}

const tables = async () =>
  (
    await db().query<{ name: string; engine: string }>(
      `SELECT name, engine FROM system.tables WHERE database = '${db().database}' ORDER BY name`,
    )
  ).map((r) => `${r.name}:${r.engine}`);

const range = { fromSec: T0 / 1000 - 3600, toSec: T0 / 1000 + 3600 };

describe('rollups migration and backfill', () => {
  it('migration 5 on an installation with data keeps every rollup sum and swaps the views', async () => {
    await migrate(db(), { upTo: 4 });
    await insertRaw(flows(3000, 0));
    await expectRollupsEqualRaw(); // the old views on flows did it
    const before = await Promise.all(['flows_1m', 'flows_5m', 'flows_1h'].map((t) => grandTotals(db(), t)));
    expect(await tables()).toContain('flows_1m_mv:MaterializedView');

    const result = await migrate(db());
    expect(result.applied).toContain(5);
    const now = await tables();
    for (const r of ['flows_1m', 'flows_5m', 'flows_1h']) {
      expect(now).not.toContain(`${r}_mv:MaterializedView`);
      expect(now).toContain(`${r}_from_in:MaterializedView`);
    }
    expect(now).toContain(`${ROLLUP_STAGING_TABLE}:MergeTree`);
    expect(await Promise.all(['flows_1m', 'flows_5m', 'flows_1h'].map((t) => grandTotals(db(), t)))).toEqual(
      before,
    );
    await expectRollupsEqualRaw();

    // idempotent: again, and its statements once more by hand, change nothing
    expect((await migrate(db())).applied).toEqual([]);
    const five = MIGRATIONS.find((m) => m.version === 5);
    for (const stmt of five?.statements(db().database) ?? []) await db().command(stmt);
    expect(await tables()).toEqual(now);
    await expectRollupsEqualRaw();
  });

  it('raw rows inserted directly no longer reach the rollups, and the backfill adds them once', async () => {
    const direct = flows(2000, 50_000, ['acme', 'umbrella']);
    await insertRaw(direct);
    const [oneMinute] = await rollupVsRaw(db());
    expect(oneMinute.rollup).not.toEqual(oneMinute.raw); // the views on flows are gone

    const dry = await backfillRollups(db(), range, { dryRun: true });
    expect(dry.map((s) => s.inserted)).toEqual([false, false]); // two days, nothing written
    expect(dry.reduce((n, s) => n + s.flows, 0)).toBe(direct.length);
    expect(dry.reduce((n, s) => n + s.bytes, 0)).toBe(direct.reduce((n, r) => n + Number(r.bytes), 0));
    const [stillMissing] = await rollupVsRaw(db());
    expect(stillMissing.rollup).toEqual(oneMinute.rollup);

    const done = await backfillRollups(db(), range);
    expect(done.reduce((n, s) => n + s.flows, 0)).toBe(direct.length);
    await expectRollupsEqualRaw();

    // a second run finds nothing missing and adds nothing
    const again = await backfillRollups(db(), range);
    expect(again.every((s) => s.rows === 0 && !s.inserted)).toBe(true);
    await expectRollupsEqualRaw();
  });

  it('the backfill never adds rows the collector rolled up, even when its raw rows are not stored yet', async () => {
    // the collector's order: a chunk's rollup rows, then its raw rows
    const chunk = flows(1500, 90_000);
    await insertRollupRows(chunk);
    const early = await backfillRollups(db(), range); // raw rows still on their way
    expect(early.reduce((n, s) => n + s.flows, 0)).toBe(0);
    await insertRaw(chunk);
    await expectRollupsEqualRaw();
    const after = await backfillRollups(db(), range);
    expect(after.reduce((n, s) => n + s.flows, 0)).toBe(0);
    await expectRollupsEqualRaw();

    // and direct inserts mixed in with the collector's keys are still found, once
    const direct = flows(700, 90_000); // the same keys as the chunk's
    await insertRaw(direct);
    const mixed = await backfillRollups(db(), range);
    expect(mixed.reduce((n, s) => n + s.flows, 0)).toBe(direct.length);
    await expectRollupsEqualRaw();
  });

  it('retention drops old partitions of the staging table and leaves the rollups their sums', async () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    const day = 86_400_000;
    const rows = [10, 1].map((d) =>
      Object.assign(emptyFlow(), { time_received: now - d * day, tenant: 'ret', bytes: 5, packets: 1 }),
    );
    await insertRollupRows(rows);
    const sums = async () =>
      db().query<{ t: string; f: string }>(
        `SELECT toString(toDate(time)) AS t, toString(sum(flows)) AS f FROM ${db().database}.flows_1m WHERE tenant = 'ret' GROUP BY t ORDER BY t`,
      );
    const before = await sums();
    expect(before).toHaveLength(2);
    const dropped = await applyRetention(
      db(),
      { flows: 30, flows_1m: 30, flows_5m: 90, flows_1h: 730 },
      { nowMs: now },
    );
    expect(dropped).toContainEqual({ table: ROLLUP_STAGING_TABLE, partition: '20261115' });
    expect(dropped.filter((d) => d.table !== ROLLUP_STAGING_TABLE)).toEqual([]);
    const left = await db().query<{ d: string }>(
      `SELECT DISTINCT toString(toDate(minute)) AS d FROM ${db().database}.${ROLLUP_STAGING_TABLE} WHERE tenant = 'ret'`,
    );
    expect(left.map((r) => r.d)).toEqual(['2026-11-24']);
    expect(await sums()).toEqual(before);
  });
});
