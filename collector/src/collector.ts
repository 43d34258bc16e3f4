/**
 * The collector, wired: listeners (UDP, IPFIX over TCP) → allowlist and exporter limit →
 * decode workers (decode, sampling, tenant enrichment, encoding) → outputs (ClickHouse in
 * batches with an on-disk spool; JSON lines and protobuf files) → metrics and logs.
 *
 * collector/ owns receiving, decoding (in worker threads running ingest/flow-pipeline.ts),
 * enrichment, the outputs (output/) and the ClickHouse sink with its spool (sink/).
 *
 * createCollector(deps, options) validates (plan.ts) and builds; start() opens everything,
 * one named step after another; stop() stops receiving, flushes every queue (to
 * ClickHouse, else to the spool), saves the templates and closes. Nothing on the receive
 * path waits on ClickHouse or disk.
 */
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from '../../common/logger.ts';
import { UserError } from '../../common/errors.ts';
import { type ClickHouse, connectClickHouse } from '../../storage/src/clickhouse.ts';
import type { ClickHouseConfig } from '../../storage/src/config.ts';
import { ROLLUP_INSERT_COLUMNS, ROLLUP_STAGING_TABLE } from '../../storage/src/ddl.ts';
import { checkStored, FLOW_ROWS, insertQueryId, ROLLUP_ROWS } from '../../storage/src/flow-batches.ts';
import { FlowRowsFormatError } from '../../storage/src/flow-rowbinary.ts';
import {
  isNativeFlowsBody,
  nativeFlowsToRowBinary,
  nativeInsertQueryId,
} from '../../storage/src/flow-native.ts';
import { migrateAuto } from '../../storage/src/cluster-migrate.ts';
import { FLOW_INSERT_COLUMNS, FLOW_SCHEMA_COLUMNS } from '../../storage/src/rowbinary.ts';
import { createBatcher } from './batcher.ts';
import type { CollectorConfig } from './config.ts';
import { emptyInventory, type Inventory } from './enrich/inventory.ts';
import { createInventorySync, type InventorySync } from './enrich/inventory-sync.ts';
import { type InventoryWatcher, loadInventoryFile, watchInventory } from './enrich/inventory-watcher.ts';
import { openStatusServer, type StatusServer } from './http-server.ts';
import { createExporterTable, type EvictionReason } from './ingest/exporter-table.ts';
import { readUdpDrops } from './ingest/kernel-drops.ts';
import { canonicalPeer } from './ingest/listen-url.ts';
import { openTcpListener, type TcpListener } from './ingest/tcp-listener.ts';
import { openUdpListener, type UdpListener } from './ingest/udp-listener.ts';
import { createWorkerPool, type WorkerPool } from './ingest/worker-pool.ts';
import type { ExporterDomainStats, FromWorker, WorkerStats } from './ingest/worker-protocol.ts';
import { createLogSampler } from './log-sampler.ts';
import { createCollectorMetrics, createDeltas } from './metrics.ts';
import { createNetworkSet } from './net/prefix-trie.ts';
import { listenError, plan, within, workerInit } from './plan.ts';
import { type FileOutput, openFileOutput } from './output/file-output.ts';
import { mergeRollupParts } from './output/rollup-merge.ts';
import { createClickHouseSink, type Sink } from './sink/clickhouse-sink.ts';
import { EXPORTERS_INSERT_COLUMNS, encodeExporterRows } from './sink/exporters-table.ts';
import { openSpool } from './sink/spool.ts';
import { checkStateDir, ensureStateDir } from './sink/state-dir.ts';
import { loadDecoderStates, saveDecoderStates } from './sink/template-store.ts';
import { createTemplateShare } from './templates/template-share.ts';

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
  totals(): {
    datagrams: number;
    records: number;
    insertedRows: number;
    outputRows: number;
    /** rollup rows inserted into flows_rollup_in (the collector's per-chunk sums) */
    rollupRows: number;
  };
  /** the ClickHouse handle once connected */
  readonly clickhouse: ClickHouse | undefined;
  /** validates what can be checked without side effects (`vxflow collector --check`) */
  check(): void;
}

export function createCollector(deps: { log: Logger }, opts: CollectorOptions): Collector {
  const cfg = opts.config;
  const log = deps.log;
  const p = plan(cfg, opts.clickhouse);
  const metrics = createCollectorMetrics();
  const sample = createLogSampler();
  const allow = cfg.allowExporters.length > 0 ? createNetworkSet(cfg.allowExporters) : undefined;
  /** exporter addresses evicted since the last forget message, per worker */
  const evicted: string[][] = [];
  /** exporterStats keys of each exporter address */
  const statsKeysOf = new Map<string, Set<string>>();
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const fileOutputs: FileOutput[] = [];
  const exporterStats = new Map<string, ExporterDomainStats>();
  const workerStats: WorkerStats[] = [];
  const delta = createDeltas();
  const timers: NodeJS.Timeout[] = [];
  const totals = { datagrams: 0, records: 0, insertedRows: 0, outputRows: 0, rollupRows: 0 };
  let pool: WorkerPool | undefined;
  let ch: ClickHouse | undefined;
  let sink: Sink | undefined;
  let status: StatusServer | undefined;
  let watcher: InventoryWatcher | undefined;
  let inventorySync: InventorySync | undefined;
  let inventory: Inventory = emptyInventory();
  let inventoryText = '';
  let stopped = false;
  let saving: Promise<void> | undefined;
  const templatesFile = join(cfg.stateDir, 'templates.json');
  /** set to 1 when shutdown runs out of time for decoding (read by every worker) */
  const abandon = new SharedArrayBuffer(4);

  const exporters = createExporterTable({
    max: cfg.limits.maxExporters,
    idleMs: cfg.limits.exporterIdleMs,
    route: (address) => pool?.route(address) ?? 0,
    onEvict: (address: string, reason: EvictionReason) => {
      metrics.exporterEvictions.inc({ reason });
      const w = pool?.route(address) ?? 0;
      if (evicted[w]) evicted[w].push(address);
      else evicted[w] = [address];
      for (const key of statsKeysOf.get(address) ?? []) exporterStats.delete(key);
      statsKeysOf.delete(address);
      shared?.forget(address);
    },
  });

  /** templates shared with other collectors through ClickHouse (templates/template-share.ts) */
  const shared = p.clickhouse
    ? createTemplateShare({
        config: cfg.templateSharing,
        clickhouse: () => ch,
        maxRowsPerExporter: cfg.limits.maxTemplatesPerExporter + cfg.limits.maxDomainsPerExporter,
        collectorId: `${hostname()}:${process.pid}`,
        // an exporter spread from its first datagram is decoded on every worker; otherwise
        // its home worker holds its templates (and hands them over if it is spread later)
        importInto: (_exporter, w, state) =>
          cfg.spread === 'always'
            ? pool?.broadcast({ type: 'import-state', state })
            : pool?.post(w, { type: 'import-state', state }),
        release: (d, exporter, w, receivedMs) => pool?.dispatch(w, d, exporter, receivedMs),
        log,
        registry: metrics.registry,
      })
    : undefined;

  /** Tells the workers which addresses were evicted (batched: one message a second at most). */
  function sendForgets(): void {
    for (let w = 0; w < evicted.length; w++) {
      const list = evicted[w];
      if (!list || list.length === 0) continue;
      // an address admitted again since its eviction keeps what its worker knows
      const gone = [...new Set(list)].filter((a) => !exporters.has(a));
      evicted[w] = [];
      if (gone.length > 0) pool?.post(w, { type: 'forget', exporters: gone });
    }
  }
  /**
   * The rollup rows of the chunks in the batcher. A raw batch is cut from chunks whose
   * rollup rows all arrived here first (one message carries both), so submitting these
   * before it keeps the order the sink promises: a chunk's rollup rows reach ClickHouse
   * before its raw rows. They go summed over the whole batch (output/rollup-merge.ts).
   */
  let rollupParts: Buffer[] = [];
  function submitRollups(): void {
    if (rollupParts.length === 0) return;
    const merged = mergeRollupParts(rollupParts);
    // the merged rows are a new buffer: the parts can go back
    recycle(rollupParts);
    rollupParts = [];
    if (merged.rows > 0) sink?.submit([merged.body], merged.rows, ROLLUP_INSERT_COLUMNS);
  }
  const batcher = createBatcher(
    { maxRows: cfg.batchMaxRows, maxWaitMs: cfg.batchMaxWaitMs },
    (parts, rows) => {
      submitRollups();
      sink?.submit(parts, rows);
    },
  );

  const database = () => ch?.database ?? opts.clickhouse?.database ?? 'vxflow';
  const flowsTable = () => `${database()}.flows`;
  /** the table and row kind of a batch's insert column list (undefined: rows without batch ids) */
  const targetOf = (columns: string) =>
    columns === ROLLUP_INSERT_COLUMNS
      ? { table: `${database()}.${ROLLUP_STAGING_TABLE}`, kind: ROLLUP_ROWS }
      : { table: flowsTable(), kind: columns === FLOW_INSERT_COLUMNS ? FLOW_ROWS : undefined };
  const isRollup = (columns: string) => columns === ROLLUP_INSERT_COLUMNS;

  async function connect(): Promise<boolean> {
    if (!opts.clickhouse) return false;
    try {
      if (!ch) {
        const handle = await connectClickHouse(opts.clickhouse, {
          log: (m) => log.info(m),
          requestTimeoutMs: cfg.insertTimeoutMs,
        });
        try {
          await migrateAuto(handle, { log: (m) => log.info(m) });
        } catch (err) {
          await handle.close();
          throw err;
        }
        ch = handle;
        log.info({ url: ch.url, version: ch.version, database: ch.database }, 'ClickHouse connected');
        await startInventorySync(handle);
        return true;
      }
      return await ch.ping();
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'ClickHouse not reachable yet');
      return false;
    }
  }

  /**
   * The inventory edited through the dashboard's API lives in ClickHouse; with a file too,
   * the newest edit wins (enrich/inventory-sync.ts). Started once ClickHouse answers.
   */
  async function startInventorySync(handle: ClickHouse): Promise<void> {
    if (inventorySync) return;
    const sync = createInventorySync({
      ch: handle,
      pollMs: cfg.inventoryCheckMs,
      log,
      onChange: (inv, text) => {
        inventory = inv;
        inventoryText = text;
        pool?.broadcast({ type: 'inventory', text });
      },
    });
    let file: { text: string; mtimeMs: number; path: string } | undefined;
    if (opts.inventoryFile) {
      try {
        file = {
          text: inventoryText,
          mtimeMs: statSync(opts.inventoryFile).mtimeMs,
          path: opts.inventoryFile,
        };
      } catch {
        file = undefined;
      }
    }
    try {
      await sync.start(file);
      inventorySync = sync;
    } catch (err) {
      // the file's (or the empty) inventory stays in force; the next connection tries again
      log.warn({ err: (err as Error).message }, 'inventory not read from ClickHouse');
    }
  }

  /**
   * Chunk buffers from the workers, by the worker that sent them, until they go back to it
   * (common/transfer-pool.ts): after a successful insert, a file write, or a rollup merge.
   * Any other way (spooled, failed, dropped) they are simply left to the GC.
   */
  const chunkOwner = new WeakMap<ArrayBufferLike, number>();
  function received(w: number, u: Uint8Array): Buffer {
    chunkOwner.set(u.buffer, w);
    return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  }
  /** Gives back those of `parts` that are received chunk buffers; nothing may use them after. */
  function recycle(parts: readonly Uint8Array[]): void {
    if (!pool) return;
    let byWorker: Map<number, ArrayBuffer[]> | undefined;
    for (const part of parts) {
      const ab = part.buffer;
      const w = chunkOwner.get(ab);
      if (w === undefined) continue;
      chunkOwner.delete(ab);
      byWorker ??= new Map();
      const list = byWorker.get(w);
      if (list) list.push(ab as ArrayBuffer);
      else byWorker.set(w, [ab as ArrayBuffer]);
    }
    if (byWorker) for (const [w, list] of byWorker) pool.recycle(w, list);
  }

  function onWorkerMessage(w: number, m: FromWorker): void {
    switch (m.type) {
      case 'chunk': {
        totals.records += m.rows;
        // counted here, as the chunk arrives, like the output rows: the worker's stats message
        // can lag far behind under load (records_total read 0 beside 85 000 output rows)
        metrics.records.inc(m.rows);
        const flowRows = m.native ?? m.rowbinary;
        if (flowRows && p.clickhouse) {
          if (m.rollup) rollupParts.push(received(w, m.rollup));
          batcher.add(received(w, flowRows), m.rows);
        }
        if (fileOutputs.length > 0) writeFileOutputs(w, m);
        break;
      }
      case 'stats':
        workerStats[w] = m.stats;
        for (const e of m.exporters) {
          // a worker's report may predate the eviction it has not yet heard of
          if (!exporters.has(e.exporter)) continue;
          const key = `${e.exporter}/${e.version}/${e.observationDomain}`;
          exporterStats.set(key, e);
          const keys = statsKeysOf.get(e.exporter);
          if (keys) keys.add(key);
          else statsKeysOf.set(e.exporter, new Set([key]));
        }
        applyWorkerStats(w, m.stats);
        break;
      case 'exporter':
        exporters.markExporter(m.exporter, Date.now());
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

  /**
   * A chunk's JSON-lines or protobuf bytes to every file output of that format; they go back
   * to their worker once every output given them has written them (two outputs of one format
   * share them).
   */
  function writeFileOutputs(w: number, m: Extract<FromWorker, { type: 'chunk' }>): void {
    const writing = new Map<Uint8Array, { bytes: Buffer; left: number }>();
    for (const out of fileOutputs) {
      const body = out.name.startsWith('jsonl:') ? m.jsonl : m.protobuf;
      if (body) {
        const e = writing.get(body);
        if (e) e.left++;
        else writing.set(body, { bytes: received(w, body), left: 1 });
      }
    }
    for (const out of fileOutputs) {
      const body = out.name.startsWith('jsonl:') ? m.jsonl : m.protobuf;
      const e = body && writing.get(body);
      if (!e) continue;
      const done = () => {
        if (--e.left === 0) recycle([e.bytes]);
      };
      if (out.write(e.bytes, m.rows, done)) {
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
  }

  function applyWorkerStats(w: number, s: WorkerStats): void {
    const k = (name: string) => `${w}:${name}`;
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
    metrics.dropped.inc({ stage: 'shutdown' }, delta(k('abandoned'), s.abandoned));
    const cpu = workerStats.reduce((sum, x) => sum + (x ? x.cpuUs / 1e6 : 0), 0);
    metrics.workerCpuSeconds.set(cpu);
    metrics.templatesHeld.set(workerStats.reduce((sum, x) => sum + (x?.templatesHeld ?? 0), 0));
    metrics.exporters.set(exporterStats.size);
  }

  // per-datagram work on the receiving thread is kept to lookups: bound label children (no
  // label hashing per datagram) and the worker of each exporter kept in its table entry
  const udpDatagrams = metrics.datagrams.labels({ transport: 'udp' });
  const notAllowed = metrics.rejected.labels({ reason: 'not-allowed' });
  const overLimit = metrics.rejected.labels({ reason: 'exporter-limit' });

  /** The worker for a datagram from `exporter`, or -1 when it is refused (counted). */
  function accept(exporter: string, nowMs: number): number {
    if (allow && !allow.contains(exporter)) {
      notAllowed.inc();
      if (sample('deny').log)
        log.warn({ exporter }, 'datagram from an exporter outside collector.allowExporters');
      return -1;
    }
    const e = exporters.admit(exporter, nowMs);
    if (!e) {
      overLimit.inc();
      if (sample('exporter-limit').log)
        log.warn(
          { exporter, limit: cfg.limits.maxExporters },
          'exporter table full of active exporters: datagram from a new address refused',
        );
      return -1;
    }
    return e.worker;
  }

  function onDatagram(msg: Buffer, rinfo: { address: string }): void {
    totals.datagrams++;
    udpDatagrams.inc();
    const exporter = canonicalPeer(rinfo.address);
    const now = Date.now();
    // by address, not address + port: templates are keyed by exporter address and domain,
    // and exporters that send from changing source ports must still find their templates
    const w = accept(exporter, now);
    if (w < 0 || !pool) return;
    if (shared?.intercept(msg, exporter, w, now)) return;
    pool.dispatch(w, msg, exporter, now);
  }

  function onTcpMessage(msg: Buffer, exporter: string, session: string): void {
    totals.datagrams++;
    metrics.datagrams.inc({ transport: 'tcp' });
    const now = Date.now();
    if (accept(exporter, now) < 0 || !pool) return;
    pool.dispatch(pool.route(session), msg, exporter, now, session);
  }

  /** Datagrams that were not NetFlow/IPFIX, by kind, logged once a minute at most. */
  const NON_FLOW_KINDS = ['bad-version', 'short-header', 'bad-length'];
  const nonFlowLogged = new Map<string, number>();
  function logNonFlow(): void {
    const counts: Record<string, number> = {};
    let any = 0;
    for (const kind of NON_FLOW_KINDS) {
      let total = 0;
      for (const s of workerStats) total += s?.errors[kind] ?? 0;
      const n = total - (nonFlowLogged.get(kind) ?? 0);
      nonFlowLogged.set(kind, total);
      if (n > 0) {
        counts[kind] = n;
        any += n;
      }
    }
    if (any > 0)
      log.warn(
        { ...counts, exporterTable: exporters.size, candidates: exporters.candidates },
        'datagrams that are not NetFlow/IPFIX in the last minute (counted in decode_errors_total)',
      );
  }

  /** One save at a time: a timer's save and the shutdown save used to race on one file. */
  function saveTemplates(): Promise<void> {
    saving ??= (async () => {
      if (!pool) return;
      try {
        const states = await pool.exportStates();
        void shared?.publish(states);
        await saveDecoderStates(templatesFile, states);
      } catch (err) {
        if (sample('template-save').log)
          log.error({ err: (err as Error).message, file: templatesFile }, 'cannot save templates');
      }
    })().finally(() => {
      saving = undefined;
    });
    return saving;
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

  /** The tenant inventory file, when one is configured (a bad one stops the start). */
  function loadInventory(): void {
    if (!opts.inventoryFile) return;
    try {
      let warnings: string[];
      ({ inv: inventory, text: inventoryText, warnings } = loadInventoryFile(opts.inventoryFile));
      for (const w of warnings) log.warn({ file: opts.inventoryFile }, `inventory: ${w}`);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
    log.info(
      { file: opts.inventoryFile, tenants: inventory.tenants, subnets: inventory.subnets },
      'inventory loaded',
    );
  }

  /** The JSON-lines and protobuf files. */
  function openFileOutputs(): void {
    for (const o of p.outputs) fileOutputs.push(openFileOutput(o.kind, o.path, cfg.outputMaxBufferedBytes));
  }

  /** The decode workers, each running the flow pipeline (ingest/flow-pipeline.ts). */
  async function startWorkers(): Promise<WorkerPool> {
    const init = workerInit(cfg, p, inventoryText, abandon);
    const started = createWorkerPool({
      count: p.workers,
      init,
      queueLimit: cfg.workerQueueDatagrams,
      spread: {
        mode: cfg.spread,
        aboveDatagramsPerSecond: cfg.spreadAboveDatagramsPerSecond,
        maxStreams: cfg.limits.maxExporters,
      },
      workerNice: cfg.workerNice,
      onMessage: onWorkerMessage,
      onDrop: (n, reason) => {
        metrics.dropped.inc({ stage: reason }, n);
        if (sample(`drop-${reason}`).log)
          log.warn(
            { stage: reason },
            reason === 'decode'
              ? 'decode workers are behind: dropping datagrams (counted in dropped_total)'
              : 'one exporter holds half of a busy decode queue: dropping its datagrams so the others keep their room (counted in dropped_total)',
          );
      },
      onError: (w, err) =>
        log.error({ worker: w, err: err.message, stack: err.stack }, 'decode worker failed'),
    });
    pool = started; // before ready(): a stop() meanwhile must close the workers
    await started.ready();
    return started;
  }

  /** The templates the last run saved, given back to the workers that held them. */
  function restoreTemplates(pool: WorkerPool): void {
    const saved = loadDecoderStates(templatesFile, pool.size);
    if (saved.ok) {
      for (let w = 0; w < pool.size; w++)
        for (const state of saved.perWorker[w]) pool.post(w, { type: 'import-state', state });
      log.info({ file: templatesFile }, 'templates restored from the last run');
    } else log.info({ file: templatesFile, reason: saved.reason }, 'no templates restored');
  }

  /** Inventory file edits reach the workers (and ClickHouse, through the inventory sync). */
  function watchInventoryFile(): void {
    if (!opts.inventoryFile) return;
    watcher = watchInventory({
      file: opts.inventoryFile,
      checkMs: cfg.inventoryCheckMs,
      log,
      onChange: (inv, text) => {
        inventory = inv;
        inventoryText = text;
        pool?.broadcast({ type: 'inventory', text });
        if (opts.inventoryFile) void inventorySync?.fileChanged(text, opts.inventoryFile);
      },
    });
  }

  /** The spool, the ClickHouse connection (or the wait for it), and the sink that inserts batches. */
  async function startClickHouse(): Promise<void> {
    if (!p.clickhouse) return;
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
          const { table, kind } = targetOf(columns);
          // a batch is Native blocks or RowBinary rows (what is left of a partly stored one,
          // spool files from before, --insert-format rowbinary): the parts say which
          const native = kind === FLOW_ROWS && parts.length > 0 && isNativeFlowsBody(parts[0]);
          const queryId = native
            ? nativeInsertQueryId(parts, FLOW_ROWS.queryIdPrefix)
            : kind
              ? insertQueryId(parts, kind)
              : undefined;
          await ch.insertRowBinary(table, columns, Readable.from(parts), {
            queryId,
            format: native ? 'Native' : 'RowBinary',
          });
          // ClickHouse answers once it has read the whole body: the chunks can be reused
          recycle(parts);
        },
        check: async (parts, rows, columns) => {
          if (!ch) throw new Error('not connected');
          const { table, kind } = targetOf(columns);
          if (!kind) return undefined;
          try {
            // the stored check reads rows: Native parts are read as the same RowBinary rows,
            // and what is left to send comes back as RowBinary
            const rowParts =
              kind === FLOW_ROWS && parts.length > 0 && isNativeFlowsBody(parts[0])
                ? parts.map((b) => nativeFlowsToRowBinary(b))
                : parts;
            return await checkStored(ch, table, rowParts, kind);
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
          // the flow metrics count raw flows: a rollup batch's rows are sums of them
          inserted: (rows, s, columns) => {
            if (isRollup(columns)) {
              totals.rollupRows += rows;
              return;
            }
            metrics.insertedRows.inc(rows);
            metrics.insertSeconds.observe(s);
            totals.insertedRows += rows;
          },
          insertFailed: () => metrics.insertFailures.inc(),
          dropped: (rows, columns) => {
            if (!isRollup(columns)) metrics.dropped.inc({ stage: 'spool' }, rows);
          },
          spooled: (rows, columns) => {
            if (!isRollup(columns)) metrics.spooledRows.inc(rows);
          },
          alreadyStored: (rows, columns) => {
            if (!isRollup(columns)) metrics.alreadyStoredRows.inc(rows);
          },
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

  /** Every listen address; a bind failure is one line naming it. */
  async function openListeners(): Promise<void> {
    for (const a of p.listen) {
      const url = `${a.transport}://${a.family === 6 ? `[${a.host}]` : a.host}:${a.port}`;
      const failed = (err: unknown) => listenError(`cannot listen on ${url}`, err, '--listen');
      if (a.transport === 'udp') {
        const l = await openUdpListener({
          address: a,
          recvBufferBytes: cfg.recvBufferBytes,
          receive: cfg.udpReceive,
          onDatagram,
          warn: (msg, data) => log.warn(data ?? {}, msg),
        }).catch(failed);
        udp.push(l);
        metrics.recvBuffer.set({ port: String(l.port) }, l.recvBufferBytes);
        log.info(
          {
            listen: `udp://${a.family === 6 ? `[${a.host}]` : a.host}:${l.port}`,
            recvBuffer: l.recvBufferBytes,
            receive: l.receive,
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
        }).catch(failed);
        tcp.push(l);
        log.info(
          { listen: `tcp://${a.family === 6 ? `[${a.host}]` : a.host}:${l.port}` },
          'listening (IPFIX over TCP)',
        );
      }
    }
  }

  /** Periodic work: saving templates, expiring held data, evicting exporters, non-flow logs, gauges. */
  function startHousekeeping(): void {
    every(cfg.templateSaveMs, saveTemplates);
    every(5000, () => pool?.broadcast({ type: 'expire', nowMs: Date.now() }));
    every(1000, sendForgets);
    every(60_000, logNonFlow);
    every(1000, () => {
      const drops = readUdpDrops(udp.map((u) => u.port));
      for (const [port, n] of drops) metrics.kernelDrops.set({ port: String(port) }, n);
      metrics.decodeBacklog.set(pool?.backlog().reduce((a, b) => a + b, 0) ?? 0);
      metrics.exporterTable.set({ state: 'exporter' }, exporters.exporters);
      metrics.exporterTable.set({ state: 'candidate' }, exporters.candidates);
    });
  }

  /** /metrics and /healthz, when metricsListen is set. */
  async function openStatusEndpoint(): Promise<void> {
    if (!cfg.metricsListen) return;
    const opened = await openStatusServer(cfg.metricsListen, metrics.registry, () => ({
      ok: !stopped && (!p.clickhouse || (sink?.up ?? false)),
      detail: {
        clickhouse: p.clickhouse ? (sink?.up ? 'up' : 'down (spooling)') : 'disabled',
        datagrams: totals.datagrams,
        records: totals.records,
      },
    })).catch((err: unknown) =>
      listenError(`cannot serve metrics on ${cfg.metricsListen}`, err, "--metrics-listen ('' = off)"),
    );
    status = opened;
    log.info(
      { url: `http://${cfg.metricsListen.replace(/:\d+$/, '')}:${opened.port}/metrics` },
      'metrics listening',
    );
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

    check() {
      checkStateDir(cfg.stateDir);
    },

    async start() {
      ensureStateDir(cfg.stateDir);
      loadInventory();
      openFileOutputs();
      const workers = await startWorkers();
      restoreTemplates(workers);
      watchInventoryFile();
      await startClickHouse();
      await openListeners();
      startHousekeeping();
      await openStatusEndpoint();
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      // every step below is bounded so the whole stop fits in shutdownTimeoutMs: a deep
      // decode queue once kept a collector "flushing queues" for 207 s
      const started = Date.now();
      const deadline = started + cfg.shutdownTimeoutMs;
      const left = () => Math.max(0, deadline - Date.now());
      log.info(
        {
          boundMs: cfg.shutdownTimeoutMs,
          decodeBacklog: pool?.backlog().reduce((a, b) => a + b, 0) ?? 0,
        },
        'stopping: flushing queues',
      );
      await within(Promise.all([...udp.map((u) => u.close()), ...tcp.map((t) => t.close())]), 1000);
      shared?.stop();
      for (const t of timers) clearInterval(t);
      watcher?.stop();
      inventorySync?.stop();
      if (pool) {
        // decoding gets half the bound; datagrams still queued then are skipped and counted
        const giveUp = setTimeout(
          () => Atomics.store(new Int32Array(abandon), 0, 1),
          Math.max(0, started + cfg.shutdownTimeoutMs / 2 - Date.now()),
        );
        const flushed = await within(pool.flush(), left() / 2 + 1000);
        clearTimeout(giveUp);
        const abandoned = workerStats.reduce((n, x) => n + (x?.abandoned ?? 0), 0);
        if (abandoned > 0 || !flushed)
          log.warn(
            { abandoned, flushed },
            'shutdown bound reached while decoding: queued datagrams dropped (counted in dropped_total{stage="shutdown"})',
          );
        await within(saveTemplates(), Math.min(5000, left() / 4));
      }
      batcher.cut();
      batcher.stop();
      if (sink) {
        // keep a second for the spool writes of whatever ClickHouse has not taken by then
        await within(
          sink.drain(Math.max(0, left() - 1500)),
          left() + 5000, // drain bounds itself; this only guards against a hung disk
        );
        if (left() > 2000) await within(refreshExportersTable(), left() - 1000);
        sink.stop();
      }
      await within(Promise.all(fileOutputs.map((o) => o.close())), Math.max(1000, left()));
      await within(pool?.close() ?? Promise.resolve(), 2000);
      await within(status?.close() ?? Promise.resolve(), 500);
      await within(ch?.close() ?? Promise.resolve(), 1000);
      log.info({ ...totals, ms: Date.now() - started }, 'stopped');
    },
  };
}
