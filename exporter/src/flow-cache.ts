/**
 * The exporter's flow cache for packet sources: packets in, finished FlowRecords out.
 *
 * A flow is identified by (tunnel type, VNI, IP version, inner source/destination address,
 * protocol, ports; for ICMP the type and code instead of ports, as softflowd does). The
 * tunnel endpoints of its first packet are kept with it. Counters: layer-3 bytes (inner IP
 * total length, as NetFlow counts) and packets; first/last from packet timestamps, so a
 * capture replays its real timeouts; union of TCP flags; ToS of the first packet.
 *
 * Expiry reasons are IPFIX flowEndReason (IE 136) values. Every flow sits on three
 * intrusive lists: by last packet (idle timeout, eviction when full), by first packet
 * (active timeout) and, once it saw FIN or RST, by that time (end of flow). Each list is in
 * time order, so expiry only looks at list heads: O(expired), never a scan.
 *
 * Lookup: a power-of-two array of chain heads indexed by a hash of the key (a plain array
 * load: measured faster than a Map keyed by the hash); entries compare the full hash and
 * then every key field, so a hash collision never merges two flows.
 */
import {
  END_ACTIVE,
  END_FORCED,
  END_IDLE,
  END_LACK_OF_RESOURCES,
  END_OF_FLOW,
} from '../../protocol/src/ie/flow-end-reason.ts';
import { emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import { macAt, wordsToAddress } from './packet/addr.ts';
import { FRAG_FIRST, FRAG_LATER, type PacketInfo } from './packet/packet-info.ts';

export interface FlowCacheOptions {
  /**
   * Export a long-lived flow after this long (ms). Default 60 s: the design hint in
   * ../shared/reference/protocols.md §4 for a vswitch exporter ("dashboards need
   * freshness"; VMware vDS also defaults to 60 s); Cisco-style routers use 30 min.
   */
  activeTimeoutMs?: number;
  /** Export a flow idle this long (ms). Default 15 s (protocols.md §4: ipt-netflow, FortiGate, vDS). */
  inactiveTimeoutMs?: number;
  /**
   * After a FIN or RST, export the flow this long (ms) after that packet, so the closing
   * ACKs still land in it. Default 2 s (protocols.md §4 suggests a 1–5 s grace).
   */
  finTimeoutMs?: number;
  /** Most flows held; a new flow beyond it evicts the least recently seen (reason 5). */
  maxFlows?: number;
  /** 1-in-N deterministic packet sampling (1 = every packet), stamped on every record. */
  samplingRate?: number;
}

export const FLOW_CACHE_DEFAULTS: Required<FlowCacheOptions> = {
  activeTimeoutMs: 60_000,
  inactiveTimeoutMs: 15_000,
  finTimeoutMs: 2_000,
  maxFlows: 65_536,
  samplingRate: 1,
};

export interface FlowCacheStats {
  /** packets accounted in flows */
  packets: number;
  flowsCreated: number;
  /** flows expired, indexed by end reason (1..5) */
  expired: number[];
  /** IPv4/IPv6 fragments after the first: attributed to their first fragment's ports when it was seen */
  laterFragments: number;
  laterFragmentsAttributed: number;
}

export interface FlowCache {
  /** true for the packets sampling keeps (call before parsing, to skip the rest cheaply) */
  sample(): boolean;
  /** accounts one parsed packet seen at `timeMs` (capture time); may expire older flows */
  add(p: PacketInfo, frame: Uint8Array, timeMs: number): void;
  /** expires what is due at `nowMs` (packet clock; a live source ticks it with wall time) */
  expire(nowMs: number): void;
  /** expires every flow (end of file, shutdown) */
  flush(reason?: number): void;
  /** records expired since the last call, in expiry order */
  drain(): FlowRecord[];
  readonly size: number;
  /** the packet clock: the latest time seen */
  readonly now: number;
  readonly stats: FlowCacheStats;
  readonly options: Readonly<Required<FlowCacheOptions>>;
}

const TCP_FIN = 0x01;
const TCP_RST = 0x04;
const MAX_FRAGMENT_MEMORY = 4096;

class FlowEntry {
  hash = 0;
  hashNext: FlowEntry | null = null;
  lruPrev: FlowEntry | null = null;
  lruNext: FlowEntry | null = null;
  agePrev: FlowEntry | null = null;
  ageNext: FlowEntry | null = null;
  endPrev: FlowEntry | null = null;
  endNext: FlowEntry | null = null;
  /** time of the first FIN/RST, -1 = none */
  endSeen = -1;
  // key
  tunnelType = 0;
  vni = 0;
  ipVersion = 0;
  proto = 0;
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  srcPort = 0;
  dstPort = 0;
  icmpType = 0;
  icmpCode = 0;
  // values
  first = 0;
  last = 0;
  bytes = 0;
  packets = 0;
  tcpFlags = 0;
  tos = 0;
  vlan = 0;
  srcMac = 0;
  dstMac = 0;
  outerVersion = 0;
  outerSrc0 = 0;
  outerSrc1 = 0;
  outerSrc2 = 0;
  outerSrc3 = 0;
  outerDst0 = 0;
  outerDst1 = 0;
  outerDst2 = 0;
  outerDst3 = 0;
}

function hashKey(p: PacketInfo): number {
  let h = Math.imul(p.vni ^ (p.tunnelType << 24) ^ (p.proto << 16) ^ p.ipVersion, 0x9e3779b1);
  h = Math.imul(h ^ p.src0, 0x85ebca6b);
  h = Math.imul(h ^ p.dst0, 0xc2b2ae35);
  h = Math.imul(h ^ ((p.srcPort << 16) | p.dstPort), 0x27d4eb2f);
  h = Math.imul(h ^ ((p.icmpType << 8) | p.icmpCode), 0x165667b1);
  if (p.ipVersion === 6) {
    h = Math.imul(h ^ p.src1, 0x85ebca6b);
    h = Math.imul(h ^ p.src2, 0xc2b2ae35);
    h = Math.imul(h ^ p.src3, 0x27d4eb2f);
    h = Math.imul(h ^ p.dst1, 0x85ebca6b);
    h = Math.imul(h ^ p.dst2, 0xc2b2ae35);
    h = Math.imul(h ^ p.dst3, 0x27d4eb2f);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

function sameKey(e: FlowEntry, p: PacketInfo): boolean {
  return (
    e.src0 === p.src0 &&
    e.dst0 === p.dst0 &&
    e.srcPort === p.srcPort &&
    e.dstPort === p.dstPort &&
    e.proto === p.proto &&
    e.vni === p.vni &&
    e.tunnelType === p.tunnelType &&
    e.ipVersion === p.ipVersion &&
    e.icmpType === p.icmpType &&
    e.icmpCode === p.icmpCode &&
    e.src1 === p.src1 &&
    e.src2 === p.src2 &&
    e.src3 === p.src3 &&
    e.dst1 === p.dst1 &&
    e.dst2 === p.dst2 &&
    e.dst3 === p.dst3
  );
}

class Cache implements FlowCache {
  readonly options: Readonly<Required<FlowCacheOptions>>;
  readonly stats: FlowCacheStats = {
    packets: 0,
    flowsCreated: 0,
    expired: [0, 0, 0, 0, 0, 0],
    laterFragments: 0,
    laterFragmentsAttributed: 0,
  };
  now = Number.NEGATIVE_INFINITY;
  size = 0;
  /** chain heads, indexed by hash & mask */
  private readonly heads: (FlowEntry | null)[];
  private readonly mask: number;
  private lruHead: FlowEntry | null = null;
  private lruTail: FlowEntry | null = null;
  private ageHead: FlowEntry | null = null;
  private ageTail: FlowEntry | null = null;
  private endHead: FlowEntry | null = null;
  private endTail: FlowEntry | null = null;
  private pending: FlowRecord[] = [];
  private sampleCounter = 0;
  /** first fragment's ports by (addresses, id, protocol), oldest first, bounded */
  private readonly fragmentPorts = new Map<string, number>();
  private readonly active: number;
  private readonly inactive: number;
  private readonly finGrace: number;
  private readonly maxFlows: number;
  private readonly rate: number;

  constructor(options: FlowCacheOptions) {
    const o = { ...FLOW_CACHE_DEFAULTS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, number>)[k] = v;
    for (const [k, v] of Object.entries(o)) {
      if (!Number.isFinite(v) || v < 0)
        throw new RangeError(`flow cache: ${k} must be a number >= 0, got ${v}`);
    }
    if (o.maxFlows < 1) throw new RangeError('flow cache: maxFlows must be at least 1');
    if (o.samplingRate < 1 || !Number.isInteger(o.samplingRate))
      throw new RangeError('flow cache: samplingRate must be an integer >= 1');
    this.options = Object.freeze(o);
    this.active = o.activeTimeoutMs;
    this.inactive = o.inactiveTimeoutMs;
    this.finGrace = o.finTimeoutMs;
    this.maxFlows = o.maxFlows;
    this.rate = o.samplingRate;
    // about two buckets per flow, capped so a huge maxFlows does not preallocate gigabytes
    let buckets = 1024;
    while (buckets < o.maxFlows * 2 && buckets < 1 << 22) buckets *= 2;
    this.heads = new Array<FlowEntry | null>(buckets).fill(null);
    this.mask = buckets - 1;
  }

  sample(): boolean {
    if (this.rate === 1) return true;
    const keep = this.sampleCounter === 0;
    this.sampleCounter = keep ? this.rate - 1 : this.sampleCounter - 1;
    return keep;
  }

  add(p: PacketInfo, frame: Uint8Array, timeMs: number): void {
    if (timeMs > this.now) {
      this.now = timeMs;
      this.expire(timeMs);
    }
    if (p.fragment !== 0) this.attributeFragment(p);
    const h = hashKey(p);
    let e = this.heads[h & this.mask];
    while (e !== null && (e.hash !== h || !sameKey(e, p))) e = e.hashNext;
    if (e === null) {
      if (this.size >= this.maxFlows && this.lruHead !== null)
        this.remove(this.lruHead, END_LACK_OF_RESOURCES);
      e = this.create(p, frame, timeMs, h);
    } else {
      if (timeMs > e.last) e.last = timeMs;
      this.touch(e);
    }
    e.bytes += p.ipLength;
    e.packets++;
    const flags = p.tcpFlags;
    if (flags !== 0) {
      e.tcpFlags |= flags;
      if ((flags & (TCP_FIN | TCP_RST)) !== 0 && e.endSeen < 0) {
        e.endSeen = this.now;
        this.appendEnd(e);
      }
    }
    this.stats.packets++;
  }

  expire(nowMs: number): void {
    if (nowMs > this.now) this.now = nowMs;
    const inactive = this.inactive;
    while (this.lruHead !== null && this.lruHead.last + inactive <= nowMs)
      this.remove(this.lruHead, END_IDLE);
    const active = this.active;
    while (this.ageHead !== null && this.ageHead.first + active <= nowMs)
      this.remove(this.ageHead, END_ACTIVE);
    const grace = this.finGrace;
    while (this.endHead !== null && this.endHead.endSeen + grace <= nowMs)
      this.remove(this.endHead, END_OF_FLOW);
  }

  flush(reason = END_FORCED): void {
    while (this.lruHead !== null) this.remove(this.lruHead, reason);
  }

  drain(): FlowRecord[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  private attributeFragment(p: PacketInfo): void {
    const key = `${p.tunnelType}:${p.vni}|${p.ipVersion}|${p.src0},${p.src1},${p.src2},${p.src3}|${p.dst0},${p.dst1},${p.dst2},${p.dst3}|${p.proto}|${p.fragmentId}`;
    if (p.fragment === FRAG_FIRST) {
      if (this.fragmentPorts.size >= MAX_FRAGMENT_MEMORY) {
        const oldest = this.fragmentPorts.keys().next().value;
        if (oldest !== undefined) this.fragmentPorts.delete(oldest);
      }
      this.fragmentPorts.set(key, p.srcPort * 65536 + p.dstPort);
    } else if (p.fragment === FRAG_LATER) {
      this.stats.laterFragments++;
      const ports = this.fragmentPorts.get(key);
      if (ports !== undefined) {
        p.srcPort = Math.floor(ports / 65536);
        p.dstPort = ports % 65536;
        this.stats.laterFragmentsAttributed++;
      }
    }
  }

  private create(p: PacketInfo, frame: Uint8Array, t: number, h: number): FlowEntry {
    const e = new FlowEntry();
    const bucket = h & this.mask;
    e.hash = h;
    e.hashNext = this.heads[bucket];
    this.heads[bucket] = e;
    e.tunnelType = p.tunnelType;
    e.vni = p.vni;
    e.ipVersion = p.ipVersion;
    e.proto = p.proto;
    e.src0 = p.src0;
    e.src1 = p.src1;
    e.src2 = p.src2;
    e.src3 = p.src3;
    e.dst0 = p.dst0;
    e.dst1 = p.dst1;
    e.dst2 = p.dst2;
    e.dst3 = p.dst3;
    e.srcPort = p.srcPort;
    e.dstPort = p.dstPort;
    e.icmpType = p.icmpType;
    e.icmpCode = p.icmpCode;
    e.first = t;
    e.last = t;
    e.tos = p.tos;
    e.vlan = p.vlan;
    if (p.macOffset >= 0 && p.macOffset + 12 <= frame.length) {
      e.dstMac = macAt(frame, p.macOffset);
      e.srcMac = macAt(frame, p.macOffset + 6);
    }
    e.outerVersion = p.outerVersion;
    if (p.outerVersion !== 0) {
      e.outerSrc0 = p.outerSrc0;
      e.outerSrc1 = p.outerSrc1;
      e.outerSrc2 = p.outerSrc2;
      e.outerSrc3 = p.outerSrc3;
      e.outerDst0 = p.outerDst0;
      e.outerDst1 = p.outerDst1;
      e.outerDst2 = p.outerDst2;
      e.outerDst3 = p.outerDst3;
    }
    // lru tail
    e.lruPrev = this.lruTail;
    if (this.lruTail !== null) this.lruTail.lruNext = e;
    else this.lruHead = e;
    this.lruTail = e;
    // age tail
    e.agePrev = this.ageTail;
    if (this.ageTail !== null) this.ageTail.ageNext = e;
    else this.ageHead = e;
    this.ageTail = e;
    this.size++;
    this.stats.flowsCreated++;
    return e;
  }

  /** moves a flow to the most-recently-seen end */
  private touch(e: FlowEntry): void {
    if (this.lruTail === e) return;
    const prev = e.lruPrev;
    const next = e.lruNext as FlowEntry; // not the tail, so it has a successor
    if (prev !== null) prev.lruNext = next;
    else this.lruHead = next;
    next.lruPrev = prev;
    e.lruPrev = this.lruTail;
    e.lruNext = null;
    (this.lruTail as FlowEntry).lruNext = e;
    this.lruTail = e;
  }

  private appendEnd(e: FlowEntry): void {
    e.endPrev = this.endTail;
    if (this.endTail !== null) this.endTail.endNext = e;
    else this.endHead = e;
    this.endTail = e;
  }

  private remove(e: FlowEntry, reason: number): void {
    // hash chain
    const bucket = e.hash & this.mask;
    const head = this.heads[bucket];
    if (head === e) {
      this.heads[bucket] = e.hashNext;
    } else {
      let c = head;
      while (c !== null && c.hashNext !== e) c = c.hashNext;
      if (c !== null) c.hashNext = e.hashNext;
    }
    e.hashNext = null;
    // lru
    if (e.lruPrev !== null) e.lruPrev.lruNext = e.lruNext;
    else this.lruHead = e.lruNext;
    if (e.lruNext !== null) e.lruNext.lruPrev = e.lruPrev;
    else this.lruTail = e.lruPrev;
    // age
    if (e.agePrev !== null) e.agePrev.ageNext = e.ageNext;
    else this.ageHead = e.ageNext;
    if (e.ageNext !== null) e.ageNext.agePrev = e.agePrev;
    else this.ageTail = e.agePrev;
    // end of flow
    if (e.endSeen >= 0) {
      if (e.endPrev !== null) e.endPrev.endNext = e.endNext;
      else this.endHead = e.endNext;
      if (e.endNext !== null) e.endNext.endPrev = e.endPrev;
      else this.endTail = e.endPrev;
      // whatever ended it, a flow that saw FIN/RST ended by itself (as ipt-netflow reports)
      if (reason === END_IDLE) reason = END_OF_FLOW;
    }
    this.size--;
    this.stats.expired[reason]++;
    this.pending.push(this.toRecord(e, reason));
  }

  private toRecord(e: FlowEntry, reason: number): FlowRecord {
    const r = emptyFlow();
    r.flow_start = Math.floor(e.first);
    r.flow_end = Math.floor(e.last);
    r.src_addr = wordsToAddress(e.ipVersion, e.src0, e.src1, e.src2, e.src3);
    r.dst_addr = wordsToAddress(e.ipVersion, e.dst0, e.dst1, e.dst2, e.dst3);
    r.src_port = e.srcPort;
    r.dst_port = e.dstPort;
    r.proto = e.proto;
    r.tcp_flags = e.tcpFlags;
    r.tos = e.tos;
    r.icmp_type = e.icmpType;
    r.icmp_code = e.icmpCode;
    r.ip_version = e.ipVersion;
    r.bytes = e.bytes;
    r.packets = e.packets;
    r.sampling_rate = this.rate;
    r.vlan = e.vlan;
    r.src_mac = e.srcMac;
    r.dst_mac = e.dstMac;
    r.flow_end_reason = reason;
    r.vni = e.vni;
    r.tunnel_type = e.tunnelType;
    if (e.outerVersion !== 0) {
      r.tunnel_src = wordsToAddress(e.outerVersion, e.outerSrc0, e.outerSrc1, e.outerSrc2, e.outerSrc3);
      r.tunnel_dst = wordsToAddress(e.outerVersion, e.outerDst0, e.outerDst1, e.outerDst2, e.outerDst3);
    }
    return r;
  }
}

/** A flow cache; throws RangeError on options out of range (programmer/config error). */
export function createFlowCache(options: FlowCacheOptions = {}): FlowCache {
  return new Cache(options);
}
