/** What the dashboard app needs from outside: the server wires these, tests build their own. */
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ClickHouse } from '../../storage/src/clickhouse.ts';
import type { TokenStore } from './auth/tokens.ts';
import type { DashboardConfig } from './config.ts';
import type { DashboardMetrics } from './metrics.ts';

export interface DashboardDeps {
  /** vxflow's own connection: state tables and the API's traffic queries */
  ch: ClickHouse;
  /** a client logged in as the read-only SQL user (config.sqlUser), for POST /api/v1/sql */
  sqlClient: ClickHouseClient;
  tokens: TokenStore;
  config: DashboardConfig;
  metrics: DashboardMetrics;
}

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
