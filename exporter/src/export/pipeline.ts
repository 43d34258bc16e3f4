/**
 * The export pipeline: records from a source → one shared encoder → every collector.
 *
 * One encoder for all collectors: each datagram is encoded once and sent to every target,
 * so each collector sees the full, gap-free sequence of datagrams and the sequence numbers
 * are right for each of them (a datagram a collector did not get is real loss, counted as a
 * send error). Encoding once also keeps the CPU cost flat as collectors are added.
 *
 * Backpressure: records are queued up to `maxPendingRecords` and sent in batches of
 * `batchRecords`; each batch's sends are awaited before the next is encoded, so at most one
 * batch of datagrams is in flight per collector. Sources that can wait (sim, socket, ovs)
 * call `ctx.drain()` before producing more; a source that cannot wait and overruns the queue
 * has the excess dropped and counted (`dropped`), never buffered without bound.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { EncoderOptions, FlowEncoder } from '../../../protocol/src/encode/api.ts';
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';
import type { SourceContext } from '../sources/source.ts';
import type { ExportTarget } from './targets.ts';

export interface TargetStats {
  url: string;
  datagrams: number;
  flows: number;
  bytes: number;
  errors: number;
  lastError?: string;
}

export interface PipelineStats {
  received: number;
  exported: number;
  dropped: number;
  targets: TargetStats[];
}

/** The context handed to sources; `drain()` lets a source wait for the queue to empty. */
export interface PipelineSourceContext extends SourceContext {
  /** resolves when the pending queue is below its low-water mark */
  drain(): Promise<void>;
}

export interface PipelineOptions {
  targets: ExportTarget[];
  encoder: EncoderOptions;
  createEncoder: (opts: EncoderOptions) => FlowEncoder;
  /** records encoded per batch (default 1000) */
  batchRecords?: number;
  /** records queued before new ones are dropped (default 200 000) */
  maxPendingRecords?: number;
  /**
   * how long a part-filled batch may wait for more records (default 100 ms), so a slow
   * live source fills datagrams instead of sending one per trickle of records
   */
  lingerMs?: number;
  /** clock, for tests (default Date.now) */
  now?: () => number;
}

export interface Pipeline {
  /** feeds records (what sources call through ctx.emit) */
  emit(records: FlowRecord[]): void;
  /** a context for a source run, tied to the given abort signal */
  context(signal: AbortSignal, progress?: SourceContext['progress']): PipelineSourceContext;
  /** sends everything queued; resolves when every datagram was handed to the kernel */
  flush(): Promise<void>;
  /** sends the templates (and options) to every collector now */
  sendTemplates(): Promise<void>;
  /** flushes, stops the refresh timer and closes the sockets */
  close(): Promise<void>;
  stats(): PipelineStats;
}

export async function createPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const now = opts.now ?? Date.now;
  const batchRecords = opts.batchRecords ?? 1000;
  const maxPending = opts.maxPendingRecords ?? 200_000;
  const lowWater = Math.max(batchRecords, maxPending >> 2);
  const lingerMs = opts.lingerMs ?? 100;
  let lingerTimer: NodeJS.Timeout | null = null;
  const encoder = opts.createEncoder(opts.encoder);
  const refreshMs = opts.encoder.templateRefreshMs ?? 60_000;

  const sockets = new Map<4 | 6, Socket>();
  for (const t of opts.targets) {
    if (sockets.has(t.family)) continue;
    const s = createSocket({ type: t.family === 6 ? 'udp6' : 'udp4' });
    // errors surface on each send's callback; a socket-level error must not crash the exporter
    s.on('error', () => {});
    await new Promise<void>((resolve) => s.bind(0, resolve));
    sockets.set(t.family, s);
  }
  const targetStats: TargetStats[] = opts.targets.map((t) => ({
    url: t.url,
    datagrams: 0,
    flows: 0,
    bytes: 0,
    errors: 0,
  }));

  let pending: FlowRecord[] = [];
  let received = 0;
  let exported = 0;
  let dropped = 0;
  let lastSendMs = now();
  let draining: Promise<void> | null = null;
  let closed = false;
  const drainWaiters: (() => void)[] = [];

  function sendOne(idx: number, buf: Buffer): Promise<void> {
    const t = opts.targets[idx];
    const s = sockets.get(t.family)!;
    const st = targetStats[idx];
    return new Promise((resolve) => {
      s.send(buf, t.port, t.host, (err) => {
        if (err) {
          st.errors += 1;
          st.lastError = err.message;
        } else {
          st.datagrams += 1;
          st.bytes += buf.length;
        }
        resolve();
      });
    });
  }

  async function sendAll(datagrams: Buffer[], flows: number): Promise<void> {
    if (datagrams.length === 0) return;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < opts.targets.length; i++) {
      for (const d of datagrams) sends.push(sendOne(i, d));
    }
    await Promise.all(sends);
    for (const st of targetStats) st.flows += flows;
    lastSendMs = now();
  }

  async function drainLoop(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.length <= batchRecords ? pending : pending.slice(0, batchRecords);
      pending = batch === pending ? [] : pending.slice(batchRecords);
      const datagrams = encoder.encode(batch, now());
      await sendAll(datagrams, batch.length);
      exported += batch.length;
      if (pending.length <= lowWater) wakeDrainWaiters();
      // let I/O callbacks run between batches (receivers in this process, timers, signals)
      await new Promise((r) => setImmediate(r));
    }
    wakeDrainWaiters();
  }

  function wakeDrainWaiters() {
    for (const w of drainWaiters.splice(0)) w();
  }

  function kick(): Promise<void> {
    if (!draining) {
      draining = drainLoop().finally(() => {
        draining = null;
        // records that arrived while the last batch was in flight
        if (pending.length > 0) void kick();
      });
    }
    return draining;
  }

  // templates by time even when idle: if nothing went out for a refresh period, send them
  const refreshTimer = setInterval(
    () => {
      if (now() - lastSendMs >= refreshMs && !draining) void sendAll(encoder.templates(now()), 0);
    },
    Math.max(250, Math.min(refreshMs / 4, 5000)),
  );
  refreshTimer.unref();

  const pipeline: Pipeline = {
    emit(records) {
      if (closed) return;
      received += records.length;
      const room = maxPending - pending.length;
      if (room < records.length) {
        dropped += records.length - Math.max(0, room);
        if (room > 0) pending.push(...records.slice(0, room));
      } else if (records.length > 10_000) {
        pending = pending.concat(records);
      } else pending.push(...records);
      if (pending.length >= batchRecords || lingerMs === 0) void kick();
      else if (!lingerTimer && !draining) {
        lingerTimer = setTimeout(() => {
          lingerTimer = null;
          void kick();
        }, lingerMs);
      }
    },
    context(signal, progress) {
      return {
        emit: pipeline.emit,
        signal,
        ...(progress ? { progress } : {}),
        drain() {
          if (pending.length <= lowWater) return Promise.resolve();
          return new Promise<void>((resolve) => drainWaiters.push(resolve));
        },
      };
    },
    async flush() {
      if (lingerTimer) clearTimeout(lingerTimer);
      lingerTimer = null;
      while (pending.length > 0 || draining) await kick();
    },
    async sendTemplates() {
      await sendAll(encoder.templates(now()), 0);
    },
    async close() {
      await pipeline.flush();
      closed = true;
      clearInterval(refreshTimer);
      await Promise.all([...sockets.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
    stats: () => ({ received, exported, dropped, targets: targetStats.map((t) => ({ ...t })) }),
  };
  return pipeline;
}
