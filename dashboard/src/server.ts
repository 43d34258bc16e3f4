/**
 * The dashboard as a running server: connects to ClickHouse (the configured one or the
 * embedded server), migrates, builds the app plugin with its dependencies and listens.
 * createDashboard() knows nothing of the command line; `vxflow dashboard` and the demo
 * both use it. stop() lets in-flight requests finish, then closes ClickHouse.
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { type ClickHouse, connectClickHouse } from '../../storage/src/clickhouse.ts';
import type { ClickHouseConfig } from '../../storage/src/config.ts';
import { migrateAuto } from '../../storage/src/cluster-migrate.ts';
import { createEvaluator } from './alerts/engine.ts';
import app from './app.ts';
import { createTokenStore } from './auth/tokens.ts';
import type { DashboardConfig } from './config.ts';
import type { DashboardDeps } from './deps.ts';
import { createDashboardMetrics } from './metrics.ts';

export interface Dashboard {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly ch: ClickHouse;
  stop(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new Error(
      `dashboard.listen: got ${JSON.stringify(listen)}, expected HOST:PORT with a port 0-65535`,
    );
  return { host: m[1], port };
}

/** The app with its dependencies, not listening: what tests drive with inject(). */
export async function buildDashboardApp(
  deps: Omit<DashboardDeps, 'metrics' | 'tokens' | 'sqlClient'> &
    Partial<Pick<DashboardDeps, 'metrics' | 'tokens' | 'sqlClient'>>,
  opts: { logger?: Logger } = {},
): Promise<FastifyInstance> {
  const full: DashboardDeps = {
    ...deps,
    metrics: deps.metrics ?? createDashboardMetrics(),
    tokens: deps.tokens ?? createTokenStore(deps.ch),
    sqlClient:
      deps.sqlClient ??
      createClient({
        url: deps.ch.url,
        username: deps.config.sqlUser,
        password: deps.config.sqlPassword,
        database: deps.ch.database,
        // response compression fails for a readonly user on 18.16 (DESIGN.md)
        compression: { request: false, response: false },
        request_timeout: (deps.config.sqlLimits.maxExecutionTime + 5) * 1000,
        // a user's bad query is answered as a 4xx; the client's own error log would only repeat it on stderr
        log: { level: ClickHouseLogLevel.OFF },
      }),
  };
  const fastify = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: 1 << 20,
    // one line per request would drown what matters; errors and state changes are logged
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  await fastify.register(app, full);
  fastify.addHook('onClose', async () => {
    await full.sqlClient.close();
  });
  await fastify.ready();
  return fastify as unknown as FastifyInstance;
}

export async function createDashboard(
  config: { dashboard: DashboardConfig; clickhouse: ClickHouseConfig },
  deps: { log: Logger },
): Promise<Dashboard> {
  const { host, port } = parseListen(config.dashboard.listen);
  const ch = await connectClickHouse(config.clickhouse, { log: (m) => deps.log.info(m) });
  try {
    await migrateAuto(ch, { log: (m) => deps.log.info(m) });
    const fastify = await buildDashboardApp({ ch, config: config.dashboard }, { logger: deps.log });
    const address = await fastify.listen({ host, port });
    const url = config.dashboard.publicUrl || address.replace('0.0.0.0', '127.0.0.1');
    // alert rules are evaluated in the dashboard; of several dashboards one acts (a lease)
    const alerts = config.dashboard.alerts.evaluate
      ? createEvaluator({ ch, config: config.dashboard, log: deps.log, publicUrl: () => url })
      : null;
    alerts?.start();
    return {
      url,
      app: fastify,
      ch,
      async stop() {
        await alerts?.stop();
        await fastify.close();
        await ch.close();
      },
    };
  } catch (err) {
    await ch.close();
    throw err;
  }
}
