/**
 * The dashboard as a Fastify plugin (fastify/demo's shape): tests import it and drive it
 * with `app.inject`; server.ts listens. The API lives under /api/v1, every route with a
 * TypeBox schema for its input and output, documented at /docs (OpenAPI at /docs/json).
 */
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ClickHouseQueryError } from '../../storage/src/clickhouse.ts';
import { createAuditLog } from './audit.ts';
import { authHook } from './auth/hook.ts';
import type { App, DashboardDeps } from './deps.ts';
import { ApiError } from './errors.ts';
import { VERSION } from '../../common/version.ts';
import { alertRoutes } from './routes/alerts.ts';
import { exportersRoutes } from './routes/exporters.ts';
import { filterRoutes } from './routes/filter.ts';
import { flowsRoutes } from './routes/flows.ts';
import { inventoryRoutes } from './routes/inventory.ts';
import { schemaRoutes } from './routes/schema.ts';
import { sessionRoutes } from './routes/session.ts';
import { sqlRoutes } from './routes/sql.ts';
import { staticRoutes } from './routes/static.ts';
import { statusRoutes } from './routes/status.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { trafficRoutes } from './routes/traffic.ts';

/** ClickHouse errors a user's request can cause (a filter comparing across types, a slow query). */
const USER_CAUSED: Record<number, number> = {
  43: 400,
  53: 400,
  386: 400,
  159: 408,
  241: 413,
  158: 413,
  396: 413,
};

async function dashboard(fastify: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const app = fastify as unknown as App;
  const audit = createAuditLog(deps.ch, (err) => app.log.warn({ err }, 'audit log write failed'));

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'vxflow dashboard API',
        version: VERSION,
        description:
          'Per-tenant overlay flow telemetry. Every /api/v1 route takes `Authorization: Bearer TOKEN` or the session cookie set by POST /api/v1/session. A tenant token sees only its own tenant.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'vxflow_session' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.decorateRequest('identity', null);
  app.addHook('onRequest', authHook(deps));
  await app.register(rateLimit, {
    hook: 'preHandler',
    max: deps.config.rateLimit.perMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.identity ? `token:${req.identity.tokenId}` : `ip:${req.ip}`),
    // what the builder returns is thrown: an Error with a status reaches the error handler as a 429
    errorResponseBuilder: (_req, ctx) =>
      Object.assign(
        new Error(
          `rate limit: at most ${ctx.max} requests per minute for this token; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        ),
        { statusCode: 429 },
      ),
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    deps.metrics.requests.inc({ route, status: String(reply.statusCode) });
    deps.metrics.duration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send({ error: err.message, ...err.extra });
    if (err.validation) return reply.code(400).send({ error: err.message });
    if (err instanceof ClickHouseQueryError && err.code !== undefined && USER_CAUSED[err.code])
      return reply.code(USER_CAUSED[err.code]).send({ error: `ClickHouse: ${err.message}` });
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: err.message });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error (a bug: the log has the details)' });
  });
  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}; see /docs` }),
  );

  const ctx = { ...deps, audit };
  statusRoutes(app, ctx);
  sessionRoutes(app, ctx);
  tokenRoutes(app, ctx);
  schemaRoutes(app, ctx);
  filterRoutes(app, ctx);
  trafficRoutes(app, ctx);
  flowsRoutes(app, ctx);
  exportersRoutes(app, ctx);
  inventoryRoutes(app, ctx);
  sqlRoutes(app, ctx);
  alertRoutes(app, ctx);
  staticRoutes(app, ctx);
}

export default fp(dashboard, { name: 'vxflow-dashboard', fastify: '5.x' });
export type RouteContext = DashboardDeps & { audit: ReturnType<typeof createAuditLog> };
