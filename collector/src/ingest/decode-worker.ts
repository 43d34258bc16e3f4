/**
 * One decode worker thread: one decoder (templates for the exporters routed here), plus one
 * per IPFIX-over-TCP session (RFC 7011 scopes templates to the transport session). Each
 * flow gets its sampling rate and tenant here, then is encoded for every configured output
 * (the flow pipeline, flow-pipeline.ts), so the main thread only moves bytes. This file is
 * the thread's side: messages, exporter and sequence accounting, stats.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { FlowDecoder, PacketSummary } from '../../../protocol/src/decode/api.ts';
import { createSequenceTracker } from '../../../protocol/src/decode/index.ts';
import { maskDataSets } from '../../../protocol/src/decode/peek.ts';
import { emptyInventory, parseInventory } from '../enrich/inventory.ts';
import type { OutputName } from '../output/registry.ts';
import { createFlowPipeline, type FlowChunk } from './flow-pipeline.ts';
import { lowerThreadPriority } from './thread-priority.ts';
import { enableTransferPool, giveBack } from '../../../common/transfer-pool.ts';
import {
  type ExporterDomainStats,
  type FromWorker,
  INDEX_STRIDE,
  LEARN_ONLY,
  type ToWorker,
  type WorkerInit,
  type WorkerStats,
} from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('decode-worker.ts runs as a worker thread');
const init = workerData as WorkerInit;
// the receiving thread must win the cores when they are short (thread-priority.ts)
lowerThreadPriority(init.nice ?? 0);
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/**
 * A part-filled chunk waits this long for more flows before it goes to the main thread:
 * sending one per datagram batch made thousands of tiny messages a second at high rates,
 * each costing a postMessage here and a Buffer plus a batch part there.
 */
const CHUNK_LINGER_MS = 20;
const TRANSFER_POOL_BYTES = 128 * 1024 * 1024;
let lingerTimer: NodeJS.Timeout | undefined;
function clearLinger(): void {
  if (lingerTimer) {
    clearTimeout(lingerTimer);
    lingerTimer = undefined;
  }
}

/** A chunk's bytes travel transferred, not cloned; the outputs keep their big buffers. */
function postChunk(chunk: FlowChunk): void {
  clearLinger();
  const msg: Extract<FromWorker, { type: 'chunk' }> = { type: 'chunk', rows: chunk.rows, ...chunk.outputs };
  post(
    msg,
    Object.values(chunk.outputs).map((v) => v.buffer as ArrayBuffer),
  );
}

// chunk buffers come back once inserted or written: at most this much is kept for reuse, a
// bound on what stays resident after a burst (the main thread's in-memory batches, 4 of
// 200 000 flows at about 200 bytes each by default, are 160 MB over all workers)
enableTransferPool(TRANSFER_POOL_BYTES);

const initialInventory = parseInventory(init.inventoryText);
const pipeline = createFlowPipeline({
  decoder: init.decoder,
  sampling: init.sampling,
  inventory: initialInventory.ok ? initialInventory.value : emptyInventory(),
  outputs: (Object.keys(init.outputs) as OutputName[]).filter((name) => init.outputs[name]),
  chunkRows: init.chunkRows,
  onChunk: postChunk,
});
const decoder = pipeline.decoder;
const sessions = new Map<string, FlowDecoder>();

function sendChunk(): void {
  clearLinger();
  pipeline.flush();
}

const domains = new Map<string, ExporterDomainStats>();
const sequences = createSequenceTracker({ maxStreams: init.decoder.maxDomains });
const stats: WorkerStats = {
  datagrams: 0,
  records: 0,
  errors: {},
  held: 0,
  heldExpired: 0,
  templateMisses: 0,
  templatesLearnt: 0,
  lostPackets: 0,
  lostRecords: 0,
  reordered: 0,
  samplingDefaulted: 0,
  enrich: pipeline.enrichStats,
  tcpSessions: 0,
  tcpSessionsRejected: 0,
  templatesHeld: 0,
  abandoned: 0,
  cpuUs: 0,
};
const abandon = new Int32Array(init.abandon);

/**
 * This thread's CPU time. process.cpuUsage() in a worker is the whole process's (summing it
 * per worker gave 6.12 s against 2.61 s for the process). Node 23.9+ has threadCpuUsage();
 * before it, Linux gives a thread its own /proc/thread-self/stat (utime and stime in clock
 * ticks of 10 ms); elsewhere the event loop's active time stands in.
 */
const threadCpu = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
function threadCpuUs(): number {
  if (threadCpu) {
    const u = threadCpu.call(process);
    return u.user + u.system;
  }
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return performance.eventLoopUtilization().active * 1000;
  }
}
/** the last exported decoder state, and the decoder's template counter when it was made */
let stateJson: string | undefined;
let stateTemplates = -1;

/** error counts of decoders already gone (closed TCP sessions) */
const retiredErrors: Record<string, number> = {};

/** keys of the stats domains of each exporter address, so forgetting one is not a scan */
const domainKeysOf = new Map<string, string[]>();
/** addresses already reported to the main thread as exporters */
const validated = new Set<string>();

/**
 * Whether a datagram shows its sender to be an exporter: a v5, v9 or IPFIX header and
 * something in it decoded (records, templates, or data held for a template). Random bytes
 * with a plausible version field (any 16-bit value) are not enough.
 */
function isFlowDatagram(sum: PacketSummary): boolean {
  return (
    (sum.version === 5 || sum.version === 9 || sum.version === 10) &&
    sum.records + sum.templates + sum.held + (sum.dataRecords ?? 0) > 0
  );
}

/**
 * Counts one decoded datagram. `ownSequence` false: the exporter is spread over the workers
 * and the receiving thread counts its sequence (spread.ts). Returns whether the datagram
 * counted as a flow datagram of a known domain (what the sequence accounting takes).
 */
function account(
  sum: PacketSummary,
  exporter: string,
  receivedMs: number,
  dec: FlowDecoder,
  ownSequence = true,
): boolean {
  stats.datagrams++;
  stats.records += sum.records;
  stats.held += sum.held;
  const key = `${exporter}/${sum.version}/${sum.observationDomain}`;
  let d = domains.get(key);
  if (!d) {
    // only a datagram that decodes makes an exporter (or a new domain of one); the rest is
    // counted by the decoder under its error kind
    if (!isFlowDatagram(sum) || domains.size >= init.decoder.maxDomains) return false;
    d = {
      exporter,
      version: sum.version,
      observationDomain: sum.observationDomain,
      templates: 0,
      samplingRate: 0,
      packets: 0,
      records: 0,
      lostPackets: 0,
      lostRecords: 0,
      reordered: 0,
      errors: 0,
      firstSeenMs: receivedMs,
      lastSeenMs: receivedMs,
    };
    domains.set(key, d);
    const keys = domainKeysOf.get(exporter);
    if (keys) keys.push(key);
    else domainKeysOf.set(exporter, [key]);
    if (!validated.has(exporter)) {
      validated.add(exporter);
      post({ type: 'exporter', exporter });
    }
    post({
      type: 'event',
      level: 'info',
      msg: 'first packet from a new exporter',
      data: { exporter, version: sum.version, observationDomain: sum.observationDomain },
    });
  }
  d.packets++;
  d.records += sum.records;
  d.errors += sum.errors;
  d.lastSeenMs = receivedMs;
  if (sum.templates > 0) {
    stats.templatesLearnt += sum.templates;
    // constant time: listing the templates here made every packet's cost grow with all the
    // templates held (a churning exporter took a worker from thousands of datagrams/s to 9)
    const before = d.templates;
    d.templates = dec.templateCount(exporter, sum.version, sum.observationDomain);
    stats.templatesHeld += d.templates - before;
  }
  if (!ownSequence) return true;
  // IPFIX counts the records this message carries, not held ones released by it
  const v = sequences.observe(
    exporter,
    sum.version,
    sum.observationDomain,
    sum.sequence,
    sum.dataRecords ?? sum.records,
  );
  if (sum.version === 9) {
    d.lostPackets += v.lost;
    stats.lostPackets += v.lost;
  } else {
    d.lostRecords += v.lost;
    stats.lostRecords += v.lost;
  }
  if (v.reordered) {
    d.reordered++;
    stats.reordered++;
  }
  return true;
}

/**
 * Decode error counts that learn-only copies caused: the worker that decodes the datagram
 * counts them already, so they are left out of this worker's report.
 */
const learnOnlyErrors: Record<string, number> = {};

/**
 * A spread exporter's template datagram whose records another worker decodes: learn its
 * templates, and emit the records of data this worker held for them, but none of its own.
 */
function learnOnly(datagram: Buffer, exporter: string, receivedMs: number, dec: FlowDecoder): void {
  const copy = Buffer.from(datagram);
  maskDataSets(copy);
  const before = { ...dec.stats } as Record<string, number>;
  const sum = pipeline.decode(copy, exporter, receivedMs, dec);
  for (const [k, n] of Object.entries(dec.stats)) {
    const extra = (n as number) - (before[k] ?? 0);
    if (extra > 0) learnOnlyErrors[k] = (learnOnlyErrors[k] ?? 0) + extra;
  }
  // released held records are this worker's to count; packets and templates learnt are the decoding worker's
  stats.records += sum.records;
  const d = domains.get(`${exporter}/${sum.version}/${sum.observationDomain}`);
  if (!d) return;
  d.records += sum.records;
  if (sum.templates > 0) {
    const had = d.templates;
    d.templates = dec.templateCount(exporter, sum.version, sum.observationDomain);
    stats.templatesHeld += d.templates - had;
  }
}

/** Drops what this worker knows of exporter addresses the main thread evicted. */
function forget(exporters: readonly string[]): void {
  for (const exporter of exporters) {
    decoder.forgetExporter(exporter);
    validated.delete(exporter);
    for (const key of domainKeysOf.get(exporter) ?? []) {
      const d = domains.get(key);
      if (!d) continue;
      stats.templatesHeld -= d.templates;
      sequences.forget(exporter, d.version, d.observationDomain);
      domains.delete(key);
    }
    domainKeysOf.delete(exporter);
  }
}

function decoderFor(session: string): FlowDecoder | undefined {
  if (session === '') return decoder;
  let dec = sessions.get(session);
  if (!dec) {
    if (sessions.size >= init.maxTcpSessions) {
      stats.tcpSessionsRejected++;
      return undefined;
    }
    dec = pipeline.newDecoder();
    sessions.set(session, dec);
  }
  return dec;
}

function sendStats(): void {
  const errors: Record<string, number> = { ...retiredErrors };
  let heldExpired = 0;
  let misses = 0;
  for (const dec of [decoder, ...sessions.values()]) {
    for (const [k, n] of Object.entries(dec.stats)) {
      if (k === 'packets' || k === 'records' || k === 'templates' || k === 'held') continue;
      errors[k] = (errors[k] ?? 0) + n - (dec === decoder ? (learnOnlyErrors[k] ?? 0) : 0);
    }
    heldExpired += dec.stats['held-expired'] ?? 0;
    misses += dec.stats['template-missing'] ?? 0;
  }
  stats.errors = errors;
  stats.heldExpired = heldExpired + (retiredErrors['held-expired'] ?? 0);
  stats.templateMisses = misses + (retiredErrors['template-missing'] ?? 0);
  stats.samplingDefaulted = pipeline.sampling.defaulted;
  stats.tcpSessions = sessions.size;
  stats.cpuUs = threadCpuUs();
  const rates = decoder.samplingRates();
  const exporters: ExporterDomainStats[] = [];
  for (const d of domains.values()) {
    const rest = { ...d };
    const prefix = `${d.exporter}/${d.observationDomain}/`;
    for (const [k, r] of Object.entries(rates)) if (k.startsWith(prefix)) rest.samplingRate = r;
    exporters.push(rest);
  }
  post({ type: 'stats', stats, exporters });
}

const statsTimer = setInterval(sendStats, 1000);

/** A batch is done: its answers, and its payload buffer back (nothing here keeps a view of it: held sets are copies). */
function postDone(datagrams: number, answers: number[], payload: Uint8Array): void {
  const buffer = payload.buffer as ArrayBuffer;
  if (answers.length === 0) {
    post({ type: 'done', datagrams, payload: buffer }, [buffer]);
    return;
  }
  const list = Float64Array.from(answers);
  post({ type: 'done', datagrams, answers: list, payload: buffer }, [list.buffer, buffer]);
}

/** One exporter's part of the decoder state (templates, domains), for a handoff to other workers. */
function exporterState(exporter: string): string {
  const all = decoder.exportState() as { templates: { exporter: string }[]; domains: { exporter: string }[] };
  return JSON.stringify({
    ...all,
    templates: all.templates.filter((t) => t.exporter === exporter),
    domains: all.domains.filter((d) => d.exporter === exporter),
  });
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'datagrams': {
      const n = m.index.length / INDEX_STRIDE;
      // every ticket is answered, even unread, or the receiving thread's sequence accounting waits for it
      const answers: number[] = [];
      if (Atomics.load(abandon, 0) !== 0) {
        stats.abandoned += n;
        for (let at = 4; at < m.index.length; at += INDEX_STRIDE)
          if (m.index[at] > 0) answers.push(m.index[at], 0, 0);
        postDone(n, answers, m.payload);
        break;
      }
      const bytes = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
      const dec = decoderFor(m.session);
      for (let i = 0; i < n; i++) {
        const at = i * INDEX_STRIDE;
        const off = m.index[at];
        const len = m.index[at + 1];
        const receivedMs = m.index[at + 2];
        const exporter = m.exporters[m.index[at + 3]];
        const mark = m.index[at + 4];
        if (!dec) {
          if (mark > 0) answers.push(mark, 0, 0);
          continue;
        }
        const datagram = bytes.subarray(off, off + len);
        if (mark === LEARN_ONLY) {
          learnOnly(datagram, exporter, receivedMs, dec);
          continue;
        }
        const sum = pipeline.decode(datagram, exporter, receivedMs, dec);
        const counted = account(sum, exporter, receivedMs, dec, mark === 0);
        if (mark > 0) answers.push(mark, sum.dataRecords ?? sum.records, counted ? 1 : 0);
      }
      if (pipeline.pendingRows > 0 && !lingerTimer) lingerTimer = setTimeout(sendChunk, CHUNK_LINGER_MS);
      postDone(n, answers, m.payload);
      break;
    }
    case 'inventory': {
      const inv = parseInventory(m.text);
      if (inv.ok) pipeline.setInventory(inv.value);
      break;
    }
    case 'session-closed': {
      const dec = sessions.get(m.session);
      if (dec) {
        for (const [k, n] of Object.entries(dec.stats)) {
          if (k === 'packets' || k === 'records' || k === 'templates' || k === 'held') continue;
          retiredErrors[k] = (retiredErrors[k] ?? 0) + (n as number);
        }
        sessions.delete(m.session);
      }
      break;
    }
    case 'forget':
      forget(m.exporters);
      stateJson = undefined;
      break;
    case 'expire':
      decoder.expire(m.nowMs);
      for (const dec of sessions.values()) dec.expire(m.nowMs);
      break;
    case 'export-state':
      // serialised here, and only again once templates changed: a save every few seconds
      // must not cost the receiving thread (or this one) in proportion to what is held
      if (stateJson === undefined || decoder.stats.templates !== stateTemplates) {
        stateTemplates = decoder.stats.templates;
        stateJson = JSON.stringify(decoder.exportState());
      }
      post({ type: 'state', id: m.id, state: stateJson });
      break;
    case 'export-exporter-state':
      post({ type: 'state', id: m.id, state: exporterState(m.exporter) });
      break;
    case 'import-state':
      decoder.importState(m.state);
      break;
    case 'recycle':
      giveBack(m.buffers);
      break;
    case 'flush':
      sendChunk();
      sendStats();
      post({ type: 'flushed', id: m.id });
      break;
  }
});

port.once('close', () => clearInterval(statsTimer));
post({ type: 'ready' });
