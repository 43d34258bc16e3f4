/**
 * The data templates vxflow exports, and which one each record uses. Template IDs stay
 * constant for the life of an encoder (RFC 3954 §7); data templates are 256–261 and the
 * options template is OPTIONS_TEMPLATE_ID, in v9 and IPFIX alike.
 *
 * NetFlow v9 (no enterprise elements): 256 IPv4 inner flow, 257 IPv6 inner flow, both
 * carrying the VNI as 351 layer2SegmentId.
 * IPFIX: the same two, plus the same with Open vSwitch's outer-tunnel elements (PEN 6876):
 * 258/259 with IPv4 VTEP addresses (893/894), 260/261 without addresses, for tunnels whose
 * VTEPs are IPv6 or unknown (no registry, IANA's or VMware's, has IPv6 tunnel endpoints).
 */
import type { FlowRecord } from '../schema/columns.ts';
import * as f from './fields.ts';
import type { FieldSpec, FieldWriter } from './fields.ts';

export const OPTIONS_TEMPLATE_ID = 300;

export const TEMPLATE_V4 = 256;
export const TEMPLATE_V6 = 257;
export const TEMPLATE_V4_TUNNEL_V4 = 258;
export const TEMPLATE_V6_TUNNEL_V4 = 259;
export const TEMPLATE_V4_TUNNEL = 260;
export const TEMPLATE_V6_TUNNEL = 261;

export interface DataTemplate {
  readonly id: number;
  readonly fields: readonly FieldSpec[];
  /** largest record this template can produce, in octets */
  readonly maxLength: number;
  /** writes one record at off, returns the offset after it */
  readonly write: (buf: Buffer, off: number, rec: FlowRecord) => number;
}

export function buildTemplate(id: number, fields: readonly FieldSpec[]): DataTemplate {
  const writers: FieldWriter[] = fields.map((x) => x.write);
  const n = writers.length;
  return {
    id,
    fields,
    maxLength: fields.reduce((sum, x) => sum + x.maxBytes, 0),
    write(buf, off, rec) {
      for (let i = 0; i < n; i++) off = writers[i](buf, off, rec);
      return off;
    },
  };
}

/**
 * The family an address's text claims (a colon: IPv6). Not a validation: text that claims
 * IPv6 but does not parse still goes in an IPv6 field, written as zeros (schema/ip.ts).
 */
const claimsIPv6 = (s: string): boolean => s.indexOf(':') >= 0;

/** True when the record's inner addresses are IPv6 (decided by the addresses, which set the wire form). */
export function isIPv6Flow(rec: FlowRecord): boolean {
  if (rec.src_addr.length > 0) return claimsIPv6(rec.src_addr);
  if (rec.dst_addr.length > 0) return claimsIPv6(rec.dst_addr);
  return rec.ip_version === 6;
}

function innerFields(v6: boolean, times: readonly FieldSpec[], tcpFlags: FieldSpec): FieldSpec[] {
  return [
    v6 ? f.srcIPv6 : f.srcIPv4,
    v6 ? f.dstIPv6 : f.dstIPv4,
    f.srcPort,
    f.dstPort,
    f.protocol,
    f.tos,
    tcpFlags,
    v6 ? f.ipVersion6 : f.ipVersion4,
    f.direction,
    f.flowEndReason,
    f.inIf,
    f.outIf,
    f.bytes,
    f.packets,
    ...times,
    v6 ? f.icmpTypeCodeIPv6 : f.icmpTypeCodeIPv4,
    v6 ? f.srcMask6 : f.srcMask4,
    v6 ? f.dstMask6 : f.dstMask4,
    v6 ? f.nextHopIPv6 : f.nextHopIPv4,
    f.vlan,
    f.srcMac,
    f.dstMac,
    f.layer2SegmentId,
  ];
}

export interface TemplateSet {
  readonly templates: readonly DataTemplate[];
  /** index into templates for a record */
  select(rec: FlowRecord): number;
}

/** NetFlow v9: IPv4 and IPv6 inner flows; FIRST/LAST_SWITCHED relative to bootTimeMs. */
export function netflowV9Templates(bootTimeMs: number): TemplateSet {
  const { first, last } = f.sysUptimeFields(bootTimeMs);
  const templates = [
    buildTemplate(TEMPLATE_V4, innerFields(false, [first, last], f.tcpFlags8)),
    buildTemplate(TEMPLATE_V6, innerFields(true, [first, last], f.tcpFlags8)),
  ];
  return { templates, select: (rec) => (isIPv6Flow(rec) ? 1 : 0) };
}

/** IPFIX: inner v4/v6 × (no tunnel, tunnel with IPv4 VTEPs, tunnel without VTEP addresses). */
export function ipfixTemplates(): TemplateSet {
  const times = [f.flowStartMs, f.flowEndMs];
  const tunnelV4 = [
    f.tunnelType,
    f.tunnelKey,
    f.tunnelSrcIPv4,
    f.tunnelDstIPv4,
    f.tunnelProtocol,
    f.tunnelDstPort,
  ];
  const tunnelNoAddr = [f.tunnelType, f.tunnelKey, f.tunnelProtocol, f.tunnelDstPort];
  const inner4 = innerFields(false, times, f.tcpFlags16);
  const inner6 = innerFields(true, times, f.tcpFlags16);
  const templates = [
    buildTemplate(TEMPLATE_V4, inner4),
    buildTemplate(TEMPLATE_V6, inner6),
    buildTemplate(TEMPLATE_V4_TUNNEL_V4, [...inner4, ...tunnelV4]),
    buildTemplate(TEMPLATE_V6_TUNNEL_V4, [...inner6, ...tunnelV4]),
    buildTemplate(TEMPLATE_V4_TUNNEL, [...inner4, ...tunnelNoAddr]),
    buildTemplate(TEMPLATE_V6_TUNNEL, [...inner6, ...tunnelNoAddr]),
  ];
  return {
    templates,
    select(rec) {
      const v6 = isIPv6Flow(rec) ? 1 : 0;
      if (rec.tunnel_type === 0) return v6;
      const v4Vteps =
        (rec.tunnel_src.length > 0 || rec.tunnel_dst.length > 0) &&
        !claimsIPv6(rec.tunnel_src) &&
        !claimsIPv6(rec.tunnel_dst);
      return (v4Vteps ? 2 : 4) + v6;
    },
  };
}
