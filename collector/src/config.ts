/**
 * The `collector` section of the configuration file. Defaults and limits live here; rules
 * that span fields are checked in createCollector() with messages naming the field.
 */
import { type Static, Type } from '@sinclair/typebox';

const Cidr = Type.String({
  description: "an exporter address or network: '10.0.0.0/8', '2001:db8::/32', '192.0.2.7'",
});

export const SamplingOverride = Type.Object(
  {
    exporter: Cidr,
    rate: Type.Integer({ minimum: 1, description: '1-in-N sampling to apply to these exporters' }),
  },
  { additionalProperties: false },
);

export const CollectorConfig = Type.Object(
  {
    listen: Type.Array(Type.String({ pattern: '^(udp|tcp)://' }), {
      default: ['udp://[::]:2055', 'udp://[::]:4739'],
      description:
        'udp://ADDR:PORT (v5, v9 and IPFIX) or tcp://ADDR:PORT (IPFIX over TCP); [::] is dual-stack',
    }),
    recvBufferBytes: Type.Integer({
      minimum: 65_536,
      default: 32 * 1024 * 1024,
      description: 'UDP receive buffer requested per socket; the kernel caps it at net.core.rmem_max',
    }),
    workers: Type.Integer({
      minimum: 0,
      maximum: 64,
      default: 0,
      description: 'decode worker threads; 0 = one per CPU core',
    }),
    workerQueueDatagrams: Type.Integer({
      minimum: 100,
      default: 50_000,
      description: 'datagrams waiting for one decode worker; beyond this new datagrams are dropped (counted)',
    }),
    batchMaxRows: Type.Integer({
      minimum: 1,
      default: 200_000,
      description:
        'rows per ClickHouse insert at most; big inserts cost ClickHouse far less CPU per row (measured: 50 000-row inserts took about 2x the CPU of 200 000-row ones) and make fewer parts to merge',
    }),
    batchMaxWaitMs: Type.Integer({ minimum: 10, default: 1000 }),
    insertTimeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
    memoryBatches: Type.Integer({
      minimum: 1,
      default: 4,
      description: 'ready batches kept in memory while an insert is in flight; more go to the spool',
    }),
    stateDir: Type.String({
      default: '.vxflow/collector',
      description: 'templates.json and the spool live here',
    }),
    spoolMaxBytes: Type.Integer({
      minimum: 1_048_576,
      default: 1024 * 1024 * 1024,
      description: 'on-disk spool bound; when full, new batches are dropped (counted, logged)',
    }),
    templateSaveMs: Type.Integer({ minimum: 100, default: 5000 }),
    exportersRefreshMs: Type.Integer({ minimum: 100, default: 10_000 }),
    inventoryCheckMs: Type.Integer({ minimum: 100, default: 5000 }),
    allowExporters: Type.Array(Cidr, {
      default: [],
      description: 'exporter networks accepted; empty = any. Others cost a counter only',
    }),
    sampling: Type.Object(
      {
        default: Type.Integer({ minimum: 1, default: 1 }),
        overrides: Type.Array(SamplingOverride, { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Object(
      {
        maxExporters: Type.Integer({ minimum: 1, default: 10_000 }),
        maxTemplatesPerDomain: Type.Integer({ minimum: 1, default: 1024 }),
        maxFieldsPerTemplate: Type.Integer({ minimum: 1, default: 512 }),
        maxHeldSets: Type.Integer({ minimum: 0, default: 10_000 }),
        maxHeldAgeMs: Type.Integer({ minimum: 0, default: 60_000 }),
        maxTcpSessions: Type.Integer({ minimum: 1, default: 1000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    outputs: Type.Array(Type.String({ pattern: '^(clickhouse|jsonl:.+|protobuf:.+)$' }), {
      default: ['clickhouse'],
      description: "'clickhouse', 'jsonl:PATH' ('-' = stdout), 'protobuf:PATH' (length-delimited)",
    }),
    outputMaxBufferedBytes: Type.Integer({
      minimum: 65_536,
      default: 64 * 1024 * 1024,
      description: 'bytes a slow file output may buffer before chunks are dropped (counted)',
    }),
    metricsListen: Type.String({
      default: '127.0.0.1:9464',
      description: "HOST:PORT of /metrics and /healthz; '' = off",
    }),
  },
  { additionalProperties: false, default: {} },
);
export type CollectorConfig = Static<typeof CollectorConfig>;
