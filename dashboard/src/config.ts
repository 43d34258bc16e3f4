import { type Static, Type } from '@sinclair/typebox';
import { SQL_READONLY_PROFILE as RO } from '../../storage/src/server.ts';

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
    // with the read-only profile's readonly=1, a limit other than the profile's is refused by
    // ClickHouse and the profile's applies: change both together (storage/src/server.ts)
    sqlLimits: Type.Object(
      {
        maxExecutionTime: Type.Integer({
          minimum: 1,
          maximum: 3600,
          default: RO.max_execution_time,
          description: 'seconds',
        }),
        maxMemoryUsage: Type.Integer({
          minimum: 1_000_000,
          default: RO.max_memory_usage,
          description: 'bytes',
        }),
        maxResultRows: Type.Integer({ minimum: 1, maximum: 10_000_000, default: RO.max_result_rows }),
        maxResultBytes: Type.Integer({ minimum: 1_000, default: RO.max_result_bytes }),
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
    alerts: Type.Object(
      {
        evaluate: Type.Boolean({
          default: true,
          description:
            'run the alert evaluator and webhook delivery in this process (one dashboard at a time does, by lease)',
        }),
        tickMs: Type.Integer({
          minimum: 100,
          maximum: 60_000,
          default: 1000,
          description: 'how often the evaluator looks for rules that are due',
        }),
        lagSeconds: Type.Integer({
          minimum: 0,
          maximum: 600,
          default: 10,
          description: 'seconds after which a second of flows is taken as fully stored (insert delay)',
        }),
        minIntervalSeconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          default: 10,
          description: 'the shortest evaluation interval a rule may ask for',
        }),
        leaseSeconds: Type.Integer({
          minimum: 2,
          maximum: 600,
          default: 15,
          description:
            'how long the evaluator lease lasts without renewal (a crashed holder is replaced after this)',
        }),
        instanceId: Type.String({
          default: '',
          maxLength: 128,
          description: "this dashboard's name in the lease and delivery log (default: host:pid:random)",
        }),
        maxKeysPerRule: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 100,
          description: 'group keys watched per rule and evaluation (the largest values first)',
        }),
        allowPrivateTargets: Type.Boolean({
          default: false,
          description:
            'allow webhook targets on loopback, link-local, private and cloud-metadata addresses (refused by default: SSRF)',
        }),
        delivery: Type.Object(
          {
            timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
            maxAttempts: Type.Integer({ minimum: 1, maximum: 50, default: 8 }),
            backoffBaseMs: Type.Integer({
              minimum: 10,
              maximum: 600_000,
              default: 2000,
              description: 'first retry delay; doubled each attempt, with ±50 % jitter',
            }),
            backoffMaxMs: Type.Integer({ minimum: 10, maximum: 86_400_000, default: 600_000 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type DashboardConfig = Static<typeof DashboardConfig>;
