/**
 * Exporter measures, from the `exporters` table (one row per exporter and observation
 * domain, rewritten by the collector every few seconds with cumulative counters):
 *
 * - `exporter_silence`: seconds since the exporter was last heard (any domain), for exporters
 *   heard within the last 7 days (older ones are taken as decommissioned);
 * - `seq_loss`: lost / (received + lost) export packets over the window, from the oldest and
 *   newest row versions inside it; where merges left one version only (or the collector
 *   restarted and its counters went back), the cumulative share of the newest row.
 *
 * One query answers every exporter rule of an evaluation.
 */
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';

const ADDR = `if(exporter = toFixedString('', 16), '', replaceRegexpOne(IPv6NumToString(exporter), '^::ffff:', ''))`;
export const SILENCE_LOOKBACK_S = 7 * 86_400;

export interface ExporterFacts {
  /** address → unix seconds last heard */
  lastSeen: Map<string, number>;
  /** address → loss share over the window */
  loss: Map<string, number>;
}

export async function exporterFacts(
  ch: ClickHouse,
  nowSec: number,
  windowSeconds: number,
): Promise<ExporterFacts> {
  const db = ch.database;
  const since = Math.max(0, nowSec - windowSeconds);
  const rows = await ch.query<Record<string, string>>(
    `SELECT ${ADDR} AS a, observation_domain AS d, toUnixTimestamp(max(last_seen)) AS seen, count() AS versions,
            argMax(packets, last_seen) AS p1, argMax(lost_packets, last_seen) AS l1,
            argMinIf(packets, last_seen, last_seen >= toDateTime(${since})) AS p0,
            argMinIf(lost_packets, last_seen, last_seen >= toDateTime(${since})) AS l0,
            countIf(last_seen >= toDateTime(${since})) AS inWindow
     FROM ${db}.exporters
     WHERE last_seen >= toDateTime(${Math.max(0, nowSec - SILENCE_LOOKBACK_S)})
     GROUP BY exporter, observation_domain`,
  );
  const lastSeen = new Map<string, number>();
  const sums = new Map<string, { got: number; lost: number }>();
  for (const r of rows) {
    const a = String(r.a);
    lastSeen.set(a, Math.max(lastSeen.get(a) ?? 0, Number(r.seen)));
    if (Number(r.inWindow) === 0) continue;
    const p1 = Number(r.p1);
    const l1 = Number(r.l1);
    const p0 = Number(r.p0);
    const l0 = Number(r.l0);
    const delta = Number(r.inWindow) > 1 && p1 >= p0 && l1 >= l0 && p1 - p0 + (l1 - l0) > 0;
    const got = delta ? p1 - p0 : p1;
    const lost = delta ? l1 - l0 : l1;
    const s = sums.get(a) ?? { got: 0, lost: 0 };
    s.got += got;
    s.lost += lost;
    sums.set(a, s);
  }
  const loss = new Map<string, number>();
  for (const [a, s] of sums) loss.set(a, s.got + s.lost > 0 ? s.lost / (s.got + s.lost) : 0);
  return { lastSeen, loss };
}
