/**
 * The `collector` section of the configuration file. Defaults and limits live here; rules
 * that span fields are checked in createCollector() with messages naming the field.
 */
import { type Static, Type } from '@sinclair/typebox';

/** a port number 0-65535, as a regular expression (JSON Schema has no numeric check on strings) */
const PORT = '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})';
/** HOST:PORT with a host name, an IPv4 address or a bracketed IPv6 address */
export const HOST_PORT = `(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9][A-Za-z0-9.-]*):${PORT}`;

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
    udpReceive: Type.Union([Type.Literal('auto'), Type.Literal('batch'), Type.Literal('dgram')], {
      default: 'auto',
      description:
        "how UDP sockets are read: 'batch' with the udp-batch add-on (recvmmsg, many datagrams per system call and one JavaScript call per batch; compiled from native/udp-batch by bin/build.js when a C compiler is there), 'dgram' with Node's own socket (one call per datagram), 'auto' the add-on when it is built",
    }),
    workers: Type.Integer({
      minimum: 0,
      maximum: 64,
      default: 0,
      description: 'decode worker threads; 0 = one per CPU core',
    }),
    insertFormat: Type.Union([Type.Literal('native'), Type.Literal('rowbinary')], {
      default: 'native',
      description:
        "the format the flows are inserted in: 'native' (columnar blocks, about a quarter less ClickHouse CPU per row: npm run bench -- native) or 'rowbinary'",
    }),
    spread: Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('off')], {
      default: 'auto',
      description:
        "one exporter over several decode workers: 'auto' spreads an exporter once it sends more than spreadAboveDatagramsPerSecond (its templates are handed from its worker to the others first), 'always' spreads every UDP exporter from its first datagram, 'off' keeps each exporter on one worker. A spread exporter's templates are held by every worker, and its template datagrams are decoded by every worker",
    }),
    spreadAboveDatagramsPerSecond: Type.Integer({
      minimum: 1,
      default: 5000,
      description:
        "with spread 'auto': datagrams per second (over one second) beyond which an exporter is spread; it then stays spread until it is evicted",
    }),
    workerNice: Type.Integer({
      minimum: 0,
      maximum: 19,
      default: 0,
      description:
        "added to the decode worker threads' nice value (Linux), so that when the cores are short the receiving thread runs first: a late receiving thread loses datagrams in the kernel, uncounted, while late workers only fill their bounded, counted queues (measured on 2 loaded cores with 10: one exporter over 2 workers went from 144,000 to 409,000 flows/s lossless). Not the default: niced workers also yield to every other process, ClickHouse included, so a shared host decodes slower under load",
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
    templateSharing: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'share templates and sampling rates with other collectors through the ClickHouse table exporter_templates: a collector that takes over an exporter decodes its data at once',
        }),
        lookupTimeoutMs: Type.Integer({
          minimum: 10,
          maximum: 60_000,
          default: 1000,
          description: "a new exporter's datagrams wait this long at most for its stored templates",
        }),
        maxPendingExporters: Type.Integer({
          minimum: 1,
          default: 1000,
          description: 'new exporters waiting for a lookup at once; more go on without one (counted)',
        }),
        maxHeldBytes: Type.Integer({
          minimum: 65_536,
          default: 16 * 1024 * 1024,
          description: 'datagram bytes held while lookups run; beyond, datagrams go on without waiting',
        }),
        maxAgeDays: Type.Integer({
          minimum: 1,
          default: 30,
          description:
            'stored templates no collector has rewritten for this long are not loaded (and dropped)',
        }),
        lookupAgainAfterSilentMs: Type.Integer({
          minimum: 1000,
          default: 60_000,
          description:
            'an exporter silent this long is looked up again when it comes back: it may have sent to another collector meanwhile',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
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
        maxExporters: Type.Integer({
          minimum: 1,
          default: 10_000,
          description:
            'source addresses tracked; when full, addresses that never sent a decodable datagram and then exporters idle for exporterIdleMs make room, else new ones are refused (rejected_datagrams_total{reason="exporter-limit"})',
        }),
        exporterIdleMs: Type.Integer({
          minimum: 1000,
          default: 15 * 60_000,
          description: 'an exporter silent this long may be evicted (its templates forgotten) to make room',
        }),
        maxDomainsPerExporter: Type.Integer({
          minimum: 1,
          default: 1024,
          description: 'observation domains (v9 Source IDs) per exporter address',
        }),
        maxTemplates: Type.Integer({
          minimum: 1,
          default: 200_000,
          description: 'templates held in all, shared out among the decode workers',
        }),
        maxTemplatesPerExporter: Type.Integer({
          minimum: 1,
          default: 20_000,
          description: 'templates one exporter address may hold over all its domains',
        }),
        maxTemplatesPerDomain: Type.Integer({ minimum: 1, default: 1024 }),
        maxFieldsPerTemplate: Type.Integer({ minimum: 1, default: 512 }),
        maxHeldSets: Type.Integer({
          minimum: 0,
          default: 10_000,
          description: 'data sets held for a template not yet seen, per decode worker',
        }),
        maxHeldSetsPerExporter: Type.Integer({ minimum: 0, default: 2000 }),
        maxHeldSetsPerDomain: Type.Integer({ minimum: 0, default: 1000 }),
        maxHeldAgeMs: Type.Integer({ minimum: 0, default: 60_000 }),
        maxTcpSessions: Type.Integer({ minimum: 1, default: 1000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    shutdownTimeoutMs: Type.Integer({
      minimum: 1000,
      maximum: 300_000,
      default: 20_000,
      description:
        'SIGTERM/SIGINT finish within this: decoding gets half of it (datagrams still queued then are dropped, counted as dropped_total{stage="shutdown"}), and batches ClickHouse has not taken by the end go to the spool',
    }),
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
      // checked here, so `vxflow config --check` refuses what the collector would fail on
      pattern: `^(|${HOST_PORT})$`,
      description: "HOST:PORT of /metrics and /healthz ([v6] in brackets, port 0-65535); '' = off",
    }),
  },
  { additionalProperties: false, default: {} },
);
export type CollectorConfig = Static<typeof CollectorConfig>;
