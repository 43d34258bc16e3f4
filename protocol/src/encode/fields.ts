/**
 * Field writers: one per (information element, wire length), each copying one FlowRecord
 * column into the packet. A template is an array of these; encoding a record is one loop
 * over the array, with no per-record or per-field allocation. Writers return the offset
 * after what they wrote (variable-length fields write a length octet first, RFC 7011 §7).
 */
import type { ColumnName, FlowRecord } from '../schema/columns.ts';
import { writeIPv4, writeIPv6 } from '../schema/ip.ts';

export type FieldWriter = (buf: Buffer, off: number, rec: FlowRecord) => number;

export interface FieldSpec {
  /** information element id (v9 field type) */
  readonly id: number;
  /** IPFIX Private Enterprise Number; 0 = IANA (v9 can carry only these) */
  readonly pen: number;
  /** length announced in the template; 65535 = variable length */
  readonly length: number;
  /** most octets one record can use for this field (length octet included) */
  readonly maxBytes: number;
  /**
   * the schema columns it carries (protocol/src/schema/columns.ts; schema/wire.test.ts
   * checks that the decoder reads them back from this element); none for an element
   * derived from another column that no column is read from (OVS's tunnel protocol, port)
   */
  readonly columns: readonly ColumnName[];
  readonly write: FieldWriter;
}

export const VARIABLE_LENGTH = 65535;
/** VMware's PEN, under which Open vSwitch exports its tunnel elements 891–897. */
export const PEN_VMWARE = 6876;

const TWO_32 = 4294967296;

const fixed = (
  id: number,
  length: number,
  columns: readonly ColumnName[],
  write: FieldWriter,
  pen = 0,
): FieldSpec => ({
  id,
  pen,
  length,
  maxBytes: length,
  columns,
  write,
});

/** unsigned64 from a number (exact below 2^53) or a bigint (any value, wrapped to 64 bits). */
export function writeU64(buf: Buffer, off: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    buf.writeBigUInt64BE(BigInt.asUintN(64, v), off);
    return;
  }
  buf.writeUInt32BE(Math.floor(v / TWO_32) >>> 0, off);
  buf.writeUInt32BE(v >>> 0, off + 4);
}

/** 48-bit MAC held as a number. */
function writeMac(buf: Buffer, off: number, v: number): void {
  buf.writeUInt16BE(Math.floor(v / TWO_32) & 0xffff, off);
  buf.writeUInt32BE(v >>> 0, off + 2);
}

// ---- the inner flow: IANA elements shared by v9 and IPFIX ----

export const srcIPv4 = fixed(8, 4, ['src_addr'], (b, o, r) => {
  writeIPv4(b, o, r.src_addr);
  return o + 4;
});
export const dstIPv4 = fixed(12, 4, ['dst_addr'], (b, o, r) => {
  writeIPv4(b, o, r.dst_addr);
  return o + 4;
});
export const nextHopIPv4 = fixed(15, 4, ['next_hop'], (b, o, r) => {
  writeIPv4(b, o, r.next_hop);
  return o + 4;
});
export const srcIPv6 = fixed(27, 16, ['src_addr'], (b, o, r) => {
  writeIPv6(b, o, r.src_addr);
  return o + 16;
});
export const dstIPv6 = fixed(28, 16, ['dst_addr'], (b, o, r) => {
  writeIPv6(b, o, r.dst_addr);
  return o + 16;
});
export const nextHopIPv6 = fixed(62, 16, ['next_hop'], (b, o, r) => {
  writeIPv6(b, o, r.next_hop);
  return o + 16;
});

export const srcPort = fixed(7, 2, ['src_port'], (b, o, r) => {
  b.writeUInt16BE(r.src_port & 0xffff, o);
  return o + 2;
});
export const dstPort = fixed(11, 2, ['dst_port'], (b, o, r) => {
  b.writeUInt16BE(r.dst_port & 0xffff, o);
  return o + 2;
});
export const protocol = fixed(4, 1, ['proto'], (b, o, r) => {
  b[o] = r.proto;
  return o + 1;
});
export const tos = fixed(5, 1, ['tos'], (b, o, r) => {
  b[o] = r.tos;
  return o + 1;
});
/** v9 TCP_FLAGS is one octet (RFC 3954 §8). */
export const tcpFlags8 = fixed(6, 1, ['tcp_flags'], (b, o, r) => {
  b[o] = r.tcp_flags;
  return o + 1;
});
/** IPFIX tcpControlBits is unsigned16 since RFC 7125 (NS, CWR, ECE above the classic eight). */
export const tcpFlags16 = fixed(6, 2, ['tcp_flags'], (b, o, r) => {
  b.writeUInt16BE(r.tcp_flags & 0xffff, o);
  return o + 2;
});
export const ipVersion4 = fixed(60, 1, ['ip_version'], (b, o) => {
  b[o] = 4;
  return o + 1;
});
export const ipVersion6 = fixed(60, 1, ['ip_version'], (b, o) => {
  b[o] = 6;
  return o + 1;
});
export const direction = fixed(61, 1, ['direction'], (b, o, r) => {
  b[o] = r.direction;
  return o + 1;
});
export const flowEndReason = fixed(136, 1, ['flow_end_reason'], (b, o, r) => {
  b[o] = r.flow_end_reason;
  return o + 1;
});
export const inIf = fixed(10, 4, ['in_if'], (b, o, r) => {
  b.writeUInt32BE(r.in_if >>> 0, o);
  return o + 4;
});
export const outIf = fixed(14, 4, ['out_if'], (b, o, r) => {
  b.writeUInt32BE(r.out_if >>> 0, o);
  return o + 4;
});
export const bytes = fixed(1, 8, ['bytes'], (b, o, r) => {
  writeU64(b, o, r.bytes);
  return o + 8;
});
export const packets = fixed(2, 8, ['packets'], (b, o, r) => {
  writeU64(b, o, r.packets);
  return o + 8;
});
/** ICMP type×256+code: 32 icmpTypeCodeIPv4, 139 icmpTypeCodeIPv6. */
const icmpTypeCode = (id: number) =>
  fixed(id, 2, ['icmp_type', 'icmp_code'], (b, o, r) => {
    b.writeUInt16BE(((r.icmp_type & 0xff) << 8) | (r.icmp_code & 0xff), o);
    return o + 2;
  });
export const icmpTypeCodeIPv4 = icmpTypeCode(32);
export const icmpTypeCodeIPv6 = icmpTypeCode(139);
/** prefix lengths: 9/13 for IPv4, 29/30 for IPv6 (same numbers in v9 and IPFIX) */
export const srcMask4 = fixed(9, 1, ['src_mask'], (b, o, r) => {
  b[o] = r.src_mask;
  return o + 1;
});
export const dstMask4 = fixed(13, 1, ['dst_mask'], (b, o, r) => {
  b[o] = r.dst_mask;
  return o + 1;
});
export const srcMask6 = fixed(29, 1, ['src_mask'], (b, o, r) => {
  b[o] = r.src_mask;
  return o + 1;
});
export const dstMask6 = fixed(30, 1, ['dst_mask'], (b, o, r) => {
  b[o] = r.dst_mask;
  return o + 1;
});
export const vlan = fixed(58, 2, ['vlan'], (b, o, r) => {
  b.writeUInt16BE(r.vlan & 0xffff, o);
  return o + 2;
});
export const srcMac = fixed(56, 6, ['src_mac'], (b, o, r) => {
  writeMac(b, o, r.src_mac);
  return o + 6;
});
export const dstMac = fixed(80, 6, ['dst_mac'], (b, o, r) => {
  writeMac(b, o, r.dst_mac);
  return o + 6;
});

/** IPFIX absolute times, 152/153 flowStart/EndMilliseconds (dateTimeMilliseconds, 8 octets). */
export const flowStartMs = fixed(152, 8, ['flow_start'], (b, o, r) => {
  writeU64(b, o, r.flow_start);
  return o + 8;
});
export const flowEndMs = fixed(153, 8, ['flow_end'], (b, o, r) => {
  writeU64(b, o, r.flow_end);
  return o + 8;
});

/**
 * v9 FIRST_SWITCHED (22) / LAST_SWITCHED (21): sysUptime ms, i.e. ms since bootTimeMs,
 * modulo 2^32 as the 32-bit field wraps (~49.7 days).
 */
export function sysUptimeFields(bootTimeMs: number): { first: FieldSpec; last: FieldSpec } {
  return {
    first: fixed(22, 4, ['flow_start'], (b, o, r) => {
      b.writeUInt32BE((r.flow_start - bootTimeMs) >>> 0, o);
      return o + 4;
    }),
    last: fixed(21, 4, ['flow_end'], (b, o, r) => {
      b.writeUInt32BE((r.flow_end - bootTimeMs) >>> 0, o);
      return o + 4;
    }),
  };
}

/**
 * Encapsulation type octet of IE 351 (IANA: 0x01 VXLAN, 0x02 NVGRE). IANA defines no code
 * for Geneve; its VNI is 24 bits like VXLAN's, so Geneve goes out as 0x01 too.
 */
function segmentType(tunnelType: number): number {
  return tunnelType === 2 ? 0x02 : 0x01;
}

/**
 * 351 layer2SegmentId, always 8 octets: reduced-size encoding would drop the most
 * significant octet, which is the encapsulation type (protocols.md §2.7). All zero when
 * the flow is not in an overlay. It carries the VNI; decoders take the tunnel type from
 * OVS's 891, not from this octet.
 */
export const layer2SegmentId = fixed(351, 8, ['vni'], (b, o, r) => {
  if (r.vni === 0 && r.tunnel_type === 0) {
    b.writeUInt32BE(0, o);
    b.writeUInt32BE(0, o + 4);
  } else {
    b.writeUInt32BE(segmentType(r.tunnel_type) * 0x1000000, o);
    b.writeUInt32BE(r.vni & 0xffffff, o + 4);
  }
  return o + 8;
});

// ---- outer tunnel, IPFIX only: Open vSwitch's VMware-PEN elements (ofproto-dpif-ipfix.c) ----

/** canonical tunnel_type (1 VXLAN, 2 GRE, 3 Geneve) → OVS tunnelType (0x01, 0x02, 0x07) */
export function ovsTunnelType(tunnelType: number): number {
  return tunnelType === 3 ? 0x07 : tunnelType;
}

export const tunnelType = fixed(
  891,
  1,
  ['tunnel_type'],
  (b, o, r) => {
    b[o] = ovsTunnelType(r.tunnel_type);
    return o + 1;
  },
  PEN_VMWARE,
);

/**
 * 892 tunnelKey, variable length as OVS sends it: a length octet, then the key in network
 * byte order, 3 octets for VXLAN/Geneve VNIs and 4 for a GRE key (OVS
 * ipfix_data_record_flow_key_tunnel). tshark shows it as bytes and nfacctd reads it with
 * a `len=vlen` primitive; both accept this form.
 */
export const tunnelKey: FieldSpec = {
  id: 892,
  pen: PEN_VMWARE,
  length: VARIABLE_LENGTH,
  maxBytes: 5,
  columns: ['vni'],
  write: (b, o, r) => {
    if (r.tunnel_type === 2) {
      b[o] = 4;
      b.writeUInt32BE(r.vni >>> 0, o + 1);
      return o + 5;
    }
    b[o] = 3;
    b[o + 1] = (r.vni >>> 16) & 0xff;
    b[o + 2] = (r.vni >>> 8) & 0xff;
    b[o + 3] = r.vni & 0xff;
    return o + 4;
  },
};

export const tunnelSrcIPv4 = fixed(
  893,
  4,
  ['tunnel_src'],
  (b, o, r) => {
    writeIPv4(b, o, r.tunnel_src);
    return o + 4;
  },
  PEN_VMWARE,
);
export const tunnelDstIPv4 = fixed(
  894,
  4,
  ['tunnel_dst'],
  (b, o, r) => {
    writeIPv4(b, o, r.tunnel_dst);
    return o + 4;
  },
  PEN_VMWARE,
);
/** outer IP protocol: UDP (17) for VXLAN and Geneve, GRE (47) for GRE/NVGRE */
export const tunnelProtocol = fixed(
  895,
  1,
  [],
  (b, o, r) => {
    b[o] = r.tunnel_type === 2 ? 47 : r.tunnel_type === 0 ? 0 : 17;
    return o + 1;
  },
  PEN_VMWARE,
);
/**
 * 897 tunnelDestinationTransportPort: the well-known port the encapsulation implies (the
 * canonical record keeps no outer ports; the source port is per-flow entropy, so 896 is
 * not sent rather than sent wrong).
 */
export const tunnelDstPort = fixed(
  897,
  2,
  [],
  (b, o, r) => {
    b.writeUInt16BE(r.tunnel_type === 1 ? 4789 : r.tunnel_type === 3 ? 6081 : 0, o);
    return o + 2;
  },
  PEN_VMWARE,
);
