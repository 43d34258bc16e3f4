import { type Static, Type } from '@sinclair/typebox';

export const ClickHouseConfig = Type.Object(
  {
    url: Type.String({
      default: '',
      pattern: '^(|https?://.+)$',
      description:
        'URL of an existing ClickHouse server (http://user:pass@host:8123); empty = start the embedded one',
    }),
    database: Type.String({ default: 'vxflow', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    dataDir: Type.String({
      default: '.vxflow/clickhouse',
      description: 'data directory of the embedded server',
    }),
    httpPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 18123,
      description: '0 = pick a free port',
    }),
    tcpPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 19000,
      description: '0 = pick a free port',
    }),
    binary: Type.String({
      default: '',
      description: 'path to clickhouse-server (default: search PATH and /usr/bin)',
    }),
    retentionDays: Type.Object(
      {
        flows: Type.Integer({ minimum: 1, default: 30 }),
        flows_1m: Type.Integer({ minimum: 1, default: 30 }),
        flows_5m: Type.Integer({ minimum: 1, default: 90 }),
        flows_1h: Type.Integer({ minimum: 1, default: 730 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type ClickHouseConfig = Static<typeof ClickHouseConfig>;
