/** Traffic: time series with top-N and "Other", top talkers, conversation matrices, tenants. */
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';
import { DIMENSION_NAMES } from '../query/columns.ts';
import { parseRange } from '../query/time-range.ts';
import { MATRIX_BY, type MatrixBy, matrix, timeSeries, topN } from '../query/traffic.ts';
import { errors, scopeOf, TenantParam, TimeParam } from './common.ts';

const Unit = Type.Union([Type.Literal('bps'), Type.Literal('pps'), Type.Literal('fps')], {
  default: 'bps',
  description: 'bits/s, packets/s or flows/s; counters scaled by sampling_rate',
});
const Dimensions = Type.Array(Type.String({ enum: [...DIMENSION_NAMES] }), {
  maxItems: 4,
  default: [],
  description: 'schema columns to group by (GET /api/v1/schema lists them)',
});
const Filter = Type.String({ maxLength: 4096, default: '', description: 'filter language expression' });
const QueryInfo = {
  table: Type.String({ description: 'the table that answered: flows_1h, flows_5m, flows_1m or flows' }),
  interval: Type.Integer({ description: 'seconds per point or per row of that table' }),
};
const TopRow = Type.Object({
  key: Type.Array(Type.String()),
  total: Type.Number(),
  rate: Type.Number(),
  share: Type.Number(),
});

export function trafficRoutes(app: App, ctx: RouteContext): void {
  app.post(
    '/api/v1/traffic/series',
    {
      schema: {
        tags: ['traffic'],
        summary: 'traffic over time, grouped by dimensions, top-N with the rest as "Other"',
        body: Type.Object(
          {
            start: Type.Optional(TimeParam),
            end: Type.Optional(TimeParam),
            unit: Type.Optional(Unit),
            dimensions: Type.Optional(Dimensions),
            filter: Type.Optional(Filter),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 })),
            points: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000, default: 200 })),
            previousPeriod: Type.Optional(
              Type.Union([Type.Literal('none'), Type.Literal('day'), Type.Literal('week')], {
                default: 'none',
              }),
            ),
            tenant: Type.Optional(TenantParam),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            ...QueryInfo,
            start: Type.String(),
            end: Type.String(),
            unit: Type.String(),
            totalUnit: Type.String(),
            dimensions: Type.Array(Type.String()),
            t: Type.Array(Type.String()),
            series: Type.Array(
              Type.Object({
                name: Type.String(),
                key: Type.Array(Type.String()),
                values: Type.Array(Type.Number()),
                total: Type.Number(),
                average: Type.Number(),
                p95: Type.Number(),
                max: Type.Number(),
              }),
            ),
            previous: Type.Union([
              Type.Null(),
              Type.Object({
                start: Type.String(),
                end: Type.String(),
                values: Type.Array(Type.Number()),
                total: Type.Number(),
              }),
            ]),
          }),
          ...errors(400, 401, 403, 408, 413, 429),
        },
      },
    },
    async (req) => {
      const b = req.body;
      return timeSeries(ctx.ch, scopeOf(req, b.tenant), {
        range: parseRange(b),
        unit: b.unit ?? 'bps',
        dimensions: b.dimensions ?? [],
        filter: b.filter ?? '',
        limit: b.limit ?? 10,
        points: b.points ?? 200,
        previousPeriod: b.previousPeriod ?? 'none',
      });
    },
  );

  const topBody = {
    start: Type.Optional(TimeParam),
    end: Type.Optional(TimeParam),
    unit: Type.Optional(Unit),
    filter: Type.Optional(Filter),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10 })),
    tenant: Type.Optional(TenantParam),
  };
  app.post(
    '/api/v1/traffic/top',
    {
      schema: {
        tags: ['traffic'],
        summary: 'top talkers, conversations, ports… over the range, with the rest as "Other"',
        body: Type.Object(
          { ...topBody, dimensions: Type.Optional({ ...Dimensions, minItems: 1, default: ['src_addr'] }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            ...QueryInfo,
            unit: Type.String(),
            totalUnit: Type.String(),
            dimensions: Type.Array(Type.String()),
            rows: Type.Array(TopRow),
            other: TopRow,
            total: Type.Number(),
          }),
          ...errors(400, 401, 403, 408, 413, 429),
        },
      },
    },
    async (req) => {
      const b = req.body;
      return topN(ctx.ch, scopeOf(req, b.tenant), {
        range: parseRange(b),
        unit: b.unit ?? 'bps',
        dimensions: b.dimensions ?? ['src_addr'],
        filter: b.filter ?? '',
        limit: b.limit ?? 10,
      });
    },
  );

  app.post(
    '/api/v1/traffic/matrix',
    {
      schema: {
        tags: ['traffic'],
        summary: 'who talks to whom: VM-to-VM (endpoint), subnet-to-subnet or address pairs',
        body: Type.Object(
          {
            ...topBody,
            by: Type.Optional(
              Type.Union(
                (Object.keys(MATRIX_BY) as MatrixBy[]).map((k) => Type.Literal(k)),
                { default: 'endpoint' },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            ...QueryInfo,
            unit: Type.String(),
            totalUnit: Type.String(),
            by: Type.String(),
            labels: Type.Array(Type.String()),
            cells: Type.Array(
              Type.Object({
                src: Type.String(),
                dst: Type.String(),
                total: Type.Number(),
                rate: Type.Number(),
              }),
            ),
            total: Type.Number(),
          }),
          ...errors(400, 401, 403, 408, 413, 429),
        },
      },
    },
    async (req) => {
      const b = req.body;
      return matrix(ctx.ch, scopeOf(req, b.tenant), {
        range: parseRange(b),
        unit: b.unit ?? 'bps',
        filter: b.filter ?? '',
        limit: b.limit ?? 50,
        by: (b.by ?? 'endpoint') as MatrixBy,
      });
    },
  );

  app.get(
    '/api/v1/tenants',
    {
      schema: {
        tags: ['traffic'],
        summary: 'tenants seen in the flows (admins: all, with unassigned as ""; tenants: themselves)',
        querystring: Type.Object(
          { start: Type.Optional(TimeParam), end: Type.Optional(TimeParam) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            tenants: Type.Array(
              Type.Object({
                name: Type.String(),
                bytes: Type.Number(),
                packets: Type.Number(),
                flows: Type.Number(),
              }),
            ),
          }),
          ...errors(400, 401, 429),
        },
      },
    },
    async (req) => {
      const scope = scopeOf(req);
      const range = parseRange(req.query);
      const top = await topN(ctx.ch, scope, {
        range,
        unit: 'bps',
        dimensions: ['tenant'],
        filter: '',
        limit: 1000,
      });
      const [pk, fl] = await Promise.all([
        topN(ctx.ch, scope, { range, unit: 'pps', dimensions: ['tenant'], filter: '', limit: 1000 }),
        topN(ctx.ch, scope, { range, unit: 'fps', dimensions: ['tenant'], filter: '', limit: 1000 }),
      ]);
      const get = (rows: typeof pk.rows, name: string) => rows.find((r) => r.key[0] === name)?.total ?? 0;
      return {
        tenants: top.rows.map((r) => ({
          name: r.key[0],
          bytes: r.total,
          packets: get(pk.rows, r.key[0]),
          flows: get(fl.rows, r.key[0]),
        })),
      };
    },
  );
}
