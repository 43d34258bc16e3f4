/**
 * NetFlow v5 encoder, for collectors that know nothing newer. IPv4 only, no VNI.
 *
 * Header (24 octets): version=5 (2) | count (2) | SysUptime (4) | unix_secs (4) |
 *   unix_nsecs (4) | flow_sequence (4) | engine_type (1) | engine_id (1) |
 *   sampling_interval (2: mode in the top 2 bits, interval in the low 14)
 * Record (48 octets): srcaddr (4) | dstaddr (4) | nexthop (4) | input (2) | output (2) |
 *   dPkts (4) | dOctets (4) | First (4) | Last (4) | srcport (2) | dstport (2) | pad1 (1) |
 *   tcp_flags (1) | prot (1) | tos (1) | src_as (2) | dst_as (2) | src_mask (1) |
 *   dst_mask (1) | pad2 (2)
 * flow_sequence = flows sent before this packet; at most 30 records per packet.
 * IPv6 flows cannot be carried: they are left out and counted in stats.skipped.
 * Counters above 2^32-1 are split over several records, as Open vSwitch does, so totals
 * stay right. ICMP type/code go in dstport as type<<8|code (softflowd, OVS, pmacct).
 */
import type { FlowRecord } from '../schema/columns.ts';
import type { EncoderStats, FlowEncoder } from './api.ts';
import { writeIPv4 } from '../schema/ip.ts';
import { isIPv6Flow } from './templates.ts';

export const V5_HEADER_LENGTH = 24;
export const V5_RECORD_LENGTH = 48;
export const V5_MAX_RECORDS = 30;
const U32_MAX = 0xffffffff;
/**
 * Most records one flow is split into (about 1 TiB at 2^32-1 octets each): a 64-bit
 * counter near 2^64 would otherwise become 2^32 records. Beyond it the parts saturate.
 */
export const V5_MAX_SPLIT = 256;
/** AS_TRANS (RFC 6793): what a 2-octet AS field carries for a 4-octet AS */
const AS_TRANS = 23456;

export interface V5Options {
  mtu: number;
  /** engine_type << 8 | engine_id */
  observationDomain: number;
  bootTimeMs: number;
  samplingInterval: number;
}

export function createNetflowV5Encoder(o: V5Options): FlowEncoder {
  const perPacket = Math.min(V5_MAX_RECORDS, Math.floor((o.mtu - V5_HEADER_LENGTH) / V5_RECORD_LENGTH));
  if (perPacket < 1 || o.mtu > 65535) {
    throw new RangeError(`mtu ${o.mtu} out of range: NetFlow v5 needs 72..65535 octets`);
  }
  const buf = Buffer.alloc(V5_HEADER_LENGTH + perPacket * V5_RECORD_LENGTH);
  const stats: EncoderStats = { packets: 0, octets: 0, records: 0, templatePackets: 0, skipped: 0 };
  const samplingField = o.samplingInterval > 1 ? (1 << 14) | Math.min(o.samplingInterval, 0x3fff) : 0;
  let flowSequence = 0;
  let out: Buffer[] = [];
  let now = 0;
  let count = 0;

  function flush(): void {
    if (count === 0) return;
    const secs = Math.floor(now / 1000);
    buf.writeUInt16BE(5, 0);
    buf.writeUInt16BE(count, 2);
    buf.writeUInt32BE((now - o.bootTimeMs) >>> 0, 4);
    buf.writeUInt32BE(secs >>> 0, 8);
    buf.writeUInt32BE(Math.round((now - secs * 1000) * 1e6) >>> 0, 12);
    buf.writeUInt32BE(flowSequence, 16);
    buf[20] = (o.observationDomain >>> 8) & 0xff;
    buf[21] = o.observationDomain & 0xff;
    buf.writeUInt16BE(samplingField, 22);
    const length = V5_HEADER_LENGTH + count * V5_RECORD_LENGTH;
    const datagram = Buffer.allocUnsafe(length);
    buf.copy(datagram, 0, 0, length);
    out.push(datagram);
    stats.packets++;
    stats.octets += length;
    flowSequence = (flowSequence + count) >>> 0;
    count = 0;
  }

  function writeRecord(r: FlowRecord, pkts: number, octets: number): void {
    if (count === perPacket) flush();
    const off = V5_HEADER_LENGTH + count * V5_RECORD_LENGTH;
    writeIPv4(buf, off, r.src_addr);
    writeIPv4(buf, off + 4, r.dst_addr);
    writeIPv4(buf, off + 8, r.next_hop);
    buf.writeUInt16BE(Math.min(r.in_if >>> 0, 0xffff), off + 12);
    buf.writeUInt16BE(Math.min(r.out_if >>> 0, 0xffff), off + 14);
    buf.writeUInt32BE(pkts, off + 16);
    buf.writeUInt32BE(octets, off + 20);
    buf.writeUInt32BE((r.flow_start - o.bootTimeMs) >>> 0, off + 24);
    buf.writeUInt32BE((r.flow_end - o.bootTimeMs) >>> 0, off + 28);
    const icmp = r.proto === 1;
    buf.writeUInt16BE(icmp ? 0 : r.src_port & 0xffff, off + 32);
    buf.writeUInt16BE(
      icmp ? ((r.icmp_type & 0xff) << 8) | (r.icmp_code & 0xff) : r.dst_port & 0xffff,
      off + 34,
    );
    buf[off + 36] = 0;
    buf[off + 37] = r.tcp_flags;
    buf[off + 38] = r.proto;
    buf[off + 39] = r.tos;
    buf.writeUInt16BE(r.src_as > 0xffff ? AS_TRANS : r.src_as, off + 40);
    buf.writeUInt16BE(r.dst_as > 0xffff ? AS_TRANS : r.dst_as, off + 42);
    buf[off + 44] = r.src_mask;
    buf[off + 45] = r.dst_mask;
    buf.writeUInt16BE(0, off + 46);
    count++;
    stats.records++;
  }

  /** A flow whose counters overflow 32 bits becomes n records that add up to it. */
  function writeSplit(r: FlowRecord): void {
    const b = BigInt(r.bytes);
    const p = BigInt(r.packets);
    const max = BigInt(U32_MAX);
    const ceilDiv = (x: bigint) => (x + max - 1n) / max;
    // Math.max does not take bigints
    let n = ceilDiv(b);
    if (ceilDiv(p) > n) n = ceilDiv(p);
    if (n > BigInt(V5_MAX_SPLIT)) n = BigInt(V5_MAX_SPLIT);
    for (let i = 0n; i < n; i++) {
      const part = (x: bigint) => {
        const v = x / n + (i < x % n ? 1n : 0n);
        return v > max ? U32_MAX : Number(v);
      };
      writeRecord(r, part(p), part(b));
    }
  }

  return {
    stats,
    encode(records, nowMs) {
      out = [];
      now = nowMs;
      for (const r of records) {
        if (isIPv6Flow(r)) {
          stats.skipped++;
          continue;
        }
        if (r.bytes > U32_MAX || r.packets > U32_MAX) writeSplit(r);
        else writeRecord(r, Number(r.packets), Number(r.bytes));
      }
      flush();
      return out;
    },
    templates() {
      return [];
    },
  };
}
