/**
 * Delivers RowBinary batches to ClickHouse without ever making ingestion wait, and without
 * losing them: one insert at a time (so batches land in order); a few ready batches wait in
 * memory; the rest, and everything while ClickHouse is down or the spool is not empty, go to
 * the on-disk spool, which is replayed oldest first once ClickHouse answers again.
 *
 * Two kinds of batches go through it, told apart by their insert column list: raw flows
 * (FLOW_INSERT_COLUMNS, into flows) and the collector's rollup rows (ROLLUP_INSERT_COLUMNS,
 * into flows_rollup_in); both carry batch ids, and both are checked the same way.
 *
 * Exactly once, on plain MergeTree too (which has no insert deduplication): every row
 * carries its chunk's batch_id, so before a batch that may already be stored is sent again,
 * the sink asks ClickHouse what of it is there (storage/src/flow-batches.ts) and sends only
 * the rest. That check runs for every batch taken from the spool, which covers both ways a
 * batch used to be stored twice: an insert that failed (timeout, connection lost, error)
 * after the request went out goes to the spool and is checked before its replay; and a
 * spooled batch whose insert ClickHouse acknowledged just before the process died is still
 * in the spool at the next start, and is found stored. An earlier attempt still running in
 * ClickHouse (seen in system.processes by its query_id) is waited for, not raced.
 *
 * What is guaranteed (stated honestly):
 * - A batch whose rows lie in one partition (one day) and that ClickHouse takes as one block
 *   (at most max_insert_block_size rows, 1 048 576 by default; batchMaxRows defaults to
 *   200 000) is stored whole or not at all; the check tells which, and it is sent again
 *   only when absent.
 * - A batch spanning two days is two parts, one per partition, and ClickHouse can store one
 *   without the other (an error or crash between the two); a body cut short by a lost
 *   connection is stored as far as it got when the cut falls between rows. Either way, for
 *   each (chunk, partition) what is stored is a prefix of its rows, so the check finds
 *   exactly which rows are missing and the replay sends only those: exactly once too.
 * - Not covered: an earlier attempt that ClickHouse has received but not yet registered in
 *   system.processes (18.16 lists an HTTP insert only after reading about the first megabyte
 *   of its body; a request can also wait in the server's connection queue) and that it
 *   stores only after the check: that batch is stored twice. The check runs no sooner than
 *   retryMs after the failure, through a server that answered a ping in between, so this
 *   takes a server that holds a request for longer than that without starting it. Rollup
 *   rows stored in the staging table while a view on it failed: the staging table has
 *   them, so they are not sent again, and the rollups miss them (`vxflow rollup` adds what
 *   the rollups miss). Spool files written before batch_id existed
 *   (`<seq>-<rows>.rowbinary`) have no identity: they are replayed unchecked, at least
 *   once, as before.
 * - SIGKILL (or power loss) still loses what is only in memory: rows not yet batched, the
 *   batches queued here (up to memoryBatches), and the one in flight unless it reached
 *   ClickHouse. What is in the spool survives and is checked as above.
 */

import type { StoredCheck } from '../../../storage/src/flow-batches.ts';
import type { Spool, SpooledBatch } from './spool.ts';

export interface SinkDeps {
  /** the insert column list of the batches submitted now (kept with them in the spool) */
  columns: string;
  /** the insert column list of spool files that have none (written before batch_id) */
  legacyColumns: string;
  /** one batch: its RowBinary chunks in order */
  insert(parts: readonly Buffer[], rows: number, columns: string): Promise<void>;
  /**
   * What ClickHouse already holds of a batch that may have been stored; undefined when it
   * cannot tell (rows without batch ids): the batch is then inserted as it is.
   */
  check(parts: readonly Buffer[], rows: number, columns: string): Promise<StoredCheck | undefined>;
  /** true when ClickHouse answers (and is ready to take inserts) */
  probe(): Promise<boolean>;
  spool: Spool;
  memoryBatches: number;
  retryMs: number;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  /** per batch; `columns` tells which kind of rows they count (raw flows, rollup rows) */
  metrics: {
    inserted(rows: number, seconds: number, columns: string): void;
    insertFailed(): void;
    dropped(rows: number, columns: string): void;
    spooled(rows: number, columns: string): void;
    /** rows of a batch sent again that ClickHouse already held (not inserted twice) */
    alreadyStored(rows: number, columns: string): void;
  };
}

export interface Sink {
  /**
   * Queues a batch whose rows are in `columns` (default: deps.columns). Batches are
   * inserted in submission order, spooled batches replayed in it too: the collector submits
   * a chunk's rollup rows before its raw rows, so raw rows in ClickHouse always have their
   * rollup rows there (what `vxflow rollup` relies on to add only what is missing).
   */
  submit(parts: Buffer[], rows: number, columns?: string): void;
  /**
   * waits for in-memory batches to reach ClickHouse, or puts them in the spool after
   * timeoutMs; returns within timeoutMs plus the spool writes, even with an insert in flight
   */
  drain(timeoutMs: number): Promise<void>;
  readonly up: boolean;
  readonly queuedRows: number;
  stop(): void;
}

interface Batch {
  parts: Buffer[];
  rows: number;
  columns: string;
  /** a copy went to the spool while its insert was in flight (shutdown ran out of time) */
  spooled?: boolean;
}

export function createClickHouseSink(deps: SinkDeps, startUp: boolean): Sink {
  const queue: Batch[] = [];
  let up = startUp;
  let busy = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let waitTimer: NodeJS.Timeout | undefined;
  let spoolFullLogged = false;
  let pendingPuts: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let lastError: unknown;
  let draining = false;
  /** the queued batch whose insert is in flight (not a spool replay: those stay in the spool) */
  let inFlight: Batch | undefined;

  function toSpool(b: Batch): void {
    // chained so spool files keep submission order
    pendingPuts = pendingPuts
      .then(() => deps.spool.put(b.parts, b.rows, b.columns))
      .then(
        (ok) => {
          if (ok) {
            deps.metrics.spooled(b.rows, b.columns);
            spoolFullLogged = false;
            return;
          }
          deps.metrics.dropped(b.rows, b.columns);
          if (!spoolFullLogged) {
            spoolFullLogged = true;
            deps.log.error(
              { spoolBytes: deps.spool.bytes, dir: deps.spool.dir },
              'spool is full: dropping batches until ClickHouse takes some (raise collector.spoolMaxBytes?)',
            );
          }
        },
        (err: Error) => {
          deps.metrics.dropped(b.rows, b.columns);
          deps.log.error(
            { err: err.message, dir: deps.spool.dir },
            'cannot write to the spool: batch dropped',
          );
        },
      );
  }

  function goDown(err: unknown): void {
    deps.metrics.insertFailed();
    if (up) {
      deps.log.warn(
        { err: (err as Error)?.message ?? String(err), queued: queue.length },
        'ClickHouse is unreachable or failing: spooling batches to disk',
      );
    }
    up = false;
    for (const b of queue.splice(0)) toSpool(b);
    scheduleRetry();
  }

  function scheduleRetry(): void {
    if (retryTimer || stopped) return;
    retryTimer = setTimeout(async () => {
      retryTimer = undefined;
      if (await deps.probe()) {
        up = true;
        deps.log.info(
          { spooledBatches: deps.spool.batches, spooledRows: deps.spool.rows },
          'ClickHouse is back: replaying the spool',
        );
        void pump();
      } else scheduleRetry();
    }, deps.retryMs);
  }

  async function insert(b: Batch): Promise<boolean> {
    const t0 = process.hrtime.bigint();
    try {
      await deps.insert(b.parts, b.rows, b.columns);
      deps.metrics.inserted(b.rows, Number(process.hrtime.bigint() - t0) / 1e9, b.columns);
      return true;
    } catch (err) {
      lastError = err;
      return false;
    }
  }

  /**
   * Sends a spooled batch, minus what ClickHouse already holds of it. 'done': the file can
   * go; 'down': ClickHouse failed (gone down); 'wait': an earlier attempt is still running.
   */
  async function replay(b: Batch, file: SpooledBatch): Promise<'done' | 'down' | 'wait'> {
    let found: StoredCheck | undefined;
    try {
      found = await deps.check(b.parts, b.rows, b.columns);
    } catch (err) {
      // cannot tell what is stored: never insert blind, try again once ClickHouse answers
      goDown(err);
      return 'down';
    }
    let send = b;
    switch (found?.state) {
      case 'running':
        deps.log.info(
          { file: file.file, queryIds: found.queryIds },
          'an earlier insert of this spooled batch is still running in ClickHouse: waiting for it',
        );
        return 'wait';
      case 'stored':
        deps.metrics.alreadyStored(b.rows, b.columns);
        deps.log.info(
          { file: file.file, rows: b.rows },
          'spooled batch is already in ClickHouse (an earlier attempt was stored): not inserting it again',
        );
        return 'done';
      case 'partial':
        deps.metrics.alreadyStored(found.stored, b.columns);
        deps.log.warn(
          { file: file.file, rows: b.rows, stored: found.stored, sending: found.restRows },
          'spooled batch is partly in ClickHouse (an earlier attempt was cut short): inserting only the missing rows',
        );
        send = { parts: found.rest, rows: found.restRows, columns: b.columns };
        break;
      case undefined:
        if (b.columns === deps.legacyColumns)
          deps.log.warn(
            { file: file.file, rows: b.rows },
            'spool file from before batch ids: replayed without the already-stored check',
          );
        break;
    }
    if (!(await insert(send))) {
      goDown(lastError);
      return 'down';
    }
    return 'done';
  }

  async function pump(): Promise<void> {
    if (busy || !up) return;
    busy = true;
    try {
      while (up && !draining) {
        await pendingPuts;
        const spooled = deps.spool.oldest();
        if (spooled) {
          let read: Awaited<ReturnType<Spool['read']>>;
          try {
            read = await deps.spool.read(spooled);
          } catch (err) {
            deps.metrics.dropped(spooled.rows, deps.columns);
            deps.log.error(
              { file: spooled.file, err: (err as Error).message },
              'unreadable spool file: set aside as .bad, replay goes on',
            );
            await deps.spool.quarantine(spooled);
            continue;
          }
          const b = { parts: [read.body], rows: spooled.rows, columns: read.columns ?? deps.legacyColumns };
          const r = await replay(b, spooled);
          if (r === 'wait') {
            if (!stopped && !waitTimer)
              waitTimer = setTimeout(() => {
                waitTimer = undefined;
                void pump();
              }, deps.retryMs);
            break;
          }
          if (r === 'down') break;
          await deps.spool.remove(spooled);
          if (deps.spool.batches === 0) deps.log.info({}, 'spool replayed: back to direct inserts');
          continue;
        }
        // taken off the queue while in flight, so drain() cannot spool it a second time
        const next = queue.shift();
        if (!next) break;
        inFlight = next;
        const ok = await insert(next);
        inFlight = undefined;
        if (!ok) {
          // the request may have reached ClickHouse: the spool replay checks before sending again
          if (!next.spooled) toSpool(next);
          goDown(lastError);
          break;
        }
      }
    } finally {
      busy = false;
    }
  }

  if (!up) scheduleRetry();
  // batches spooled by the last run go as soon as ClickHouse answers, not with the next batch
  else if (deps.spool.batches > 0) void pump();

  return {
    get up() {
      return up;
    },
    get queuedRows() {
      return queue.reduce((n, b) => n + b.rows, 0);
    },
    submit(parts, rows, columns = deps.columns) {
      const b = { parts, rows, columns };
      if (!up || deps.spool.batches > 0 || queue.length >= deps.memoryBatches) toSpool(b);
      else queue.push(b);
      void pump();
    },
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length > 0 && up && Date.now() < deadline) {
        void pump();
        await new Promise((r) => setTimeout(r, 20));
      }
      draining = true;
      // an insert may still be in flight: wait for it while time remains, so its batch is
      // either stored or spooled; at the deadline a copy goes to the spool instead, and its
      // replay asks ClickHouse for its batch ids first, so it is stored once either way
      while (busy && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (busy && inFlight && !inFlight.spooled) {
        inFlight.spooled = true;
        toSpool(inFlight);
      }
      // the queued batches after it: the spool keeps submission order (a chunk's rollup
      // rows before its raw rows, even across a restart)
      for (const b of queue.splice(0)) toSpool(b);
      await pendingPuts;
    },
    stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (waitTimer) clearTimeout(waitTimer);
    },
  };
}
