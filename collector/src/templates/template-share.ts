/**
 * Templates shared between collectors through ClickHouse (collector.templateSharing).
 *
 * Reading: the first NetFlow v9 / IPFIX datagram from an address this collector has not
 * looked up (since start, or since the address was evicted) is held here, with the ones
 * that follow it, while one query fetches the address's stored templates and sampling
 * rates; they go to the exporter's decode worker first and the held datagrams after them.
 * A worker handles its messages in order, so the stored state is in place before the first
 * data set is decoded, and any template the exporter itself sends arrives after it and wins.
 * Lookups are batched (one query in flight, many addresses per query).
 *
 * Bounds (issue 9: forged source addresses): only addresses the exporter table admitted
 * reach this; at most maxPendingExporters addresses wait and maxHeldBytes are held here;
 * past either, or past lookupTimeoutMs, datagrams go on at once without the stored state
 * (the decoder then holds data for the exporter's own template, as before). What a lookup
 * returns is limited per exporter like the wire, and the decoder applies its limits again.
 * Without ClickHouse (not connected yet, or a lookup failed or timed out in the last
 * LOOKUP_PAUSE_MS) nothing is held: the collector decodes as it always did, from the wire
 * and from templates.json.
 *
 * Writing: on the template save tick, the rows whose definition changed since the last
 * successful write (shared-rows.ts) are inserted in one RowBinary insert; once a day
 * everything held is written again, and monthly partitions older than maxAgeDays dropped.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../../common/logger.ts';
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import { RowBinaryWriter } from '../../../storage/src/rowbinary.ts';
import {
  EXPORTER_TEMPLATES_INSERT_COLUMNS,
  dropExpiredTemplatePartitions,
  EXPORTER_TEMPLATES_TABLE,
  exporterTemplatesQuery,
  type StoredTemplateRow,
} from '../../../storage/src/template-tables.ts';
import { createSharedRowDiff, importStateOf, type SharedRow } from './shared-rows.ts';

export interface TemplateSharingConfig {
  enabled: boolean;
  lookupTimeoutMs: number;
  maxPendingExporters: number;
  maxHeldBytes: number;
  maxAgeDays: number;
  lookupAgainAfterSilentMs: number;
}

export interface TemplateShareDeps {
  config: TemplateSharingConfig;
  /** the connected ClickHouse (undefined until it first answered) */
  clickhouse(): ClickHouse | undefined;
  /** rows one exporter may load: its template and domain limits */
  maxRowsPerExporter: number;
  /** this collector's name in the rows (host:pid), for operators reading the table */
  collectorId: string;
  /** gives the decoder state to the worker(s) that decode `exporter` */
  importInto(exporter: string, worker: number, state: unknown): void;
  /** the rest of the receive path, for a datagram that was held here */
  release(datagram: Buffer, exporter: string, worker: number, receivedMs: number): void;
  log: Logger;
  registry: Registry;
}

export interface TemplateShare {
  /** true when the datagram is held here until the exporter's stored templates are in place */
  intercept(datagram: Buffer, exporter: string, worker: number, receivedMs: number): boolean;
  /** the address left the exporter table: look it up again should it come back */
  forget(exporter: string): void;
  /** writes the rows that changed in these worker states (from pool.exportStates()) */
  publish(statesJson: readonly string[]): Promise<void>;
  /** hands every held datagram on, and stops */
  stop(): void;
}

/** addresses per lookup query */
const LOOKUP_BATCH = 256;
/** rows per insert: a collector starting with 200 000 templates writes them over a few ticks */
const MAX_ROWS_PER_WRITE = 50_000;
const DAY_MS = 86_400_000;
/** new exporters skip the lookup this long after one failed (ClickHouse down or hung) */
const LOOKUP_PAUSE_MS = 10_000;
/**
 * The scan for changed rows runs on the receiving thread (in slices) and costs in
 * proportion to the templates held: after a scan that held the thread d ms the next waits
 * d / SCAN_SHARE, so it takes at most that share of the thread whatever the state size;
 * big states are shared later, not dearer.
 */
const SCAN_SHARE = 0.02;

interface Waiting {
  worker: number;
  datagrams: { data: Buffer; receivedMs: number }[];
  bytes: number;
}

/** NetFlow v9 and IPFIX are the versions that need templates (v5 carries none). */
function needsTemplates(d: Buffer): boolean {
  return d.length >= 4 && d[0] === 0 && (d[1] === 9 || d[1] === 10);
}

export function createTemplateShare(deps: TemplateShareDeps): TemplateShare {
  const cfg = deps.config;
  const log = deps.log;
  const r = { registers: [deps.registry] };
  const lookups = new Counter({
    name: 'vxflow_collector_shared_template_lookups_total',
    help: 'exporters looked up in the shared template table, by result (found, none, failed, timeout)',
    labelNames: ['result'],
    ...r,
  });
  const skipped = new Counter({
    name: 'vxflow_collector_shared_template_skipped_total',
    help: 'exporters not looked up, by reason (clickhouse-down, pending-full, held-full): their data waits for their own templates',
    labelNames: ['reason'],
    ...r,
  });
  const imported = new Counter({
    name: 'vxflow_collector_shared_templates_imported_total',
    help: 'template and domain rows read from the shared table into the decoders',
    ...r,
  });
  const written = new Counter({
    name: 'vxflow_collector_shared_templates_written_total',
    help: 'template and domain rows written to the shared table',
    ...r,
  });
  const writeFailures = new Counter({
    name: 'vxflow_collector_shared_template_write_failures_total',
    help: 'writes to the shared template table that failed (retried on the next save tick)',
    ...r,
  });

  /**
   * addresses looked up (or passed over), with when their last datagram came (kept to the
   * second): one silent for lookupAgainAfterSilentMs is looked up again, since the load
   * balancer may have sent it to another collector meanwhile, whose templates are newer
   */
  const done = new Map<string, number>();
  const waiting = new Map<string, Waiting>();
  /** addresses waiting for a lookup to start */
  const queue: string[] = [];
  let heldBytes = 0;
  let inFlight = false;
  let stopped = false;
  const diff = createSharedRowDiff();
  let publishing = false;
  let nextFullWriteMs = Date.now() + DAY_MS;
  /** no scan before this time: see SCAN_SHARE */
  let nextScanMs = 0;
  /** after a lookup failed or timed out, new exporters go on without one until this time */
  let lookupsPausedUntil = 0;

  /** Sends the address's held datagrams on, in arrival order, and marks it done. */
  function releaseAll(exporter: string): void {
    const w = waiting.get(exporter);
    done.set(exporter, Date.now());
    if (!w) return;
    waiting.delete(exporter);
    heldBytes -= w.bytes;
    for (const d of w.datagrams) deps.release(d.data, exporter, w.worker, d.receivedMs);
  }

  async function lookup(batch: string[]): Promise<Map<string, SharedRow[]>> {
    const ch = deps.clickhouse();
    if (!ch) throw new Error('not connected');
    const rows = await ch.query<StoredTemplateRow>(
      exporterTemplatesQuery(ch.database, batch, deps.maxRowsPerExporter, cfg.maxAgeDays, Date.now()),
    );
    const by = new Map<string, SharedRow[]>();
    for (const row of rows) {
      const list = by.get(row.exporter) ?? [];
      list.push({
        exporter: row.exporter,
        version: Number(row.version),
        observationDomain: Number(row.observation_domain),
        templateId: Number(row.template_id),
        definition: row.newest_definition,
        updatedMs: Number(row.newest_ms),
      });
      by.set(row.exporter, list);
    }
    return by;
  }

  function runLookups(): void {
    if (inFlight || stopped || queue.length === 0) return;
    const batch = queue.splice(0, LOOKUP_BATCH).filter((e) => waiting.has(e));
    if (batch.length === 0) {
      runLookups();
      return;
    }
    inFlight = true;
    let settled = false;
    const finish = (found: Map<string, SharedRow[]> | undefined, result: 'failed' | 'timeout') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!found) lookupsPausedUntil = Date.now() + LOOKUP_PAUSE_MS;
      for (const exporter of batch) {
        if (!waiting.has(exporter)) continue; // given up meanwhile (held-full, evicted)
        const rows = found?.get(exporter);
        if (!found) lookups.inc({ result });
        else if (!rows) lookups.inc({ result: 'none' });
        else {
          lookups.inc({ result: 'found' });
          imported.inc(rows.length);
          deps.importInto(exporter, waiting.get(exporter)?.worker ?? 0, importStateOf(rows));
        }
        releaseAll(exporter);
      }
      inFlight = false;
      runLookups();
    };
    const timer = setTimeout(() => {
      log.warn(
        { exporters: batch.length, timeoutMs: cfg.lookupTimeoutMs },
        'shared template lookup timed out: those exporters wait for their own templates',
      );
      finish(undefined, 'timeout');
    }, cfg.lookupTimeoutMs);
    lookup(batch).then(
      (found) => finish(found, 'failed'),
      (err: Error) => {
        if (!settled) log.warn({ err: err.message }, 'shared template lookup failed');
        finish(undefined, 'failed');
      },
    );
  }

  async function writeRows(ch: ClickHouse, rows: readonly SharedRow[]): Promise<void> {
    const w = new RowBinaryWriter(rows.length * 256 + 1024);
    for (const row of rows) {
      w.string(row.exporter);
      w.u8(row.version);
      w.u32(row.observationDomain);
      w.u16(row.templateId);
      w.string(row.definition);
      w.u64(row.updatedMs);
      w.string(deps.collectorId);
    }
    await ch.insertRowBinary(
      `${ch.database}.${EXPORTER_TEMPLATES_TABLE}`,
      EXPORTER_TEMPLATES_INSERT_COLUMNS,
      w.finish(),
    );
  }

  return {
    intercept(datagram, exporter, worker, receivedMs) {
      const last = done.get(exporter);
      if (last !== undefined) {
        const silent = receivedMs - last;
        if (silent < cfg.lookupAgainAfterSilentMs) {
          if (silent > 1000) done.set(exporter, receivedMs);
          return false;
        }
        done.delete(exporter);
      }
      const w = waiting.get(exporter);
      if (w) {
        if (heldBytes + datagram.length > cfg.maxHeldBytes) {
          skipped.inc({ reason: 'held-full' });
          releaseAll(exporter);
          return false;
        }
        w.datagrams.push({ data: Buffer.from(datagram), receivedMs });
        w.bytes += datagram.length;
        heldBytes += datagram.length;
        return true;
      }
      if (!cfg.enabled || stopped || !needsTemplates(datagram)) {
        done.set(exporter, receivedMs);
        return false;
      }
      if (!deps.clickhouse() || Date.now() < lookupsPausedUntil) {
        // not waited for: a lookup that cannot answer would only delay every new exporter
        skipped.inc({ reason: 'clickhouse-down' });
        done.set(exporter, receivedMs);
        return false;
      }
      if (waiting.size >= cfg.maxPendingExporters || heldBytes + datagram.length > cfg.maxHeldBytes) {
        skipped.inc({ reason: waiting.size >= cfg.maxPendingExporters ? 'pending-full' : 'held-full' });
        done.set(exporter, receivedMs);
        return false;
      }
      waiting.set(exporter, {
        worker,
        datagrams: [{ data: Buffer.from(datagram), receivedMs }],
        bytes: datagram.length,
      });
      heldBytes += datagram.length;
      queue.push(exporter);
      // a tick later, so the addresses of one burst go in one query
      if (!inFlight) setImmediate(runLookups);
      return true;
    },

    forget(exporter) {
      // held datagrams of an evicted address go on (the worker decides what they are)
      if (waiting.has(exporter)) releaseAll(exporter);
      done.delete(exporter);
    },

    async publish(statesJson) {
      const ch = deps.clickhouse();
      // tried even while flow inserts fail: with one shard of a cluster down the flows
      // spool, but this table (on every node) still takes writes
      if (!cfg.enabled || publishing || !ch) return;
      publishing = true;
      try {
        const now = Date.now();
        const daily = now >= nextFullWriteMs;
        if (daily) {
          nextFullWriteMs = now + DAY_MS;
          diff.reset();
          await dropExpiredTemplatePartitions(ch, cfg.maxAgeDays, Date.now()).catch((err: Error) =>
            log.warn({ err: err.message }, 'old shared template partitions not dropped'),
          );
        }
        if (now < nextScanMs) return;
        const rows = (await diff.changes(statesJson, now)).slice(0, MAX_ROWS_PER_WRITE);
        nextScanMs = now + diff.lastScanMs / SCAN_SHARE;
        if (rows.length === 0) return;
        const t0 = performance.now();
        await writeRows(ch, rows);
        diff.commit(rows);
        written.inc(rows.length);
        log.debug({ rows: rows.length, ms: Math.round(performance.now() - t0) }, 'shared templates written');
      } catch (err) {
        writeFailures.inc();
        log.warn({ err: (err as Error).message }, 'shared templates not written (retried on the next save)');
      } finally {
        publishing = false;
      }
    },

    stop() {
      stopped = true;
      for (const exporter of [...waiting.keys()]) releaseAll(exporter);
      queue.length = 0;
    },
  };
}
