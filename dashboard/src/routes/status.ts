/** /healthz and /metrics (as the collector serves them), and the root. */
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';

export function statusRoutes(app: App, ctx: RouteContext): void {
  app.get(
    '/healthz',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['status'],
        summary: 'liveness and ClickHouse reachability',
        response: {
          200: Type.Object({ status: Type.Literal('ok'), clickhouse: Type.String() }),
          503: Type.Object({ status: Type.Literal('degraded'), clickhouse: Type.String() }),
        },
      },
    },
    async (_req, reply) => {
      const ok = await ctx.ch.ping();
      if (ok) return { status: 'ok' as const, clickhouse: ctx.ch.version };
      return reply.code(503).send({ status: 'degraded' as const, clickhouse: 'unreachable' });
    },
  );
  app.get(
    '/metrics',
    { config: { auth: 'none' }, schema: { tags: ['status'], summary: 'Prometheus metrics', hide: false } },
    async (_req, reply) => {
      reply.header('content-type', ctx.metrics.registry.contentType);
      return ctx.metrics.registry.metrics();
    },
  );
}
