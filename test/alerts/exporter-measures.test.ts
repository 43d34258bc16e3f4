/**
 * Exporter measures from the `exporters` table as the collector writes it (a row per
 * exporter and domain, rewritten with cumulative counters): silence per exporter, and the
 * sequence loss over the window from the oldest and newest versions inside it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_RULES } from '../../dashboard/src/alerts/builtin.ts';
import { evaluateRules } from '../../dashboard/src/alerts/evaluate.ts';
import type { Rule } from '../../dashboard/src/alerts/model.ts';
import { dateTime, ident, ip, sql } from '../../storage/src/sql.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();
const NOW = Math.floor(Date.now() / 1000);

async function exporterRow(addr: string, domain: number, packets: number, lost: number, lastSeen: number) {
  await db().command(
    sql`INSERT INTO ${ident(db().database)}.exporters (exporter, name, version, observation_domain, templates, sampling_rate, packets, records, lost_packets, lost_records, errors, first_seen, last_seen) VALUES (${ip(addr)}, '', 9, ${domain}, 1, 1, ${packets}, ${packets * 20}, ${lost}, 0, 0, ${dateTime((NOW - 86_400) * 1000)}, ${dateTime(lastSeen * 1000)})`,
  );
}

function builtin(name: 'exporter-silent' | 'sequence-loss'): Rule {
  return {
    ...BUILTIN_RULES[name].spec,
    activation: { matches: 1, of: 1 },
    enabled: true,
    targets: [],
    id: name.padEnd(16, '0').slice(0, 16),
    tenant: null,
    builtin: name,
    created: '',
    updated: '',
    version: 1,
  };
}

beforeAll(async () => {
  // 192.0.2.1: heard 10 s ago; 1,000 packets then 2,000 with 100 lost within the last 5 minutes
  await exporterRow('192.0.2.1', 1, 1000, 0, NOW - 240);
  await exporterRow('192.0.2.1', 1, 2000, 100, NOW - 10);
  // 192.0.2.2: silent for 10 minutes, no loss
  await exporterRow('192.0.2.2', 7, 500, 0, NOW - 600);
  // 2001:db8::9: silent for 8 days: taken as decommissioned
  await exporterRow('2001:db8::9', 1, 500, 0, NOW - 8 * 86_400);
});

describe('exporter measures', () => {
  const opts = { lagSeconds: 0, maxKeysPerRule: 100, stateOf: () => undefined, knownKeys: () => [] };

  it('silence: seconds since last heard, per exporter; fires past 2 minutes', async () => {
    const { outcomes } = await evaluateRules(db(), [builtin('exporter-silent')], NOW, opts);
    const byKey = Object.fromEntries(outcomes.map((o) => [o.key, [o.value, o.event?.kind ?? null]]));
    expect(byKey).toEqual({
      '{"exporter":"192.0.2.1"}': [10, null],
      '{"exporter":"192.0.2.2"}': [600, 'firing'],
    });
  });

  it('sequence loss over the window from the row versions inside it', async () => {
    const { outcomes } = await evaluateRules(db(), [builtin('sequence-loss')], NOW, opts);
    const a = outcomes.find((o) => o.key === '{"exporter":"192.0.2.1"}');
    expect(a?.value).toBeCloseTo(100 / 1100, 9);
    expect(a?.event?.kind).toBe('firing');
    expect(outcomes.find((o) => o.key === '{"exporter":"192.0.2.2"}')).toBeUndefined(); // nothing in the window
  });
});
