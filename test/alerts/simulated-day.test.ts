/**
 * The built-in SYN flood and tenant surge rules over simulated days: the exporter's
 * simulator (tenants, the daily curve, its SYN floods) enriched with its own inventory as
 * the collector would, written through the RowBinary writer, then the rules evaluated at
 * their interval over every minute of the day (what the evaluator does, in simulated time).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createEnricher } from '../../collector/src/enrich/enrich.ts';
import { parseInventory } from '../../collector/src/enrich/inventory.ts';
import { createGenerator, dailyFactor } from '../../exporter/src/sources/sim/generate.ts';
import { inventoryYaml } from '../../exporter/src/sources/sim/inventory.ts';
import { buildCloud } from '../../exporter/src/sources/sim/model.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { encodeFlowsRowBinary } from '../../storage/src/flow-rowbinary.ts';
import { backfillAllRollups } from '../../storage/src/rollup-backfill.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';
import { BUILTIN_RULES } from '../../dashboard/src/alerts/builtin.ts';
import { simulate } from '../../dashboard/src/alerts/evaluate.ts';
import type { Rule } from '../../dashboard/src/alerts/model.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();
const SEED = 7;
/** 2026-11-20T00:00:00Z: day 0 of the simulation */
const D0 = Date.UTC(2026, 10, 20) / 1000;
const cloud = buildCloud({ seed: SEED, tenants: 6 });

function builtin(name: keyof typeof BUILTIN_RULES, over: Partial<Rule> = {}): Rule {
  return {
    ...BUILTIN_RULES[name].spec,
    enabled: true,
    targets: [],
    id: name.padEnd(16, '0').slice(0, 16),
    tenant: null,
    builtin: name,
    created: '',
    updated: '',
    version: 1,
    ...over,
  };
}

/** Simulated flows from `startS` for `seconds` at `rate` flows/s on the daily curve, enriched. */
async function load(startS: number, seconds: number, rate: number, extra: FlowRecord[] = []) {
  const inv = parseInventory(inventoryYaml(cloud));
  if (!inv.ok) throw new Error(inv.reason);
  const enricher = createEnricher(inv.value);
  const gen = createGenerator(cloud, SEED);
  let chunk: FlowRecord[] = [];
  const flush = async () => {
    if (chunk.length)
      await db().insertRowBinary(`${db().database}.flows`, FLOW_INSERT_COLUMNS, encodeFlowsRowBinary(chunk));
    chunk = [];
  };
  for (let vt = startS * 1000; vt < (startS + seconds) * 1000; vt += 1000 / (rate * dailyFactor(vt))) {
    const r = gen.next(vt);
    r.time_received = vt;
    r.exporter = '192.0.2.1';
    r.version = 9;
    enricher.enrich(r);
    chunk.push(r);
    if (chunk.length >= 100_000) await flush();
  }
  chunk.push(...extra);
  await flush();
  // direct inserts into flows reach the rollups through the backfill (`vxflow rollup`) since migration 5
  await backfillAllRollups(db());
  return gen;
}

describe('SYN flood rule over a simulated day', () => {
  const floods: { start: number; end: number; key: string; tenant: string }[] = [];
  beforeAll(async () => {
    const gen = await load(D0, 86_400, 5);
    // the simulator's floods, from its own clock: a minute each, at most one per 15 minutes
    for (let t = D0; t < D0 + 86_400; t += 1) {
      const f = gen.floodAt(t * 1000);
      if (!f) continue;
      const vni = cloud.tenants.find((x) => x.name === f.tenant)!.ports.find((p) => p.port.ip === f.target)!
        .network.vni;
      const key = JSON.stringify({ vni: String(vni), dst_addr: f.target });
      const last = floods[floods.length - 1];
      if (last && last.key === key && t - last.end <= 1) last.end = t + 1;
      else floods.push({ start: t, end: t + 1, key, tenant: f.tenant });
    }
  }, 300_000);

  it('fires on every flood, per destination, and never on the normal traffic', async () => {
    expect(floods.length).toBeGreaterThan(20);
    // the built-in rule; the floor lowered to the simulator's volume (5 flows/s in all, so
    // a flood is ~1 SYN/s at night): keys need 0.1 TCP flows/s to be judged
    const rule = builtin('syn-flood', { minFlowsPerSecond: 0.1, intervalSeconds: 60 });
    const r = await simulate(db(), rule, D0, D0 + 86_400, {
      lagSeconds: 0,
      maxKeysPerRule: 100,
      maxSteps: 1440,
    });
    expect(r.evaluations).toBe(1440);
    const fired = r.events.filter((e) => e.kind === 'firing');
    // each firing is a flood's destination, at the end of a minute window that held part of the flood
    for (const e of fired) {
      const t = Date.parse(e.time) / 1000;
      const f = floods.find((x) => x.key === e.key && t > x.start && t <= x.end + 120);
      expect(f, `firing ${e.key} at ${e.time} matches no flood`).toBeDefined();
    }
    // and every flood fired
    for (const f of floods) {
      const hit = fired.some(
        (e) =>
          e.key === f.key && Date.parse(e.time) / 1000 > f.start && Date.parse(e.time) / 1000 <= f.end + 120,
      );
      expect(hit, `flood on ${f.key} at ${new Date(f.start * 1000).toISOString()} did not fire`).toBe(true);
    }
    expect(fired).toHaveLength(floods.length);
    console.log(
      `SYN flood rule: ${floods.length} floods in the day, ${fired.length} firings, ${r.evaluations} evaluations`,
    );
    expect(r.firingAtEnd.length).toBeLessThanOrEqual(1);
  }, 300_000);
});

describe('tenant surge rule over simulated days', () => {
  /** four days, ten days after the SYN flood day; the surge on the last day 14:00-14:30 */
  const B0 = D0 + 10 * 86_400;
  const B3 = B0 + 3 * 86_400;
  const surgeTenant = cloud.tenants[2].name;
  beforeAll(async () => {
    await load(B0, 4 * 86_400, 1.5);
    const from = B3 + 14 * 3600;
    const [normal] = await db().query<{ b: string }>(
      `SELECT sum(bytes * greatest(sampling_rate, 1)) AS b FROM ${db().database}.flows WHERE tenant = '${surgeTenant}' AND time_received >= toDateTime(${from}) AND time_received < toDateTime(${from + 1800})`,
    );
    // five times the tenant's own traffic of that half hour, one flow every 10 s
    const each = Math.ceil((5 * Number(normal.b)) / 180);
    const net = cloud.tenants[2].networks[0];
    const extra: FlowRecord[] = [];
    for (let i = 0; i < 180; i++) {
      const r = createGenerator(cloud, SEED + 1).next((from + i * 10) * 1000);
      Object.assign(r, {
        time_received: (from + i * 10) * 1000,
        exporter: '192.0.2.1',
        version: 9,
        vni: net.vni,
        bytes: each,
        packets: Math.ceil(each / 1400),
        sampling_rate: 1,
      });
      extra.push(r);
    }
    const inv = parseInventory(inventoryYaml(cloud));
    if (!inv.ok) throw new Error(inv.reason);
    const enricher = createEnricher(inv.value);
    for (const r of extra) enricher.enrich(r);
    expect(new Set(extra.map((r) => r.tenant))).toEqual(new Set([surgeTenant]));
    await db().insertRowBinary(`${db().database}.flows`, FLOW_INSERT_COLUMNS, encodeFlowsRowBinary(extra));
    await backfillAllRollups(db());
  }, 600_000);

  it('fires on the injected surge of one tenant and not on the daily curve', async () => {
    // The built-in rule, its 1 Mbit/s floor scaled to the simulator's volume (1.5 flows/s in
    // all, tenants at 30-200 kbit/s): 100 kbit/s. With 20 kbit/s, single heavy-tailed flows
    // of small tenants at night (8x their baseline) fired too: that is what the floor is for.
    const spec = BUILTIN_RULES['tenant-surge'].spec;
    const rule = builtin('tenant-surge', {
      condition: {
        ...(spec.condition as Extract<typeof spec.condition, { type: 'baseline' }>),
        minValue: 100_000,
      },
    });
    const r = await simulate(db(), rule, B3, B3 + 86_400, {
      lagSeconds: 0,
      maxKeysPerRule: 100,
      maxSteps: 288,
    });
    expect(r.evaluations).toBe(288);
    const fired = r.events.filter((e) => e.kind === 'firing');
    console.log(
      `tenant surge rule: ${JSON.stringify(r.events.map((e) => [e.kind, e.time, e.key, Math.round(e.value), Math.round(e.threshold)]))}`,
    );
    expect(fired.map((e) => e.key)).toEqual([JSON.stringify({ tenant: surgeTenant })]);
    const at = Date.parse(fired[0].time) / 1000;
    // 15-minute windows every 5 minutes, 2 of 3 matching: by 14:20 at the latest
    expect(at).toBeGreaterThan(B3 + 14 * 3600);
    expect(at).toBeLessThanOrEqual(B3 + 14 * 3600 + 1200);
    const resolved = r.events.filter((e) => e.kind === 'resolved');
    expect(resolved).toHaveLength(1);
    expect(Date.parse(resolved[0].time) / 1000).toBeLessThanOrEqual(B3 + 15 * 3600);
  }, 300_000);
});
