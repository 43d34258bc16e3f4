import { type Static, Type } from '@sinclair/typebox';

/** The `dashboard:` section of the configuration file. */
export const DashboardConfig = Type.Object(
  {
    listen: Type.String({
      default: '127.0.0.1:8080',
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
      description: 'HOST:PORT of the API and the web UI',
    }),
    publicUrl: Type.String({
      default: '',
      description: 'URL users reach the dashboard at (links in webhooks); empty = http://<listen>',
    }),
    sqlUser: Type.String({
      default: 'vxflow_ro',
      description: 'ClickHouse user whose profile sets readonly and the limits, for POST /api/v1/sql',
    }),
    sqlPassword: Type.String({ default: '' }),
    sqlLimits: Type.Object(
      {
        maxExecutionTime: Type.Integer({ minimum: 1, maximum: 3600, default: 10, description: 'seconds' }),
        maxMemoryUsage: Type.Integer({ minimum: 1_000_000, default: 2_000_000_000, description: 'bytes' }),
        maxResultRows: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000 }),
        maxResultBytes: Type.Integer({ minimum: 1_000, default: 100_000_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    rateLimit: Type.Object(
      {
        perMinute: Type.Integer({
          minimum: 1,
          default: 600,
          description: 'API requests per token per minute',
        }),
        sqlPerMinute: Type.Integer({
          minimum: 1,
          default: 60,
          description: 'SQL queries per token per minute',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    sessionHours: Type.Number({
      minimum: 0.01,
      maximum: 8760,
      default: 12,
      description: 'browser session lifetime',
    }),
    secureCookies: Type.Boolean({
      default: false,
      description: 'mark the session cookie Secure (set when the dashboard is served over HTTPS)',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type DashboardConfig = Static<typeof DashboardConfig>;
