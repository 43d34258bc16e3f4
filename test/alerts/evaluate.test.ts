/**
 * The evaluation against a real ClickHouse loaded with known rows: values per measure and
 * table (raw and rollups agree), group keys, tenant confinement, batching (many rules, one
 * query), baselines reading past windows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import { encodeFlowsRowBinary } from '../../storage/src/flow-rowbinary.ts';
import { backfillAllRollups } from '../../storage/src/rollup-backfill.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';
import { evaluateRules } from '../../dashboard/src/alerts/evaluate.ts';
import type { Rule, RuleSpec } from '../../dashboard/src/alerts/model.ts';
import { batchSql, planBatches } from '../../dashboard/src/alerts/query.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();
/** 2026-12-01T00:00:00Z */
const T = Date.UTC(2026, 11, 1) / 1000;

function flow(t: number, over: Partial<FlowRecord>): FlowRecord {
  return Object.assign(emptyFlow(), {
    time_received: t * 1000,
    flow_start: t * 1000 - 1000,
    flow_end: t * 1000,
    exporter: '192.0.2.1',
    version: 9,
    src_addr: '10.0.0.1',
    dst_addr: '10.0.0.2',
    proto: 6,
    tcp_flags: 0x1b,
    bytes: 1000,
    packets: 10,
    sampling_rate: 1,
    ip_version: 4,
    ...over,
  });
}

const rows: FlowRecord[] = [];
beforeAll(async () => {
  // the 5 minutes before T+3600: acme 1 flow/s of 1000 bytes (rate 1), globex 2 flows/s sampled 1:10,
  // and 60 SYN-only flows to 10.0.0.99 from 60 sources in the last minute (acme)
  for (let s = 0; s < 300; s++) {
    const t = T + 3600 - 300 + s;
    rows.push(flow(t, { tenant: 'acme', vni: 5001, network: 'web' }));
    rows.push(flow(t, { tenant: 'globex', vni: 6001, sampling_rate: 10, dst_addr: '10.0.0.3' }));
    rows.push(flow(t, { tenant: 'globex', vni: 6001, sampling_rate: 10, dst_addr: '10.0.0.4' }));
    if (s >= 240)
      rows.push(
        flow(t, {
          tenant: 'acme',
          vni: 5001,
          network: 'web',
          tcp_flags: 2,
          packets: 1,
          bytes: 60,
          src_addr: `198.51.100.${s - 239}`,
          dst_addr: '10.0.0.99',
        }),
      );
  }
  // the same 5 minutes one and two days earlier: acme at a tenth of the volume
  for (const d of [1, 2])
    for (let s = 0; s < 300; s += 10)
      rows.push(flow(T + 3600 - 300 + s - d * 86_400, { tenant: 'acme', vni: 5001, network: 'web' }));
  await db().insertRowBinary(`${db().database}.flows`, FLOW_INSERT_COLUMNS, encodeFlowsRowBinary(rows));
  // direct inserts into flows reach the rollups through the backfill (`vxflow rollup`) since migration 5
  await backfillAllRollups(db());
});

let n = 0;
function rule(
  spec: Partial<RuleSpec> & Pick<RuleSpec, 'measure' | 'condition'>,
  tenant: string | null = null,
): Rule {
  n++;
  return {
    name: `r${n}`,
    enabled: true,
    scope: {},
    groupBy: [],
    windowSeconds: 300,
    intervalSeconds: 60,
    activation: { matches: 1, of: 1 },
    resolve: { after: 1, ratio: 1 },
    cooldownSeconds: 0,
    renotifySeconds: 0,
    minFlowsPerSecond: 0,
    targets: [],
    ...spec,
    id: n.toString(16).padStart(16, '0'),
    tenant,
    builtin: '',
    created: '',
    updated: '',
    version: 1,
  };
}

const NOW = T + 3600; // lag 0: the window is [T+3300, T+3600)
const opts = { lagSeconds: 0, maxKeysPerRule: 100, stateOf: () => undefined, knownKeys: () => [] };
const above = (value: number) => ({ type: 'threshold' as const, op: 'above' as const, value });

describe('evaluation values', () => {
  it('computes each unit per tenant, scaled by sampling rate, from the 5-minute rollup', async () => {
    const rules = [
      rule({ measure: 'bps', condition: above(0) }, 'acme'),
      rule({ measure: 'pps', condition: above(0) }, 'globex'),
      rule({ measure: 'fps', condition: above(0) }, 'globex'),
      rule({ measure: 'fps', condition: above(0), scope: { network: 'web' } }),
    ];
    const [b] = planBatches(rules, NOW, 0);
    expect(b.source.table).toBe('flows_5m');
    const { outcomes, stats } = await evaluateRules(db(), rules, NOW, opts);
    expect(stats.queries).toBe(1);
    const v = outcomes.map((o) => o.value);
    // acme: 300 flows × 1000 bytes + 60 × 60 bytes over 300 s, × 8
    expect(v[0]).toBeCloseTo(((300 * 1000 + 60 * 60) * 8) / 300, 6);
    expect(v[1]).toBeCloseTo((600 * 10 * 10) / 300, 6);
    expect(v[2]).toBeCloseTo(600 / 300, 6);
    expect(v[3]).toBeCloseTo(360 / 300, 6);
    expect(outcomes.every((o) => o.event?.kind === 'firing')).toBe(true);
  });

  it('confines a tenant rule to its tenant whatever its filter says', async () => {
    const r = rule(
      { measure: 'fps', condition: above(0), scope: { filter: 'vni 6001 or tenant globex' } },
      'acme',
    );
    const { outcomes } = await evaluateRules(db(), [r], NOW, opts);
    expect(outcomes[0].value).toBe(0);
    const sql = batchSql('x', planBatches([r], NOW, 0)[0], 10);
    expect(sql).toContain("(tenant = 'acme' AND ((vni = 6001) OR (tenant = 'globex')))");
  });

  it('groups by destination on the raw table: SYN share, distinct sources, with a flows/s floor', async () => {
    const syn = rule(
      {
        measure: 'syn_share',
        groupBy: ['dst_addr'],
        windowSeconds: 60,
        condition: above(0.8),
        minFlowsPerSecond: 0.5,
      },
      'acme',
    );
    const srcs = rule({
      measure: 'distinct_src',
      groupBy: ['dst_addr'],
      windowSeconds: 60,
      condition: above(50),
    });
    const { outcomes } = await evaluateRules(db(), [syn, srcs], NOW, opts);
    const firing = outcomes
      .filter((o) => o.event?.kind === 'firing')
      .map((o) => [o.rule.name, o.key, o.value]);
    expect(firing).toEqual([
      [syn.name, '{"dst_addr":"10.0.0.99"}', 1],
      [srcs.name, '{"dst_addr":"10.0.0.99"}', 60],
    ]);
    // acme's ordinary destination passes the floor (1 TCP flow/s) and is judged: share 0, quiet;
    // globex's destinations are not acme's, so the tenant rule never sees them
    expect(outcomes.filter((o) => o.rule === syn).map((o) => [o.key, o.value, o.event])).toEqual([
      ['{"dst_addr":"10.0.0.99"}', 1, expect.objectContaining({ kind: 'firing' })],
      ['{"dst_addr":"10.0.0.2"}', 0, null],
    ]);
  });

  it('answers 1,000 rules over one table with one query per group-by', async () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      rule({ measure: 'bps', condition: above(i * 100) }, i % 2 ? 'acme' : 'globex'),
    );
    const grouped = Array.from({ length: 50 }, () =>
      rule({ measure: 'pps', groupBy: ['vni'], condition: above(1) }),
    );
    const { outcomes, stats } = await evaluateRules(db(), [...many, ...grouped], NOW, opts);
    expect(stats.queries).toBe(2);
    expect(outcomes.filter((o) => o.rule.measure === 'bps')).toHaveLength(1000);
    expect(outcomes.filter((o) => o.rule.measure === 'pps')).toHaveLength(100);
  });

  it('reads the same window of day on previous days for a baseline', async () => {
    const r = rule(
      {
        measure: 'fps',
        condition: { type: 'baseline', op: 'above', method: 'same_time', periods: 3, factor: 5 },
      },
      'acme',
    );
    const { outcomes } = await evaluateRules(db(), [r], NOW, opts);
    // now 1.2 flows/s, one and two days ago 0.1 (the third day has no data: not a baseline)
    expect(outcomes[0].judgement.reference).toBeCloseTo(0.1, 6);
    expect(outcomes[0].event?.kind).toBe('firing');
  });
});
