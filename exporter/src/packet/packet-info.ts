/**
 * What the packet parser fills for one frame. One instance is reused for every packet (no
 * allocation on the hot path): read it before parsing the next frame.
 *
 * Addresses are held as 32-bit words (IPv4: word 0 only, the rest 0; IPv6: four words,
 * network order) and turned into text only when a flow is exported (see addr.ts).
 */

/** Outcome of parsing one frame; only PARSE_OK frames are accounted in a flow. */
export const PARSE_OK = 0;
export const PARSE_UNSUPPORTED_LINK = 1;
/** ARP, LLDP, … (also inside a tunnel) */
export const PARSE_NOT_IP = 2;
/** the capture ends before a header we need (snaplen, or a damaged frame) */
export const PARSE_TRUNCATED = 3;
/** an IP header that contradicts itself (version, header length) */
export const PARSE_BAD_IP = 4;

export type ParseStatus = 0 | 1 | 2 | 3 | 4;

/** Names of the non-OK statuses, indexed by status, for counters and logs. */
export const PARSE_STATUS_NAMES = ['ok', 'unsupported-link', 'not-ip', 'truncated', 'bad-ip'] as const;

/** tunnel_type column values (PEN 6876 IE 891 numbering, as in columns.ts) */
export const TUNNEL_NONE = 0;
export const TUNNEL_VXLAN = 1;
export const TUNNEL_GRE = 2;
export const TUNNEL_GENEVE = 3;

/** fragment column of PacketInfo */
export const FRAG_NONE = 0;
export const FRAG_FIRST = 1;
/** offset > 0: carries no transport header, so no ports */
export const FRAG_LATER = 2;

/** What a UDP destination port carries, in a tunnel-port table (see tunnelPorts). */
export const PORT_PLAIN = 0;
export const PORT_VXLAN = 1;
export const PORT_GENEVE = 2;

/** IANA VXLAN 4789; 8472 = the Linux kernel's default without `dstport` (used by flannel) */
export const DEFAULT_VXLAN_PORTS: readonly number[] = [4789, 8472];
/** IANA Geneve */
export const DEFAULT_GENEVE_PORTS: readonly number[] = [6081];

/** A 64 Ki-entry table from UDP destination port to the overlay it carries. */
export function tunnelPorts(
  vxlan: readonly number[] = DEFAULT_VXLAN_PORTS,
  geneve: readonly number[] = DEFAULT_GENEVE_PORTS,
): Uint8Array {
  const table = new Uint8Array(65536);
  for (const port of vxlan) table[port] = PORT_VXLAN;
  for (const port of geneve) table[port] = PORT_GENEVE;
  return table;
}

const defaultPorts = tunnelPorts();

export class PacketInfo {
  /** which UDP destination ports to decapsulate; fixed for the parser's life */
  readonly ports: Uint8Array;

  constructor(ports: Uint8Array = defaultPorts) {
    this.ports = ports;
  }

  // inner (or only) IP packet: the flow key
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
  // per-packet values
  tcpFlags = 0;
  tos = 0;
  /** layer-3 bytes of the inner packet (IPv4 total length, IPv6 40 + payload length) */
  ipLength = 0;
  fragment = FRAG_NONE;
  /** IPv4 identification / IPv6 fragment id, for attributing later fragments */
  fragmentId = 0;
  /** VLAN id of the innermost tagged Ethernet header, 0 = untagged */
  vlan = 0;
  /** offset of the innermost Ethernet header in the frame, -1 = none (raw IP, SLL) */
  macOffset = -1;
  // overlay
  tunnelType = TUNNEL_NONE;
  vni = 0;
  outerVersion = 0;
  outerSrc0 = 0;
  outerSrc1 = 0;
  outerSrc2 = 0;
  outerSrc3 = 0;
  outerDst0 = 0;
  outerDst1 = 0;
  outerDst2 = 0;
  outerDst3 = 0;

  reset(): void {
    this.ipVersion = 0;
    this.proto = 0;
    this.src0 = this.src1 = this.src2 = this.src3 = 0;
    this.dst0 = this.dst1 = this.dst2 = this.dst3 = 0;
    this.srcPort = this.dstPort = 0;
    this.icmpType = this.icmpCode = 0;
    this.tcpFlags = 0;
    this.tos = 0;
    this.ipLength = 0;
    this.fragment = FRAG_NONE;
    this.fragmentId = 0;
    this.vlan = 0;
    this.macOffset = -1;
    this.tunnelType = TUNNEL_NONE;
    this.vni = 0;
    this.outerVersion = 0;
  }
}
