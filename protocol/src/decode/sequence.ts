/**
 * Loss accounting from header sequence numbers, per (exporter, version, domain), with each
 * protocol's definition of the counter:
 *   v5    flow_sequence = flows seen before this packet      → next = seq + records
 *   v9    packet counter per Source ID (RFC 3954 §5.1)        → next = seq + 1
 *   IPFIX data records sent before this message, mod 2^32    → next = seq + records
 * softflowd's IPFIX counts the current message's own records too; a stream whose gaps match
 * that reading is switched to it instead of reporting loss that never happened.
 */

export interface SequenceStats {
  exporter: string;
  version: number;
  domain: number;
  packets: number;
  /** missing packets (v9) or records (v5, IPFIX) */
  lost: number;
  unit: 'packets' | 'records';
  /** packets that arrived after a later one */
  reordered: number;
  /** jumps too large to be loss: exporter restarts */
  resets: number;
}

export interface SequenceObservation {
  lost: number;
  reordered: boolean;
  reset: boolean;
}

export interface SequenceTracker {
  /** `records`: data records in the packet (v5: flows; IPFIX: flow and options data records) */
  observe(
    exporter: string,
    version: number,
    domain: number,
    sequence: number,
    records: number,
  ): SequenceObservation;
  stats(): SequenceStats[];
  /** forget one stream (e.g. when its exporter is removed) */
  forget(exporter: string, version: number, domain: number): void;
}

export interface SequenceTrackerOptions {
  /** a forward jump larger than this many units is a restart, not loss (default 1000 packets / 1 000 000 records) */
  maxGapPackets?: number;
  maxGapRecords?: number;
  /** streams tracked (default 100 000); beyond it the oldest is forgotten */
  maxStreams?: number;
}

interface Stream extends SequenceStats {
  expected: number;
  lastSeq: number;
  lastRecords: number;
  /** softflowd's IPFIX: the header already includes this message's records */
  includesOwn: boolean;
}

const MOD = 4294967296;

/** signed distance a - b on a 32-bit ring */
function ringDelta(a: number, b: number): number {
  const d = (a - b) % MOD;
  const u = d < 0 ? d + MOD : d;
  return u >= MOD / 2 ? u - MOD : u;
}

export function createSequenceTracker(options: SequenceTrackerOptions = {}): SequenceTracker {
  const maxGapPackets = options.maxGapPackets ?? 1000;
  const maxGapRecords = options.maxGapRecords ?? 1_000_000;
  const maxStreams = options.maxStreams ?? 100_000;
  const streams = new Map<string, Stream>();

  return {
    observe(exporter, version, domain, sequence, records) {
      const key = `${exporter}|${version}|${domain}`;
      const seq = sequence >>> 0;
      let s = streams.get(key);
      const perPacket = version === 9;
      const step = perPacket ? 1 : records;
      if (!s) {
        if (streams.size >= maxStreams) streams.delete(streams.keys().next().value as string);
        s = {
          exporter,
          version,
          domain,
          packets: 1,
          lost: 0,
          unit: perPacket ? 'packets' : 'records',
          reordered: 0,
          resets: 0,
          expected: (seq + step) % MOD,
          lastSeq: seq,
          lastRecords: records,
          includesOwn: false,
        };
        streams.set(key, s);
        return { lost: 0, reordered: false, reset: false };
      }
      s.packets++;
      const maxGap = perPacket ? maxGapPackets : maxGapRecords;
      let expected = s.expected;
      if (s.includesOwn) expected = (s.lastSeq + records) % MOD;
      let delta = ringDelta(seq, expected);
      if (delta !== 0 && version === 10 && !s.includesOwn && ringDelta(seq, s.lastSeq) === records) {
        // softflowd: sequence = previous + this message's records. Switch the stream over.
        s.includesOwn = true;
        delta = 0;
      }
      const out: SequenceObservation = { lost: 0, reordered: false, reset: false };
      if (delta === 0) {
        // in order
      } else if (delta > 0 && delta <= maxGap) {
        s.lost += delta;
        out.lost = delta;
      } else if (delta < 0 && -delta <= (perPacket ? 100 : 10_000)) {
        // a late packet (within a short window back): it was counted as lost when the gap opened
        s.reordered++;
        out.reordered = true;
        const units = perPacket ? 1 : records;
        s.lost = Math.max(0, s.lost - units);
        return out;
      } else {
        s.resets++;
        out.reset = true;
      }
      s.lastSeq = seq;
      s.lastRecords = records;
      s.expected = s.includesOwn ? seq : (seq + step) % MOD;
      return out;
    },
    stats() {
      return [...streams.values()].map(
        ({ exporter, version, domain, packets, lost, unit, reordered, resets }) => ({
          exporter,
          version,
          domain,
          packets,
          lost,
          unit,
          reordered,
          resets,
        }),
      );
    },
    forget(exporter, version, domain) {
      streams.delete(`${exporter}|${version}|${domain}`);
    },
  };
}
