/**
 * One-pass packet parser: link layer (Ethernet with 802.1Q/QinQ tags, Linux SLL/SLL2, raw
 * IP, BSD loopback), IPv4 (options, fragments), IPv6 (extension headers, fragments), TCP,
 * UDP, SCTP, ICMP/ICMPv6, and one level of overlay decapsulation:
 *
 *   VXLAN  UDP 4789 (and 8472, Linux's default), 8-byte header, I flag (0x08) set, VNI in
 *          bytes 4..6, inner Ethernet
 *   Geneve UDP 6081, 8-byte header + options (length in 4-byte words, skipped), VNI in
 *          bytes 4..6, payload type 0x6558 (Ethernet) or an IP ethertype
 *   GRE    IP protocol 47, version 0; optional checksum, key, sequence words (RFC 2890);
 *          NVGRE (RFC 7637) = GRE with key carrying Ethernet (0x6558): VSID = key >> 8
 *
 * (UDP ports: PacketInfo.ports, see tunnelPorts()), so the packet yields the INNER addresses/ports, the VNI, the tunnel type and the outer
 * (VTEP) addresses. It reads bytes straight from the buffer, writes into a reused
 * PacketInfo and allocates nothing. It never throws on bad input: it returns a status.
 */
import {
  FRAG_FIRST,
  FRAG_LATER,
  FRAG_NONE,
  PARSE_BAD_IP,
  PARSE_NOT_IP,
  PARSE_OK,
  PARSE_TRUNCATED,
  PARSE_UNSUPPORTED_LINK,
  type PacketInfo,
  PORT_GENEVE,
  PORT_VXLAN,
  type ParseStatus,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_NONE,
  TUNNEL_VXLAN,
} from './packet-info.ts';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const ETH_TEB = 0x6558; // transparent Ethernet bridging (NVGRE, Geneve)

const IP_ICMP = 1;
const IP_TCP = 6;
const IP_UDP = 17;
const IP_GRE = 47;
const IP_ICMPV6 = 58;
const IP_SCTP = 132;

/** Parses one captured frame of the given link type into `out`. */
export function parsePacket(
  out: PacketInfo,
  linkType: number,
  b: Uint8Array,
  off: number,
  end: number,
): ParseStatus {
  out.reset();
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return parseEthernet(out, b, off, end);
    case LINKTYPE_RAW:
    case 12: // some BSDs' DLT_RAW
    case 14:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return parseIpByVersion(out, b, off, end);
    case LINKTYPE_LINUX_SLL:
      if (off + 16 > end) return PARSE_TRUNCATED;
      return parseByEtherType(out, (b[off + 14] << 8) | b[off + 15], b, off + 16, end);
    case LINKTYPE_LINUX_SLL2:
      if (off + 20 > end) return PARSE_TRUNCATED;
      return parseByEtherType(out, (b[off] << 8) | b[off + 1], b, off + 20, end);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      // 4-byte address family (host or network order, and its IPv6 value differs by OS):
      // the IP version nibble is the reliable signal
      if (off + 4 > end) return PARSE_TRUNCATED;
      return parseIpByVersion(out, b, off + 4, end);
    default:
      return PARSE_UNSUPPORTED_LINK;
  }
}

function parseEthernet(out: PacketInfo, b: Uint8Array, off: number, end: number): ParseStatus {
  if (off + 14 > end) return PARSE_TRUNCATED;
  out.macOffset = off;
  let o = off + 12;
  let etherType = (b[o] << 8) | b[o + 1];
  let vlan = 0;
  while (etherType === ETH_VLAN || etherType === ETH_QINQ || etherType === ETH_QINQ_OLD) {
    if (o + 6 > end) return PARSE_TRUNCATED;
    // the outermost tag names the VLAN (QinQ: the service tag)
    if (vlan === 0) vlan = ((b[o + 2] << 8) | b[o + 3]) & 0x0fff;
    o += 4;
    etherType = (b[o] << 8) | b[o + 1];
  }
  if (vlan !== 0) out.vlan = vlan;
  return parseByEtherType(out, etherType, b, o + 2, end);
}

function parseByEtherType(
  out: PacketInfo,
  etherType: number,
  b: Uint8Array,
  off: number,
  end: number,
): ParseStatus {
  if (etherType === ETH_IPV4) return parseIpv4(out, b, off, end);
  if (etherType === ETH_IPV6) return parseIpv6(out, b, off, end);
  return PARSE_NOT_IP;
}

function parseIpByVersion(out: PacketInfo, b: Uint8Array, off: number, end: number): ParseStatus {
  if (off >= end) return PARSE_TRUNCATED;
  const v = b[off] >> 4;
  if (v === 4) return parseIpv4(out, b, off, end);
  if (v === 6) return parseIpv6(out, b, off, end);
  return PARSE_NOT_IP;
}

function parseIpv4(out: PacketInfo, b: Uint8Array, o: number, end: number): ParseStatus {
  if (o + 20 > end) return PARSE_TRUNCATED;
  const vihl = b[o];
  const ihl = (vihl & 0x0f) << 2;
  if (vihl >> 4 !== 4 || ihl < 20) return PARSE_BAD_IP;
  if (o + ihl > end) return PARSE_TRUNCATED;
  let total = (b[o + 2] << 8) | b[o + 3];
  // 0 = a TSO/GRO super-frame whose length the NIC fills in: count what was captured
  if (total === 0) total = end - o;
  else if (total < ihl) return PARSE_BAD_IP;
  out.ipVersion = 4;
  out.tos = b[o + 1];
  out.ipLength = total;
  const proto = b[o + 9];
  out.proto = proto;
  out.src0 = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
  out.dst0 = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
  out.src1 = out.src2 = out.src3 = 0;
  out.dst1 = out.dst2 = out.dst3 = 0;
  const frag = (b[o + 6] << 8) | b[o + 7];
  if ((frag & 0x3fff) !== 0) {
    out.fragmentId = (b[o + 4] << 8) | b[o + 5];
    if ((frag & 0x1fff) !== 0) {
      out.fragment = FRAG_LATER;
      return PARSE_OK;
    }
    out.fragment = FRAG_FIRST;
  } else {
    out.fragment = FRAG_NONE;
  }
  const l4End = Math.min(o + total, end);
  return parseTransport(out, proto, b, o + ihl, l4End);
}

function parseIpv6(out: PacketInfo, b: Uint8Array, o: number, end: number): ParseStatus {
  if (o + 40 > end) return PARSE_TRUNCATED;
  if (b[o] >> 4 !== 6) return PARSE_BAD_IP;
  out.ipVersion = 6;
  out.tos = ((b[o] & 0x0f) << 4) | (b[o + 1] >> 4);
  const payload = (b[o + 4] << 8) | b[o + 5];
  // 0 = jumbogram or super-frame: count what was captured
  out.ipLength = payload === 0 ? end - o : 40 + payload;
  out.src0 = ((b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]) >>> 0;
  out.src1 = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
  out.src2 = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
  out.src3 = ((b[o + 20] << 24) | (b[o + 21] << 16) | (b[o + 22] << 8) | b[o + 23]) >>> 0;
  out.dst0 = ((b[o + 24] << 24) | (b[o + 25] << 16) | (b[o + 26] << 8) | b[o + 27]) >>> 0;
  out.dst1 = ((b[o + 28] << 24) | (b[o + 29] << 16) | (b[o + 30] << 8) | b[o + 31]) >>> 0;
  out.dst2 = ((b[o + 32] << 24) | (b[o + 33] << 16) | (b[o + 34] << 8) | b[o + 35]) >>> 0;
  out.dst3 = ((b[o + 36] << 24) | (b[o + 37] << 16) | (b[o + 38] << 8) | b[o + 39]) >>> 0;
  out.fragment = FRAG_NONE;
  let l4End = payload === 0 ? end : o + 40 + payload;
  if (l4End > end) l4End = end;
  let next = b[o + 6];
  let p = o + 40;
  // extension headers: hop-by-hop 0, routing 43, fragment 44, ESP 50 (opaque), AH 51,
  // destination options 60, mobility 135; bounded by the header count so a crafted chain
  // cannot loop
  for (let guard = 0; guard < 16; guard++) {
    if (next === 0 || next === 43 || next === 60 || next === 135) {
      if (p + 8 > l4End) return PARSE_TRUNCATED;
      next = b[p];
      p += (b[p + 1] + 1) << 3;
    } else if (next === 44) {
      if (p + 8 > l4End) return PARSE_TRUNCATED;
      const offFlags = (b[p + 2] << 8) | b[p + 3];
      out.fragmentId = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
      next = b[p];
      p += 8;
      if (offFlags >> 3 !== 0) {
        out.proto = next;
        out.fragment = FRAG_LATER;
        return PARSE_OK;
      }
      out.fragment = FRAG_FIRST;
    } else if (next === 51) {
      if (p + 8 > l4End) return PARSE_TRUNCATED;
      next = b[p];
      p += (b[p + 1] + 2) << 2;
    } else {
      break;
    }
  }
  out.proto = next;
  return parseTransport(out, next, b, p, l4End);
}

function parseTransport(out: PacketInfo, proto: number, b: Uint8Array, o: number, end: number): ParseStatus {
  switch (proto) {
    case IP_TCP:
      if (o + 14 > end) return PARSE_TRUNCATED;
      out.srcPort = (b[o] << 8) | b[o + 1];
      out.dstPort = (b[o + 2] << 8) | b[o + 3];
      out.tcpFlags = b[o + 13];
      return PARSE_OK;
    case IP_UDP: {
      if (o + 8 > end) return PARSE_TRUNCATED;
      const sp = (b[o] << 8) | b[o + 1];
      const dp = (b[o + 2] << 8) | b[o + 3];
      out.srcPort = sp;
      out.dstPort = dp;
      // decapsulate only the outermost tunnel; a tunnel inside a tenant is the tenant's flow
      if (out.tunnelType === TUNNEL_NONE && out.fragment === FRAG_NONE) {
        const kind = out.ports[dp];
        if (kind === PORT_VXLAN) return decapVxlan(out, b, o + 8, end);
        if (kind === PORT_GENEVE) return decapGeneve(out, b, o + 8, end);
      }
      return PARSE_OK;
    }
    case IP_SCTP:
      if (o + 4 > end) return PARSE_TRUNCATED;
      out.srcPort = (b[o] << 8) | b[o + 1];
      out.dstPort = (b[o + 2] << 8) | b[o + 3];
      return PARSE_OK;
    case IP_ICMP:
    case IP_ICMPV6:
      if (o + 2 > end) return PARSE_TRUNCATED;
      out.icmpType = b[o];
      out.icmpCode = b[o + 1];
      return PARSE_OK;
    case IP_GRE:
      if (out.tunnelType === TUNNEL_NONE && out.fragment === FRAG_NONE) return decapGre(out, b, o, end);
      return PARSE_OK;
    default:
      return PARSE_OK;
  }
}

/** Keeps the outer addresses as the tunnel endpoints before the inner packet overwrites them. */
function enterTunnel(out: PacketInfo, type: number, vni: number): void {
  out.tunnelType = type;
  out.vni = vni;
  out.outerVersion = out.ipVersion;
  out.outerSrc0 = out.src0;
  out.outerSrc1 = out.src1;
  out.outerSrc2 = out.src2;
  out.outerSrc3 = out.src3;
  out.outerDst0 = out.dst0;
  out.outerDst1 = out.dst1;
  out.outerDst2 = out.dst2;
  out.outerDst3 = out.dst3;
  out.srcPort = out.dstPort = 0;
  out.tcpFlags = 0;
  out.vlan = 0;
  out.macOffset = -1;
}

function decapVxlan(out: PacketInfo, b: Uint8Array, o: number, end: number): ParseStatus {
  // without the I flag the VNI is not valid: account the outer UDP flow as it is
  if (o + 8 > end || (b[o] & 0x08) === 0) return PARSE_OK;
  enterTunnel(out, TUNNEL_VXLAN, (b[o + 4] << 16) | (b[o + 5] << 8) | b[o + 6]);
  return parseEthernet(out, b, o + 8, end);
}

function decapGeneve(out: PacketInfo, b: Uint8Array, o: number, end: number): ParseStatus {
  if (o + 8 > end || b[o] >> 6 !== 0) return PARSE_OK;
  const inner = o + 8 + ((b[o] & 0x3f) << 2);
  const protoType = (b[o + 2] << 8) | b[o + 3];
  if (inner > end) return PARSE_OK;
  if (protoType !== ETH_TEB && protoType !== ETH_IPV4 && protoType !== ETH_IPV6) return PARSE_OK;
  enterTunnel(out, TUNNEL_GENEVE, (b[o + 4] << 16) | (b[o + 5] << 8) | b[o + 6]);
  if (protoType === ETH_TEB) return parseEthernet(out, b, inner, end);
  return parseByEtherType(out, protoType, b, inner, end);
}

function decapGre(out: PacketInfo, b: Uint8Array, o: number, end: number): ParseStatus {
  if (o + 4 > end) return PARSE_OK;
  const flags = (b[o] << 8) | b[o + 1];
  // version 1 is PPTP's enhanced GRE: not an overlay; the RFC 1701 routing bit (0x4000)
  // means variable source-route entries no overlay uses: leave both as the outer flow
  if ((flags & 0x7) !== 0 || (flags & 0x4000) !== 0) return PARSE_OK;
  const protoType = (b[o + 2] << 8) | b[o + 3];
  if (protoType !== ETH_TEB && protoType !== ETH_IPV4 && protoType !== ETH_IPV6) return PARSE_OK;
  let p = o + 4;
  if (flags & 0x8000) p += 4; // checksum + reserved
  let vni = 0;
  if (flags & 0x2000) {
    if (p + 4 > end) return PARSE_TRUNCATED;
    const key = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    // NVGRE: the top 24 bits are the VSID, the low 8 a flow id (RFC 7637 §3.2); plain GRE:
    // the whole key is the segment, as Open vSwitch uses it for tun_id
    vni = protoType === ETH_TEB ? key >>> 8 : key;
    p += 4;
  }
  if (flags & 0x1000) p += 4; // sequence number
  if (p > end) return PARSE_TRUNCATED;
  enterTunnel(out, TUNNEL_GRE, vni);
  if (protoType === ETH_TEB) return parseEthernet(out, b, p, end);
  return parseByEtherType(out, protoType, b, p, end);
}
