/**
 * POST /api/v1/sql (DESIGN.md contract): read-only SQL. The query is parsed and checked by
 * the guard (a tenant may read only its own rows of flows and the rollups), then run as
 * the read-only ClickHouse user with the configured limits. Every query is audited.
 */
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';
import { guardSql, runSql, SqlExecutionError, SqlRefused } from '../sql/index.ts';
import { errors, identityOf } from './common.ts';

export function sqlRoutes(app: App, ctx: RouteContext): void {
  app.post(
    '/api/v1/sql',
    {
      config: { rateLimit: { max: ctx.config.rateLimit.sqlPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['sql'],
        summary:
          'read-only SQL; a tenant writes against the unqualified tables flows, flows_1m, flows_5m, flows_1h and sees only its rows',
        body: Type.Object(
          { query: Type.String({ minLength: 1, maxLength: 65536 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
            rows: Type.Array(Type.Array(Type.Unknown())),
            statistics: Type.Object({
              elapsed: Type.Number(),
              rows_read: Type.Number(),
              bytes_read: Type.Number(),
            }),
            truncated: Type.Boolean(),
          }),
          ...errors(400, 401, 403, 408, 413, 429),
        },
      },
    },
    async (req, reply) => {
      const who = identityOf(req);
      const text = req.body.query;
      let guarded: string;
      try {
        guarded = guardSql(text, {
          database: ctx.ch.database,
          tenant: who.role === 'tenant' ? who.tenant : null,
        });
      } catch (err) {
        if (err instanceof SqlRefused) {
          ctx.metrics.sqlQueries.inc({ outcome: 'refused' });
          ctx.audit(req, 'sql', text, err.status);
          return reply.code(err.status).send({ error: err.message });
        }
        throw err;
      }
      try {
        const result = await runSql(ctx.sqlClient, guarded, ctx.config.sqlLimits);
        ctx.metrics.sqlQueries.inc({ outcome: 'ok' });
        ctx.audit(req, 'sql', text, 200);
        return result;
      } catch (err) {
        if (err instanceof SqlExecutionError) {
          ctx.metrics.sqlQueries.inc({ outcome: 'error' });
          ctx.audit(req, 'sql', text, err.status);
          return reply
            .code(err.status)
            .send({ error: err.message, ...(err.limit ? { limit: err.limit } : {}) });
        }
        throw err;
      }
    },
  );
}
