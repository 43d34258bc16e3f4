/**
 * Exporters and their health. Admins see every exporter with its counters; a tenant sees
 * only the exporters its own flows came from, by address and name, nothing of the others.
 */
import { Type } from '@sinclair/typebox';
import { sql } from '../../../storage/src/sql.ts';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';
import { errors, scopeOf } from './common.ts';
import type { Column } from '../../../protocol/src/schema/columns.ts';
import { columnByName, textExpr } from '../query/columns.ts';

// the exporter column's text form, as every other query gives addresses
const ADDR = textExpr(columnByName('exporter') as Column);

const Exporter = Type.Object({
  address: Type.String(),
  name: Type.String(),
  versions: Type.Array(Type.Integer()),
  domains: Type.Array(Type.Integer()),
  lastSeen: Type.Union([Type.String(), Type.Null()]),
  flowsPerSecond: Type.Number({
    description: 'records per second over the last 5 minutes (within the scope)',
  }),
  health: Type.Optional(
    Type.Object({
      firstSeen: Type.Union([Type.String(), Type.Null()]),
      templates: Type.Integer(),
      samplingRate: Type.Integer(),
      packets: Type.Number(),
      records: Type.Number(),
      lostPackets: Type.Number(),
      lostRecords: Type.Number(),
      errors: Type.Number(),
      sequenceLoss: Type.Number({ description: 'lost packets / (received + lost)' }),
    }),
  ),
});

const iso = (s: unknown) => (Number(s) > 0 ? new Date(Number(s) * 1000).toISOString() : null);

export function exportersRoutes(app: App, ctx: RouteContext): void {
  app.get(
    '/api/v1/exporters',
    {
      schema: {
        tags: ['exporters'],
        summary: 'exporters, with rate, sequence loss, templates, last seen and versions (health for admins)',
        response: { 200: Type.Object({ exporters: Type.Array(Exporter) }), ...errors(401, 429) },
      },
    },
    async (req) => {
      const scope = scopeOf(req);
      const db = ctx.ch.database;
      const now = Math.floor(Date.now() / 1000);
      const recent = `time >= toDateTime(${Math.floor(now / 60) * 60 - 300})`;
      const tenantCond = scope.tenant !== null ? sql`tenant = ${scope.tenant}` : '1';
      const rates = await ctx.ch.query<{ a: string; f: string }>(
        `SELECT ${ADDR} AS a, sum(flows) AS f FROM ${db}.flows_1m WHERE ${tenantCond} AND ${recent} GROUP BY a`,
      );
      const rate = new Map(rates.map((r) => [r.a, Number(r.f) / 300]));
      const rows = await ctx.ch.query<Record<string, string>>(
        `SELECT ${ADDR} AS address, any(name) AS name, groupUniqArray(version) AS versions, groupUniqArray(observation_domain) AS domains,
                toUnixTimestamp(max(last_seen)) AS last_seen, toUnixTimestamp(min(first_seen)) AS first_seen,
                sum(templates) AS templates, max(sampling_rate) AS sampling_rate, sum(packets) AS packets, sum(records) AS records,
                sum(lost_packets) AS lost_packets, sum(lost_records) AS lost_records, sum(errors) AS errors
         FROM ${db}.exporters FINAL
         ${scope.tenant !== null ? `WHERE exporter IN (SELECT DISTINCT exporter FROM ${db}.flows_1h WHERE ${tenantCond})` : ''}
         GROUP BY address ORDER BY address`,
      );
      return {
        exporters: rows.map((r) => {
          const base = {
            address: r.address,
            name: r.name,
            versions: (r.versions as unknown as number[]).map(Number).sort(),
            domains: (r.domains as unknown as number[]).map(Number).sort((a, b) => a - b),
            lastSeen: iso(r.last_seen),
            flowsPerSecond: rate.get(r.address) ?? 0,
          };
          if (scope.tenant !== null) return base;
          const packets = Number(r.packets);
          const lost = Number(r.lost_packets);
          return {
            ...base,
            health: {
              firstSeen: iso(r.first_seen),
              templates: Number(r.templates),
              samplingRate: Number(r.sampling_rate),
              packets,
              records: Number(r.records),
              lostPackets: lost,
              lostRecords: Number(r.lost_records),
              errors: Number(r.errors),
              sequenceLoss: packets + lost > 0 ? lost / (packets + lost) : 0,
            },
          };
        }),
      };
    },
  );
}
