/**
 * The FlowRecord columns the encoders read, with their in-memory types spelt out.
 *
 * Why not FlowRecord itself: schema/columns.ts builds each column through a helper typed
 * `ColumnDef`, so `kind` widens to ColumnKind and every FlowRecord field comes out as
 * `string | number | bigint`. Until that is narrowed there, the encoders view records
 * through this type (one cast at each entry point); it matches what columns.ts documents
 * and what emptyFlow() holds.
 */
import type { FlowRecord } from '../schema/columns.ts';

export interface EncodableFlow {
  flow_start: number;
  flow_end: number;
  src_addr: string;
  dst_addr: string;
  src_port: number;
  dst_port: number;
  proto: number;
  tcp_flags: number;
  tos: number;
  icmp_type: number;
  icmp_code: number;
  ip_version: number;
  bytes: number | bigint;
  packets: number | bigint;
  in_if: number;
  out_if: number;
  direction: number;
  vlan: number;
  src_mac: number;
  dst_mac: number;
  next_hop: string;
  src_as: number;
  dst_as: number;
  src_mask: number;
  dst_mask: number;
  flow_end_reason: number;
  vni: number;
  tunnel_type: number;
  tunnel_src: string;
  tunnel_dst: string;
}

export function asEncodable(records: readonly FlowRecord[]): readonly EncodableFlow[] {
  return records as unknown as readonly EncodableFlow[];
}
