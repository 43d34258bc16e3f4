/**
 * The addresses the collector takes datagrams from, bounded (collector.limits.maxExporters)
 * so forged source addresses cannot grow memory, and evicting so they cannot lock real
 * exporters out either: 10 000 junk datagrams from 10 000 addresses used to fill the table
 * for good, after which every new exporter was refused until a restart.
 *
 * An address enters as a candidate. It becomes an exporter when a decode worker reports
 * that one of its datagrams decoded as NetFlow/IPFIX (markExporter). When the table is
 * full, a newcomer takes the place of the oldest candidate (an address whose every
 * datagram so far failed to decode), else of an exporter idle for idleMs; only when
 * neither exists is it refused (counted by the caller). Work per datagram is one map
 * lookup; a full table of busy exporters is scanned at most once per idle period.
 */

export interface ExporterEntry {
  /** the decode worker this address's datagrams go to */
  readonly worker: number;
  lastSeenMs: number;
  exporter: boolean;
}

export type EvictionReason = 'never-valid' | 'idle';

export interface ExporterTable {
  /** the entry for a datagram from `address`, admitting it if there is room; undefined = refused */
  admit(address: string, nowMs: number): ExporterEntry | undefined;
  /** a worker decoded a datagram from `address`: it is an exporter now (admitted if it was evicted meanwhile) */
  markExporter(address: string, nowMs: number): void;
  has(address: string): boolean;
  readonly size: number;
  readonly exporters: number;
  readonly candidates: number;
}

export function createExporterTable(opts: {
  max: number;
  idleMs: number;
  route: (address: string) => number;
  onEvict: (address: string, reason: EvictionReason) => void;
}): ExporterTable {
  const entries = new Map<string, ExporterEntry>();
  /** the entries that are not exporters yet, oldest first */
  const candidates = new Set<string>();
  let exporters = 0;
  /** no exporter can have been idle for idleMs before this time (saves rescanning) */
  let noIdleBefore = 0;

  function evict(address: string, reason: EvictionReason): void {
    const e = entries.get(address);
    if (!e) return;
    entries.delete(address);
    if (e.exporter) exporters--;
    else candidates.delete(address);
    opts.onEvict(address, reason);
  }

  function makeRoom(nowMs: number): boolean {
    const oldest = candidates.values().next();
    if (!oldest.done) {
      evict(oldest.value, 'never-valid');
      return true;
    }
    if (nowMs < noIdleBefore) return false;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [address, e] of entries) {
      if (nowMs - e.lastSeenMs >= opts.idleMs) {
        evict(address, 'idle');
        return true;
      }
      if (e.lastSeenMs < earliest) earliest = e.lastSeenMs;
    }
    noIdleBefore = earliest + opts.idleMs;
    return false;
  }

  function add(address: string, nowMs: number, exporter: boolean): ExporterEntry | undefined {
    if (entries.size >= opts.max && !makeRoom(nowMs)) return undefined;
    const e: ExporterEntry = { worker: opts.route(address), lastSeenMs: nowMs, exporter };
    entries.set(address, e);
    if (exporter) exporters++;
    else candidates.add(address);
    return e;
  }

  return {
    admit(address, nowMs) {
      const e = entries.get(address);
      if (e) {
        e.lastSeenMs = nowMs;
        return e;
      }
      return add(address, nowMs, false);
    },
    markExporter(address, nowMs) {
      const e = entries.get(address);
      if (!e) {
        add(address, nowMs, true);
        return;
      }
      if (e.exporter) return;
      e.exporter = true;
      candidates.delete(address);
      exporters++;
    },
    has: (address) => entries.has(address),
    get size() {
      return entries.size;
    },
    get exporters() {
      return exporters;
    },
    get candidates() {
      return candidates.size;
    },
  };
}
