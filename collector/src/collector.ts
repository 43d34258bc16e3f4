/**
 * The collector, wired: listeners (UDP, IPFIX over TCP) → allowlist and exporter limit →
 * decode workers (decode, sampling, tenant enrichment, encoding) → outputs (ClickHouse in
 * batches with an on-disk spool; JSON lines and protobuf files) → metrics and logs.
 *
 * createCollector() validates and builds; start() opens everything; stop() stops
 * receiving, flushes every queue (to ClickHouse, else to the spool), saves the templates
 * and closes. Nothing on the receive path waits on ClickHouse or disk.
 */
import type { RemoteInfo } from 'node:dgram';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { UserError } from '../../cli/errors.ts';
import { type ClickHouse, connectClickHouse } from '../../storage/src/clickhouse.ts';
import type { ClickHouseConfig } from '../../storage/src/config.ts';
import { checkStored, insertQueryId } from '../../storage/src/flow-batches.ts';
import { FlowRowsFormatError } from '../../storage/src/flow-rowbinary.ts';
import { migrate } from '../../storage/src/migrations.ts';
import { FLOW_INSERT_COLUMNS, FLOW_SCHEMA_COLUMNS } from '../../storage/src/rowbinary.ts';
import { createBatcher } from './batcher.ts';
import type { CollectorConfig } from './config.ts';
import { emptyInventory, type Inventory } from './enrich/inventory.ts';
import { type InventoryWatcher, loadInventoryFile, watchInventory } from './enrich/inventory-watcher.ts';
import { openStatusServer, type StatusServer } from './http-server.ts';
import { readUdpDrops } from './ingest/kernel-drops.ts';
import { canonicalPeer, type ListenAddress, parseListenUrl } from './ingest/listen-url.ts';
import { openTcpListener, type TcpListener } from './ingest/tcp-listener.ts';
import { openUdpListener, type UdpListener } from './ingest/udp-listener.ts';
import { createWorkerPool, type WorkerPool } from './ingest/worker-pool.ts';
import type { ExporterDomainStats, FromWorker, WorkerInit, WorkerStats } from './ingest/worker-protocol.ts';
import { createLogSampler } from './log-sampler.ts';
import { createCollectorMetrics, createDeltas } from './metrics.ts';
import { createNetworkSet } from './net/prefix-trie.ts';
import { parseCidr } from './net/ip.ts';
import { type FileOutput, openFileOutput } from './output/file-output.ts';
import { createClickHouseSink, type Sink } from './storage/clickhouse-sink.ts';
import { EXPORTERS_INSERT_COLUMNS, encodeExporterRows } from './storage/exporters-table.ts';
import { openSpool } from './storage/spool.ts';
import { loadDecoderStates, saveDecoderStates } from './storage/template-store.ts';

export interface CollectorOptions {
  config: CollectorConfig;
  /** null: no ClickHouse output (file outputs only) */
  clickhouse: ClickHouseConfig | null;
  /** tenant inventory YAML ('' = none) */
  inventoryFile: string;
}

export interface Collector {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** bound addresses (ports resolved when 0 was asked) */
  readonly listeners: readonly { transport: 'udp' | 'tcp'; host: string; port: number }[];
  readonly metricsPort: number;
  readonly metrics: ReturnType<typeof createCollectorMetrics>;
  /** totals so far, for tests and benchmarks */
  totals(): { datagrams: number; records: number; insertedRows: number; outputRows: number };
  /** the ClickHouse handle once connected */
  readonly clickhouse: ClickHouse | undefined;
}

interface Plan {
  listen: ListenAddress[];
  outputs: { kind: 'jsonl' | 'protobuf'; path: string }[];
  clickhouse: boolean;
  workers: number;
}

/** Checks what spans fields and names the field at fault. */
function plan(cfg: CollectorConfig, clickhouse: ClickHouseConfig | null): Plan {
  const listen: ListenAddress[] = [];
  for (const url of cfg.listen) {
    const p = parseListenUrl(url);
    if (!p.ok) throw new UserError(`collector.listen: ${p.reason}`);
    listen.push(p.value);
  }
  if (listen.length === 0) throw new UserError('collector.listen: at least one listen address is needed');
  for (const c of cfg.allowExporters)
    if (!parseCidr(c)) throw new UserError(`collector.allowExporters: ${c} is not an address or network`);
  for (const o of cfg.sampling.overrides)
    if (!parseCidr(o.exporter))
      throw new UserError(
        `collector.sampling.overrides: exporter ${o.exporter} is not an address or network`,
      );
  const outputs: Plan['outputs'] = [];
  let wantsClickhouse = false;
  for (const o of cfg.outputs) {
    if (o === 'clickhouse') wantsClickhouse = true;
    else {
      const colon = o.indexOf(':');
      outputs.push({ kind: o.slice(0, colon) as 'jsonl' | 'protobuf', path: o.slice(colon + 1) });
    }
  }
  if (wantsClickhouse && !clickhouse)
    throw new UserError(
      "collector.outputs: 'clickhouse' is listed but ClickHouse is disabled (--no-clickhouse)",
    );
  const useClickhouse = wantsClickhouse && clickhouse !== null;
  if (!useClickhouse && outputs.length === 0)
    throw new UserError(
      'collector.outputs: no output left (add jsonl:PATH or protobuf:PATH, or enable ClickHouse)',
    );
  const workers = cfg.workers > 0 ? cfg.workers : Math.max(1, availableParallelism());
  return { listen, outputs, clickhouse: useClickhouse, workers };
}

export function createCollector(deps: { log: Logger }, opts: CollectorOptions): Collector {
  const cfg = opts.config;
  const log = deps.log;
  const p = plan(cfg, opts.clickhouse);
  const metrics = createCollectorMetrics();
  const sample = createLogSampler();
  const allow = cfg.allowExporters.length > 0 ? createNetworkSet(cfg.allowExporters) : undefined;
  const exportersSeen = new Set<string>();
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const fileOutputs: FileOutput[] = [];
  const exporterStats = new Map<string, ExporterDomainStats>();
  const workerStats: WorkerStats[] = [];
  const delta = createDeltas();
  const timers: NodeJS.Timeout[] = [];
  const totals = { datagrams: 0, records: 0, insertedRows: 0, outputRows: 0 };
  let pool: WorkerPool | undefined;
  let ch: ClickHouse | undefined;
  let sink: Sink | undefined;
  let status: StatusServer | undefined;
  let watcher: InventoryWatcher | undefined;
  let inventory: Inventory = emptyInventory();
  let inventoryText = '';
  let stopped = false;
  const templatesFile = join(cfg.stateDir, 'templates.json');
  const batcher = createBatcher({ maxRows: cfg.batchMaxRows, maxWaitMs: cfg.batchMaxWaitMs }, (parts, rows) =>
    sink?.submit(parts, rows),
  );

  const flowsTable = () => `${ch?.database ?? opts.clickhouse?.database ?? 'vxflow'}.flows`;

  async function connect(): Promise<boolean> {
    if (!opts.clickhouse) return false;
    try {
      if (!ch) {
        const handle = await connectClickHouse(opts.clickhouse, {
          log: (m) => log.info(m),
          requestTimeoutMs: cfg.insertTimeoutMs,
        });
        try {
          await migrate(handle, { log: (m) => log.info(m) });
        } catch (err) {
          await handle.close();
          throw err;
        }
        ch = handle;
        log.info({ url: ch.url, version: ch.version, database: ch.database }, 'ClickHouse connected');
        return true;
      }
      return await ch.ping();
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'ClickHouse not reachable yet');
      return false;
    }
  }

  function onWorkerMessage(w: number, m: FromWorker): void {
    switch (m.type) {
      case 'chunk':
        totals.records += m.rows;
        if (m.rowbinary && p.clickhouse) batcher.add(Buffer.from(m.rowbinary), m.rows);
        for (const out of fileOutputs) {
          const body = out.name.startsWith('jsonl:') ? m.jsonl : m.protobuf;
          if (!body) continue;
          if (out.write(new Uint8Array(body), m.rows)) {
            metrics.outputRows.inc({ output: out.name }, m.rows);
            totals.outputRows += m.rows;
          } else {
            metrics.dropped.inc({ stage: out.name.split(':')[0] }, m.rows);
            if (sample(`slow-${out.name}`).log)
              log.warn(
                { output: out.name },
                'output is not keeping up: dropping flows (counted in dropped_total)',
              );
          }
        }
        break;
      case 'stats':
        workerStats[w] = m.stats;
        for (const e of m.exporters)
          exporterStats.set(`${e.exporter}/${e.version}/${e.observationDomain}`, e);
        applyWorkerStats(w, m.stats);
        break;
      case 'event': {
        const key = `${m.msg}|${String(m.data?.exporter)}`;
        if (m.level === 'debug') {
          if (sample(key).log) log.debug(m.data ?? {}, m.msg);
        } else log[m.level](m.data ?? {}, m.msg);
        break;
      }
    }
  }

  function applyWorkerStats(w: number, s: WorkerStats): void {
    const k = (name: string) => `${w}:${name}`;
    metrics.records.inc(delta(k('records'), s.records));
    for (const [kind, n] of Object.entries(s.errors))
      metrics.decodeErrors.inc({ kind }, delta(k(`e:${kind}`), n));
    metrics.templateMisses.inc(delta(k('misses'), s.templateMisses));
    metrics.held.inc(delta(k('held'), s.held));
    metrics.heldExpired.inc(delta(k('expired'), s.heldExpired));
    metrics.templates.inc(delta(k('templates'), s.templatesLearnt));
    metrics.lostPackets.inc(delta(k('lostP'), s.lostPackets));
    metrics.lostRecords.inc(delta(k('lostR'), s.lostRecords));
    metrics.reordered.inc(delta(k('reordered'), s.reordered));
    metrics.samplingDefaulted.inc(delta(k('sdef'), s.samplingDefaulted));
    for (const [by, n] of Object.entries(s.enrich)) metrics.enriched.inc({ by }, delta(k(`en:${by}`), n));
    const cpu = workerStats.reduce((sum, x) => sum + (x ? (x.cpuUserUs + x.cpuSystemUs) / 1e6 : 0), 0);
    metrics.workerCpuSeconds.set(cpu);
    metrics.exporters.set(exporterStats.size);
  }

  function accept(exporter: string): boolean {
    if (allow && !allow.contains(exporter)) {
      metrics.rejected.inc({ reason: 'not-allowed' });
      if (sample(`deny-${exporter}`).log)
        log.warn({ exporter }, 'datagram from an exporter outside collector.allowExporters');
      return false;
    }
    if (!exportersSeen.has(exporter)) {
      if (exportersSeen.size >= cfg.limits.maxExporters) {
        metrics.rejected.inc({ reason: 'exporter-limit' });
        if (sample('exporter-limit').log)
          log.warn({ exporter, limit: cfg.limits.maxExporters }, 'exporter limit reached: datagram refused');
        return false;
      }
      exportersSeen.add(exporter);
    }
    return true;
  }

  // per-datagram work on the receiving thread is kept to lookups: a bound label child (no
  // label hashing per datagram) and the worker of each exporter remembered
  const udpDatagrams = metrics.datagrams.labels({ transport: 'udp' });
  const routes = new Map<string, number>();

  function onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    totals.datagrams++;
    udpDatagrams.inc();
    const exporter = canonicalPeer(rinfo.address);
    if (!accept(exporter) || !pool) return;
    // by address, not address + port: templates are keyed by exporter address and domain,
    // and exporters that send from changing source ports must still find their templates
    let w = routes.get(exporter);
    if (w === undefined) {
      w = pool.route(exporter);
      // bounded like the exporters themselves (accept() refuses beyond maxExporters)
      routes.set(exporter, w);
    }
    pool.dispatch(w, msg, exporter, Date.now());
  }

  function onTcpMessage(msg: Buffer, exporter: string, session: string): void {
    totals.datagrams++;
    metrics.datagrams.inc({ transport: 'tcp' });
    if (!accept(exporter) || !pool) return;
    pool.dispatch(pool.route(session), msg, exporter, Date.now(), session);
  }

  async function saveTemplates(): Promise<void> {
    if (!pool) return;
    try {
      await saveDecoderStates(templatesFile, await pool.exportStates());
    } catch (err) {
      if (sample('template-save').log)
        log.error({ err: (err as Error).message, file: templatesFile }, 'cannot save templates');
    }
  }

  async function refreshExportersTable(): Promise<void> {
    if (!ch || !sink?.up || exporterStats.size === 0) return;
    try {
      const body = encodeExporterRows([...exporterStats.values()], inventory.exporterNames);
      await ch.insertRowBinary(`${ch.database}.exporters`, EXPORTERS_INSERT_COLUMNS, body);
    } catch (err) {
      if (sample('exporters-table').log)
        log.warn({ err: (err as Error).message }, 'exporters table refresh failed');
    }
  }

  function every(ms: number, fn: () => unknown): void {
    const t = setInterval(fn, ms);
    timers.push(t);
  }

  return {
    get listeners() {
      return [
        ...udp.map((u) => ({ transport: 'udp' as const, host: u.address.host, port: u.port })),
        ...tcp.map((t) => ({ transport: 'tcp' as const, host: t.address.host, port: t.port })),
      ];
    },
    get metricsPort() {
      return status?.port ?? 0;
    },
    metrics,
    get clickhouse() {
      return ch;
    },
    totals: () => ({ ...totals }),

    async start() {
      if (opts.inventoryFile) {
        try {
          ({ inv: inventory, text: inventoryText } = loadInventoryFile(opts.inventoryFile));
        } catch (err) {
          throw new UserError((err as Error).message);
        }
        log.info(
          { file: opts.inventoryFile, tenants: inventory.tenants, subnets: inventory.subnets },
          'inventory loaded',
        );
      }
      for (const o of p.outputs) fileOutputs.push(openFileOutput(o.kind, o.path, cfg.outputMaxBufferedBytes));

      const init: WorkerInit = {
        decoder: {
          maxTemplatesPerDomain: cfg.limits.maxTemplatesPerDomain,
          maxFieldsPerTemplate: cfg.limits.maxFieldsPerTemplate,
          maxDomains: cfg.limits.maxExporters,
          maxHeldSets: cfg.limits.maxHeldSets,
          maxHeldAgeMs: cfg.limits.maxHeldAgeMs,
        },
        sampling: { default: cfg.sampling.default, overrides: cfg.sampling.overrides.map((o) => ({ ...o })) },
        inventoryText,
        maxTcpSessions: cfg.limits.maxTcpSessions,
        outputs: {
          rowbinary: p.clickhouse,
          jsonl: p.outputs.some((o) => o.kind === 'jsonl'),
          protobuf: p.outputs.some((o) => o.kind === 'protobuf'),
        },
        chunkRows: Math.max(100, Math.min(5000, cfg.batchMaxRows)),
      };
      pool = createWorkerPool({
        count: p.workers,
        init,
        queueLimit: cfg.workerQueueDatagrams,
        onMessage: onWorkerMessage,
        onDrop: (n) => {
          metrics.dropped.inc({ stage: 'decode' }, n);
          if (sample('decode-drop').log)
            log.warn({}, 'decode workers are behind: dropping datagrams (counted in dropped_total)');
        },
        onError: (w, err) =>
          log.error({ worker: w, err: err.message, stack: err.stack }, 'decode worker failed'),
      });
      await pool.ready();
      const saved = loadDecoderStates(templatesFile, pool.size);
      if (saved.ok) {
        for (let w = 0; w < pool.size; w++)
          for (const state of saved.perWorker[w]) pool.post(w, { type: 'import-state', state });
        log.info({ file: templatesFile }, 'templates restored from the last run');
      } else log.info({ file: templatesFile, reason: saved.reason }, 'no templates restored');

      if (opts.inventoryFile) {
        watcher = watchInventory({
          file: opts.inventoryFile,
          checkMs: cfg.inventoryCheckMs,
          log,
          onChange: (inv, text) => {
            inventory = inv;
            pool?.broadcast({ type: 'inventory', text });
          },
        });
      }

      if (p.clickhouse) {
        const spool = openSpool(join(cfg.stateDir, 'spool'), cfg.spoolMaxBytes);
        if (spool.batches > 0)
          log.info({ batches: spool.batches, rows: spool.rows }, 'spool holds batches from the last run');
        const up = await connect();
        if (!up)
          log.warn(
            { url: opts.clickhouse?.url || '(embedded)' },
            'ClickHouse is unreachable: spooling batches until it answers',
          );
        sink = createClickHouseSink(
          {
            columns: FLOW_INSERT_COLUMNS,
            legacyColumns: FLOW_SCHEMA_COLUMNS,
            insert: async (parts, _rows, columns) => {
              if (!ch) throw new Error('not connected');
              // rows with batch ids get a query_id from the first one: the stored check can
              // see the attempt while it runs, and ClickHouse refuses a second one meanwhile
              const queryId = columns === FLOW_INSERT_COLUMNS ? insertQueryId(parts) : undefined;
              await ch.insertRowBinary(flowsTable(), columns, Readable.from(parts), { queryId });
            },
            check: async (parts, rows, columns) => {
              if (!ch) throw new Error('not connected');
              if (columns !== FLOW_INSERT_COLUMNS) return undefined;
              try {
                return await checkStored(ch, flowsTable(), parts);
              } catch (err) {
                if (!(err instanceof FlowRowsFormatError)) throw err;
                log.error({ rows, err: err.message }, 'batch rows cannot be read back: inserted unchecked');
                return undefined;
              }
            },
            probe: connect,
            spool,
            memoryBatches: cfg.memoryBatches,
            retryMs: 1000,
            log,
            metrics: {
              inserted: (rows, s) => {
                metrics.insertedRows.inc(rows);
                metrics.insertSeconds.observe(s);
                totals.insertedRows += rows;
              },
              insertFailed: () => metrics.insertFailures.inc(),
              dropped: (rows) => metrics.dropped.inc({ stage: 'spool' }, rows),
              spooled: (rows) => metrics.spooledRows.inc(rows),
              alreadyStored: (rows) => metrics.alreadyStoredRows.inc(rows),
            },
          },
          up,
        );
        every(1000, () => {
          metrics.spoolBytes.set(spool.bytes);
          metrics.spoolBatches.set(spool.batches);
          metrics.clickhouseUp.set(sink?.up ? 1 : 0);
        });
        every(cfg.exportersRefreshMs, refreshExportersTable);
      }

      for (const a of p.listen) {
        if (a.transport === 'udp') {
          const l = await openUdpListener({
            address: a,
            recvBufferBytes: cfg.recvBufferBytes,
            onDatagram,
            warn: (msg, data) => log.warn(data ?? {}, msg),
          });
          udp.push(l);
          metrics.recvBuffer.set({ port: String(l.port) }, l.recvBufferBytes);
          log.info(
            {
              listen: `udp://${a.family === 6 ? `[${a.host}]` : a.host}:${l.port}`,
              recvBuffer: l.recvBufferBytes,
            },
            'listening',
          );
        } else {
          const l = await openTcpListener({
            address: a,
            maxSessions: cfg.limits.maxTcpSessions,
            onMessage: onTcpMessage,
            onSessionClosed: (session) => {
              if (pool) {
                pool.sendPending();
                pool.post(pool.route(session), { type: 'session-closed', session });
              }
            },
            onFramingError: (exporter) => {
              metrics.decodeErrors.inc({ kind: 'tcp-framing' });
              log.warn({ exporter }, 'IPFIX TCP stream out of step: connection closed');
            },
            info: (msg, data) => log.info(data ?? {}, msg),
          });
          tcp.push(l);
          log.info(
            { listen: `tcp://${a.family === 6 ? `[${a.host}]` : a.host}:${l.port}` },
            'listening (IPFIX over TCP)',
          );
        }
      }

      every(cfg.templateSaveMs, saveTemplates);
      every(5000, () => pool?.broadcast({ type: 'expire', nowMs: Date.now() }));
      every(1000, () => {
        const drops = readUdpDrops(udp.map((u) => u.port));
        for (const [port, n] of drops) metrics.kernelDrops.set({ port: String(port) }, n);
        metrics.decodeBacklog.set(pool?.backlog().reduce((a, b) => a + b, 0) ?? 0);
      });

      if (cfg.metricsListen) {
        status = await openStatusServer(cfg.metricsListen, metrics.registry, () => ({
          ok: !stopped && (!p.clickhouse || (sink?.up ?? false)),
          detail: {
            clickhouse: p.clickhouse ? (sink?.up ? 'up' : 'down (spooling)') : 'disabled',
            datagrams: totals.datagrams,
            records: totals.records,
          },
        }));
        log.info(
          { url: `http://${cfg.metricsListen.replace(/:\d+$/, '')}:${status.port}/metrics` },
          'metrics listening',
        );
      }
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      log.info({}, 'stopping: flushing queues');
      await Promise.all([...udp.map((u) => u.close()), ...tcp.map((t) => t.close())]);
      if (pool) {
        await pool.flush();
        await saveTemplates();
      }
      for (const t of timers) clearInterval(t);
      watcher?.stop();
      batcher.cut();
      batcher.stop();
      if (sink) {
        await sink.drain(cfg.insertTimeoutMs);
        await refreshExportersTable();
        sink.stop();
      }
      await Promise.all(fileOutputs.map((o) => o.close()));
      await pool?.close();
      await status?.close();
      await ch?.close();
      log.info({ ...totals }, 'stopped');
    },
  };
}
