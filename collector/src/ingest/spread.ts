/**
 * One exporter over several decode workers (collector.spread). The receiving thread keeps
 * what must stay in one place when an exporter's datagrams are decoded on several threads:
 *   - which exporters are spread ('auto': once one sends more than
 *     spreadAboveDatagramsPerSecond; 'always': every UDP exporter from its first datagram),
 *   - their sequence accounting: each spread datagram gets a ticket in arrival order; the
 *     worker that decodes it answers with its record count, and the answers are fed to one
 *     sequence tracker in ticket order, so loss is counted exactly as one worker would,
 *   - their per-domain stats, summed over the workers (each reports only its share).
 * The datagram routing that uses it is in worker-pool.ts.
 */
import { createSequenceTracker } from '../../../protocol/src/decode/index.ts';
import type { DatagramPeek } from '../../../protocol/src/decode/peek.ts';
import type { ExporterDomainStats, WorkerStats } from './worker-protocol.ts';

export type SpreadMode = 'auto' | 'always' | 'off';

/** An exporter's place: all on its home worker, being handed over, or over every worker. */
export type SpreadState = 'home' | 'handoff' | 'spread';

export interface SpreadOptions {
  mode: SpreadMode;
  /** 'auto' spreads an exporter whose datagrams per second, over a one-second window, exceed this */
  aboveDatagramsPerSecond: number;
  /** sequence streams tracked (collector.limits.maxExporters) */
  maxStreams: number;
}

interface ExporterRate {
  state: SpreadState;
  windowStartMs: number;
  count: number;
  /** no new handoff before this time (one that failed waits a window) */
  retryAfterMs: number;
}

/** One exporter + version + domain whose sequence is counted here. */
interface Stream {
  exporter: string;
  version: number;
  domain: number;
}

interface Loss {
  lostPackets: number;
  lostRecords: number;
  reordered: number;
}

/** answers waited for beyond this (a worker that died) are given up, oldest first */
const MAX_WAITING = 200_000;

export interface Spreader {
  /** counts one datagram of `exporter` and says where it goes; 'handoff' = start one now */
  place(exporter: string, nowMs: number): SpreadState | 'start-handoff';
  handoffDone(exporter: string): void;
  handoffFailed(exporter: string, nowMs: number): void;
  /** the ticket the next spread datagram will carry */
  readonly nextTicket: number;
  /** the datagram carrying nextTicket was queued */
  ticketQueued(exporter: string, peek: DatagramPeek): void;
  /** a worker's answers: [ticket, data records, 1 = counted (a flow datagram) / 0 = not] per datagram */
  answers(list: Float64Array): void;
  /** every exporter ever spread (their per-domain stats are merged) */
  isSpread(exporter: string): boolean;
  /** worker w's stats with its exporters' domains; spread exporters' domains replaced by their sums */
  mergeStats(
    w: number,
    stats: WorkerStats,
    exporters: ExporterDomainStats[],
  ): {
    stats: WorkerStats;
    exporters: ExporterDomainStats[];
  };
  forget(exporters: readonly string[]): void;
  readonly spreadCount: number;
  /** answers still awaited (for tests) */
  readonly waiting: number;
}

export function createSpreader(opts: SpreadOptions): Spreader {
  const rates = new Map<string, ExporterRate>();
  const tracker = createSequenceTracker({ maxStreams: opts.maxStreams });
  let nextTicket = 1;
  /**
   * The tickets not yet fed to the tracker, nextObserved onwards, in parallel arrays from
   * `head` (no object or map entry per datagram: this runs on the receiving thread).
   * records[i] is NaN until its worker answers.
   */
  let nextObserved = 1;
  let head = 0;
  let streamOf: Stream[] = [];
  let sequenceOf: number[] = [];
  let recordsOf: number[] = [];
  let countedOf: number[] = [];
  let answered = 0;
  /** the stream of the last ticket, so a run of one exporter's datagrams finds it without a lookup */
  let last: Stream | undefined;
  const streams = new Map<string, Stream>();
  const loss = new Map<string, Loss>();
  const total: Loss = { lostPackets: 0, lostRecords: 0, reordered: 0 };
  /** per domain key of spread exporters: each worker's last report */
  const reports = new Map<string, (ExporterDomainStats | undefined)[]>();
  let spreadCount = 0;

  function observe(t: Stream, sequence: number, records: number, counted: number): void {
    if (!counted) return;
    const v = tracker.observe(t.exporter, t.version, t.domain, sequence, records);
    if (v.lost === 0 && !v.reordered) return;
    const key = `${t.exporter}/${t.version}/${t.domain}`;
    let l = loss.get(key);
    if (!l) {
      l = { lostPackets: 0, lostRecords: 0, reordered: 0 };
      loss.set(key, l);
    }
    // the same split as a worker's own accounting (decode-worker.ts)
    if (t.version === 9) {
      l.lostPackets += v.lost;
      total.lostPackets += v.lost;
    } else {
      l.lostRecords += v.lost;
      total.lostRecords += v.lost;
    }
    if (v.reordered) {
      l.reordered++;
      total.reordered++;
    }
  }

  function drain(): void {
    const end = streamOf.length;
    while (head < end) {
      const records = recordsOf[head];
      if (Number.isNaN(records)) {
        // a worker that will never answer must not hold the accounting (or memory) for ever
        if (answered <= MAX_WAITING) break;
      } else {
        answered--;
        observe(streamOf[head], sequenceOf[head], records, countedOf[head]);
      }
      head++;
      nextObserved++;
    }
    if (head > 4096 && head * 2 > end) {
      streamOf = streamOf.slice(head);
      sequenceOf = sequenceOf.slice(head);
      recordsOf = recordsOf.slice(head);
      countedOf = countedOf.slice(head);
      head = 0;
    }
  }

  function streamFor(exporter: string, version: number, domain: number): Stream {
    if (last && last.exporter === exporter && last.version === version && last.domain === domain) return last;
    const key = `${exporter}/${version}/${domain}`;
    let st = streams.get(key);
    if (!st) {
      st = { exporter, version, domain };
      streams.set(key, st);
    }
    last = st;
    return st;
  }

  function merge(key: string, own: ExporterDomainStats): ExporterDomainStats {
    const list = reports.get(key) ?? [];
    const out: ExporterDomainStats = {
      ...own,
      packets: 0,
      records: 0,
      errors: 0,
      lostPackets: 0,
      lostRecords: 0,
      reordered: 0,
    };
    for (const r of list) {
      if (!r) continue;
      out.packets += r.packets;
      out.records += r.records;
      out.errors += r.errors;
      out.lostPackets += r.lostPackets;
      out.lostRecords += r.lostRecords;
      out.reordered += r.reordered;
      out.templates = Math.max(out.templates, r.templates);
      if (r.samplingRate > 0) out.samplingRate = r.samplingRate;
      out.firstSeenMs = Math.min(out.firstSeenMs, r.firstSeenMs);
      out.lastSeenMs = Math.max(out.lastSeenMs, r.lastSeenMs);
    }
    const l = loss.get(key);
    if (l) {
      out.lostPackets += l.lostPackets;
      out.lostRecords += l.lostRecords;
      out.reordered += l.reordered;
    }
    return out;
  }

  return {
    place(exporter, nowMs) {
      let r = rates.get(exporter);
      if (!r) {
        r = {
          state: opts.mode === 'always' ? 'spread' : 'home',
          windowStartMs: nowMs,
          count: 0,
          retryAfterMs: 0,
        };
        if (r.state === 'spread') spreadCount++;
        rates.set(exporter, r);
      }
      if (r.state !== 'home') return r.state;
      r.count++;
      const elapsed = nowMs - r.windowStartMs;
      if (elapsed < 1000) return 'home';
      const perSecond = (r.count * 1000) / elapsed;
      r.windowStartMs = nowMs;
      r.count = 0;
      if (opts.mode !== 'auto' || perSecond <= opts.aboveDatagramsPerSecond || nowMs < r.retryAfterMs)
        return 'home';
      r.state = 'handoff';
      return 'start-handoff';
    },
    handoffDone(exporter) {
      const r = rates.get(exporter);
      if (r?.state !== 'handoff') return;
      r.state = 'spread';
      spreadCount++;
    },
    handoffFailed(exporter, nowMs) {
      const r = rates.get(exporter);
      if (r?.state !== 'handoff') return;
      r.state = 'home';
      r.retryAfterMs = nowMs + 1000;
    },
    get nextTicket() {
      return nextTicket;
    },
    ticketQueued(exporter, peek) {
      nextTicket++;
      streamOf.push(streamFor(exporter, peek.version, peek.observationDomain));
      sequenceOf.push(peek.sequence);
      recordsOf.push(Number.NaN);
      countedOf.push(0);
    },
    answers(list) {
      for (let i = 0; i + 2 < list.length; i += 3) {
        const at = head + (list[i] - nextObserved);
        // an answer for a ticket already given up on has no slot left
        if (at < head || at >= streamOf.length || !Number.isNaN(recordsOf[at])) continue;
        recordsOf[at] = list[i + 1];
        countedOf[at] = list[i + 2];
        answered++;
      }
      drain();
    },
    isSpread: (exporter) => {
      const s = rates.get(exporter)?.state;
      return s === 'spread' || s === 'handoff';
    },
    mergeStats(w, stats, exporters) {
      const out: ExporterDomainStats[] = [];
      for (const e of exporters) {
        const key = `${e.exporter}/${e.version}/${e.observationDomain}`;
        if (!this.isSpread(e.exporter) && !reports.has(key)) {
          out.push(e);
          continue;
        }
        let list = reports.get(key);
        if (!list) {
          list = [];
          reports.set(key, list);
        }
        list[w] = e;
        out.push(merge(key, e));
      }
      // the central loss counts appear once, in worker 0's counters (they are cumulative)
      if (w !== 0 || (total.lostPackets === 0 && total.lostRecords === 0 && total.reordered === 0))
        return { stats, exporters: out };
      return {
        stats: {
          ...stats,
          lostPackets: stats.lostPackets + total.lostPackets,
          lostRecords: stats.lostRecords + total.lostRecords,
          reordered: stats.reordered + total.reordered,
        },
        exporters: out,
      };
    },
    forget(exporters) {
      for (const exporter of exporters) {
        const r = rates.get(exporter);
        if (!r) continue;
        rates.delete(exporter);
        if (r.state === 'home') continue;
        last = undefined;
        if (r.state === 'spread') spreadCount--;
        for (const key of [...reports.keys(), ...loss.keys()]) {
          if (!key.startsWith(`${exporter}/`)) continue;
          reports.delete(key);
          loss.delete(key);
          streams.delete(key);
          const [, version, domain] = key.split('/');
          tracker.forget(exporter, Number(version), Number(domain));
        }
      }
    },
    get spreadCount() {
      return spreadCount;
    },
    get waiting() {
      return streamOf.length - head;
    },
  };
}
