/** Raw flows: search with a filter and a time range, cursor paging, JSON or streamed CSV. */
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { COLUMNS } from '../../../protocol/src/schema/columns.ts';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';
import { badRequest } from '../errors.ts';
import { csvField, flowsSelect, searchFlows } from '../query/flows.ts';
import { parseRange } from '../query/time-range.ts';
import { errors, identityOf, scopeOf, TenantParam, TimeParam } from './common.ts';

const MAX_JSON = 10_000;
const MAX_CSV = 1_000_000;

export function flowsRoutes(app: App, ctx: RouteContext): void {
  app.get(
    '/api/v1/flows',
    {
      schema: {
        tags: ['flows'],
        summary: 'raw flows, newest first; the next page is the same request with cursor=NEXT',
        querystring: Type.Object(
          {
            start: Type.Optional(TimeParam),
            end: Type.Optional(TimeParam),
            filter: Type.Optional(Type.String({ maxLength: 4096 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CSV, default: 100 })),
            format: Type.Optional(
              Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }),
            ),
            cursor: Type.Optional(Type.String({ maxLength: 8192 })),
            tenant: Type.Optional(TenantParam),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            flows: Type.Array(Type.Record(Type.String(), Type.Unknown())),
            next: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors(400, 401, 403, 408, 413, 429),
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const who = identityOf(req);
      const scope = scopeOf(req, q.tenant);
      const format = q.format ?? 'json';
      const limit = q.limit ?? 100;
      const request = {
        range: q.cursor ? { start: 0, end: 1 } : parseRange(q),
        filter: q.filter ?? '',
        limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      };
      if (format === 'json') {
        if (limit > MAX_JSON)
          throw badRequest(`limit: at most ${MAX_JSON} rows a page in JSON (CSV streams up to ${MAX_CSV})`);
        return searchFlows(ctx.ch, scope, request, who.tokenId);
      }
      const sel = flowsSelect(ctx.ch, scope, request, who.tokenId);
      ctx.audit(
        req,
        'export',
        JSON.stringify({ format, limit, filter: request.filter, range: q.cursor ? 'cursor' : request.range }),
        200,
      );
      // streamed from ClickHouse to the client: a large export never sits in memory
      const rs = await ctx.ch.client.query({ query: sel.query(limit), format: 'JSONEachRow' });
      const header = `${COLUMNS.map((c) => c.name).join(',')}\r\n`;
      async function* lines() {
        yield header;
        for await (const batch of rs.stream()) {
          let chunk = '';
          for (const row of batch as { json(): Record<string, unknown> }[]) {
            const o = sel.toJson(row.json());
            chunk += `${COLUMNS.map((c) => csvField(o[c.name])).join(',')}\r\n`;
          }
          yield chunk;
        }
      }
      reply.header('content-type', 'text/csv; charset=utf-8');
      reply.header('content-disposition', 'attachment; filename="flows.csv"');
      // a stream bypasses the JSON serializer
      return reply.send(Readable.from(lines()) as never);
    },
  );
}
