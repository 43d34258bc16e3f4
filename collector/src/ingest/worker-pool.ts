/**
 * Spreads decoding over worker threads (Node 20 has no dgram reusePort, so one thread
 * receives and the workers decode). Each exporter (its address, or a TCP session) has a
 * home worker that holds its templates. An exporter too fast for one worker is spread
 * (collector.spread, spread.ts): its data datagrams go to the least busy worker, and each
 * of its template datagrams goes to every worker, queued everywhere before any later
 * datagram (a worker's queue is FIFO), so each worker knows a template before the data that
 * needs it; one worker decodes that datagram's records and the others only learn from it.
 * Datagrams are packed into batches per worker and sent as transferable buffers.
 *
 * Overflow policy: each worker has a bound on datagrams queued for it; beyond it, new
 * datagrams are dropped and reported through onDrop (dropped_total{stage="decode"}), so a
 * slow worker can never make the receive path wait or grow memory. Once a worker's queue
 * is half full, an exporter holding half of what is queued there or more, beside others,
 * gets no more room (dropped_total{stage="decode-fair"}): one exporter flooding its worker (template
 * churn costs far more per datagram than flows) then cannot crowd out the others routed
 * to the same worker.
 */
import { Worker } from 'node:worker_threads';
import { allocTransfer, enableTransferPool, giveBack } from '../../../common/transfer-pool.ts';
import { peekDatagram } from '../../../protocol/src/decode/peek.ts';
import { createSpreader, type SpreadOptions, type Spreader } from './spread.ts';
import {
  type FromWorker,
  INDEX_STRIDE,
  LEARN_ONLY,
  type ToWorker,
  type WorkerInit,
} from './worker-protocol.ts';

const BATCH_BYTES = 1024 * 1024;
const BATCH_DATAGRAMS = 1024;
/**
 * A part-filled batch waits this long for more datagrams. Sending at the end of every
 * event-loop turn (the old way) sent a few datagrams per message at 8 000 datagrams/s,
 * and each message costs both threads far more than the few milliseconds of delay.
 */
const DISPATCH_LINGER_MS = 10;

export interface WorkerPoolOptions {
  count: number;
  init: WorkerInit;
  queueLimit: number;
  onMessage(worker: number, m: FromWorker): void;
  onDrop(datagrams: number, reason: 'decode' | 'decode-fair'): void;
  onError(worker: number, err: Error): void;
  /** one exporter over several workers (absent, 'off', or one worker: never) */
  spread?: SpreadOptions;
  /** added to each worker thread's nice value, so the receiving thread wins when cores are short */
  workerNice?: number;
}

/** template datagrams kept while a handoff waits for the home worker's templates; beyond, it is retried */
const MAX_HANDOFF_TEMPLATES = 256;

export interface WorkerPool {
  readonly size: number;
  ready(): Promise<void>;
  /** which worker a key (exporter address, or a TCP session) belongs to */
  route(key: string): number;
  /** queues one datagram (copied) for worker w */
  dispatch(w: number, datagram: Uint8Array, exporter: string, receivedMs: number, session?: string): void;
  /** sends what is queued now instead of at the end of this event-loop turn */
  sendPending(): void;
  post(w: number, m: ToWorker): void;
  broadcast(m: ToWorker): void;
  /** gives chunk buffers back to the worker that sent them, for reuse (transferred) */
  recycle(w: number, buffers: ArrayBuffer[]): void;
  /** datagrams queued or in flight, per worker */
  backlog(): number[];
  /** asks every worker to send what it holds, and waits for the answer */
  flush(): Promise<void>;
  /** each worker's exported decoder state, as JSON text */
  exportStates(): Promise<string[]>;
  /** exporters decoded over several workers now */
  readonly spreadExporters: number;
  close(): Promise<void>;
}

interface Pending {
  buf: Uint8Array;
  used: number;
  index: number[];
  exporters: string[];
  slots: Map<string, number>;
  /** datagrams per exporter in this batch, to give back when the worker is done with it */
  perExporter: Map<string, number>;
}

const newPending = (): Pending => ({
  buf: new Uint8Array(BATCH_BYTES),
  used: 0,
  index: [],
  exporters: [],
  slots: new Map(),
  perExporter: new Map(),
});

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** payload buffers kept for reuse on the receiving thread (a worker's queue limit is about this much) */
const PAYLOAD_POOL_BYTES = 64 * 1024 * 1024;

export function createWorkerPool(opts: WorkerPoolOptions): WorkerPool {
  enableTransferPool(PAYLOAD_POOL_BYTES);
  const workers: Worker[] = [];
  const readies: Promise<void>[] = [];
  const inFlight: number[] = [];
  /** per worker: datagrams queued or in flight by exporter, and each sent batch's share, in order */
  const byExporter: Map<string, number>[] = [];
  const sentShares: Map<string, number>[][] = [];
  // UDP and each TCP session batch separately (the session scopes templates)
  const pending: Map<string, Pending>[] = [];
  let scheduled: NodeJS.Timeout | undefined;
  let nextId = 1;
  const waiters = new Map<number, (v: unknown) => void>();
  const spreader: Spreader | undefined =
    opts.spread && opts.spread.mode !== 'off' && opts.count > 1 ? createSpreader(opts.spread) : undefined;
  /** per exporter in handoff: its template datagrams dispatched since the home worker was asked */
  const handoffTemplates = new Map<string, { datagram: Buffer; receivedMs: number }[]>();
  let nextWorker = 0;

  for (let w = 0; w < opts.count; w++) {
    const worker = new Worker(new URL('./decode-worker-entry.mjs', import.meta.url), {
      workerData: { ...opts.init, nice: opts.workerNice ?? 0 } satisfies WorkerInit,
    });
    workers.push(worker);
    inFlight.push(0);
    byExporter.push(new Map());
    sentShares.push([]);
    pending.push(new Map());
    readies.push(
      new Promise((resolve, reject) => {
        worker.once('error', reject);
        worker.on('message', (m: FromWorker) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'done') {
            inFlight[w] -= m.datagrams;
            if (m.payload) giveBack([m.payload]);
            // the worker answers batches in the order they were sent
            const share = sentShares[w].shift();
            if (share) release(w, share);
            if (m.answers) spreader?.answers(m.answers);
          } else if (m.type === 'state') waiters.get(m.id)?.(m.state);
          else if (m.type === 'flushed') waiters.get(m.id)?.(undefined);
          if (m.type === 'stats' && spreader) {
            const merged = spreader.mergeStats(w, m.stats, m.exporters);
            opts.onMessage(w, { type: 'stats', ...merged });
          } else opts.onMessage(w, m);
        });
      }),
    );
    worker.on('error', (err) => opts.onError(w, err));
  }

  function release(w: number, share: Map<string, number>): void {
    const counts = byExporter[w];
    for (const [exporter, n] of share) {
      const left = (counts.get(exporter) ?? 0) - n;
      if (left > 0) counts.set(exporter, left);
      else counts.delete(exporter);
    }
  }

  function send(w: number, session: string, p: Pending): void {
    if (p.index.length === 0) return;
    sentShares[w].push(p.perExporter);
    p.perExporter = new Map();
    // a copy travels (transferred) and comes back with 'done' for a later batch
    // (common/transfer-pool.ts); the staging buffer is reused, because a fresh zero-filled
    // 256 KiB per message cost more than copying the bytes in use
    const payload = allocTransfer(p.used);
    payload.set(p.buf.subarray(0, p.used));
    const index = Float64Array.from(p.index);
    const msg: ToWorker = { type: 'datagrams', payload, index, exporters: p.exporters, session };
    workers[w].postMessage(msg, [payload.buffer as ArrayBuffer, index.buffer]);
    if (p.buf.length > BATCH_BYTES) p.buf = new Uint8Array(BATCH_BYTES);
    p.used = 0;
    p.index = [];
    p.exporters = [];
    p.slots.clear();
  }

  /** Queues one datagram (copied) for worker w; false when it was dropped (counted). */
  function enqueue(
    w: number,
    datagram: Uint8Array,
    exporter: string,
    receivedMs: number,
    session: string,
    mark: number,
  ): boolean {
    if (inFlight[w] >= opts.queueLimit) {
      opts.onDrop(1, 'decode');
      return false;
    }
    const mine = byExporter[w].get(exporter) ?? 0;
    // (an exporter alone on its worker keeps the whole queue: nobody is crowded out)
    if (inFlight[w] * 2 >= opts.queueLimit && mine * 2 >= inFlight[w] && mine < inFlight[w]) {
      opts.onDrop(1, 'decode-fair');
      return false;
    }
    byExporter[w].set(exporter, mine + 1);
    let p = pending[w].get(session);
    if (!p) {
      p = newPending();
      pending[w].set(session, p);
    }
    if (p.used + datagram.length > p.buf.length) {
      send(w, session, p);
      if (datagram.length > p.buf.length) p.buf = new Uint8Array(datagram.length);
    }
    let slot = p.slots.get(exporter);
    if (slot === undefined) {
      slot = p.exporters.length;
      p.exporters.push(exporter);
      p.slots.set(exporter, slot);
    }
    p.buf.set(datagram, p.used);
    p.index.push(p.used, datagram.length, receivedMs, slot, mark);
    p.perExporter.set(exporter, (p.perExporter.get(exporter) ?? 0) + 1);
    p.used += datagram.length;
    inFlight[w]++;
    if (p.index.length >= BATCH_DATAGRAMS * INDEX_STRIDE) send(w, session, p);
    else if (!scheduled) scheduled = setTimeout(sendPending, DISPATCH_LINGER_MS);
    return true;
  }

  /** The worker with the least queued; ties go round the workers. */
  function leastBusy(): number {
    let best = nextWorker;
    for (let i = 1; i < workers.length; i++) {
      const v = (nextWorker + i) % workers.length;
      if (inFlight[v] < inFlight[best]) best = v;
    }
    nextWorker = (best + 1) % workers.length;
    return best;
  }

  /**
   * A spread exporter's datagram: its templates to every worker (before anything later can
   * be queued), its records decoded on one, and its sequence counted here in arrival order.
   */
  function spreadOne(home: number, datagram: Uint8Array, exporter: string, receivedMs: number): void {
    const s = spreader as Spreader;
    const peek = peekDatagram(datagram);
    const target = leastBusy();
    if (peek?.hasTemplates)
      for (let v = 0; v < workers.length; v++)
        if (v !== target) enqueue(v, datagram, exporter, receivedMs, '', LEARN_ONLY);
    if (!peek) {
      // not NetFlow/IPFIX: the home worker counts it under its error kind, as before
      enqueue(home, datagram, exporter, receivedMs, '', 0);
      return;
    }
    if (enqueue(target, datagram, exporter, receivedMs, '', s.nextTicket)) s.ticketQueued(exporter, peek);
  }

  /**
   * Asks the home worker for the exporter's templates; the other workers import them, then
   * learn the template datagrams sent meanwhile, and only then get its data datagrams.
   * Until then everything still goes home (its template datagrams kept for the replay).
   */
  function startHandoff(home: number, exporter: string): void {
    const s = spreader as Spreader;
    // everything already dispatched home must be ahead of the question in its queue
    sendPending();
    handoffTemplates.set(exporter, []);
    const id = nextId++;
    waiters.set(id, (state) => {
      waiters.delete(id);
      const kept = handoffTemplates.get(exporter);
      handoffTemplates.delete(exporter);
      if (!kept || !s.isSpread(exporter)) return; // given up, or forgotten meanwhile
      let parsed: unknown;
      try {
        parsed = JSON.parse(state as string);
      } catch {
        s.handoffFailed(exporter, Date.now());
        return;
      }
      for (let v = 0; v < workers.length; v++) {
        if (v === home) continue;
        workers[v].postMessage({ type: 'import-state', state: parsed } satisfies ToWorker);
        for (const k of kept) enqueue(v, k.datagram, exporter, k.receivedMs, '', LEARN_ONLY);
      }
      s.handoffDone(exporter);
    });
    workers[home].postMessage({ type: 'export-exporter-state', id, exporter } satisfies ToWorker);
  }

  function sendPending(): void {
    if (scheduled) {
      clearTimeout(scheduled);
      scheduled = undefined;
    }
    for (let w = 0; w < workers.length; w++) {
      for (const [session, p] of pending[w]) {
        send(w, session, p);
        if (session !== '') pending[w].delete(session);
      }
    }
  }

  async function request(m: (id: number) => ToWorker): Promise<unknown[]> {
    sendPending();
    return Promise.all(
      workers.map(
        (worker) =>
          new Promise<unknown>((resolve) => {
            const id = nextId++;
            waiters.set(id, (v) => {
              waiters.delete(id);
              resolve(v);
            });
            worker.postMessage(m(id));
          }),
      ),
    );
  }

  return {
    size: workers.length,
    async ready() {
      await Promise.all(readies);
    },
    route: (key) => fnv1a(key) % workers.length,
    dispatch(w, datagram, exporter, receivedMs, session = '') {
      if (!spreader || session !== '') {
        enqueue(w, datagram, exporter, receivedMs, session, 0);
        return;
      }
      const place = spreader.place(exporter, receivedMs);
      if (place === 'home') enqueue(w, datagram, exporter, receivedMs, '', 0);
      else if (place === 'spread') spreadOne(w, datagram, exporter, receivedMs);
      else {
        if (place === 'start-handoff') startHandoff(w, exporter);
        if (enqueue(w, datagram, exporter, receivedMs, '', 0) && peekDatagram(datagram)?.hasTemplates) {
          const kept = handoffTemplates.get(exporter);
          if (kept && kept.length < MAX_HANDOFF_TEMPLATES)
            kept.push({ datagram: Buffer.from(datagram), receivedMs });
          else if (kept) {
            // too many to replay: give the handoff up, try again later
            handoffTemplates.delete(exporter);
            spreader.handoffFailed(exporter, receivedMs);
          }
        }
      }
    },
    sendPending,
    post(w, m) {
      if (m.type === 'forget' && spreader) {
        // a spread exporter's templates are on every worker
        spreader.forget(m.exporters);
        for (const worker of workers) worker.postMessage(m);
      } else workers[w].postMessage(m);
    },
    broadcast(m) {
      for (const worker of workers) worker.postMessage(m);
    },
    recycle(w, buffers) {
      if (buffers.length > 0)
        workers[w].postMessage({ type: 'recycle', buffers } satisfies ToWorker, buffers);
    },
    backlog: () => [...inFlight],
    async flush() {
      await request((id) => ({ type: 'flush', id }));
    },
    exportStates: () => request((id) => ({ type: 'export-state', id })) as Promise<string[]>,
    get spreadExporters() {
      return spreader?.spreadCount ?? 0;
    },
    async close() {
      if (scheduled) clearTimeout(scheduled);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
