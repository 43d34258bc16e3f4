/**
 * THE canonical flow record, defined once. Everything else is generated from this list:
 * the ClickHouse DDL (collector/src/storage/migrations.ts), the RowBinary insert encoder,
 * the JSON output, the protobuf schema (goflow2 FlowMessage numbering where goflow2 has the
 * field, 1000+ for our overlay and tenant fields), the API's dimension list and the filter
 * language's fields. Adding a field is one edit here.
 */

/** How a column is held in memory by decoders and encoded on every output. */
export type ColumnKind =
  | 'datetime' // ms since the epoch in memory (number); ClickHouse DateTime (seconds)
  | 'ip' // canonical text form in memory ('' = absent); FixedString(16), IPv4-mapped IPv6
  | 'mac' // 48-bit number in memory; UInt64 in ClickHouse, 'aa:bb:…' in JSON
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64' // number, or bigint above 2^53 (never rounded)
  | 'string';

export interface ColumnDef {
  /** snake_case name users see in JSON, SQL, filters and the API */
  readonly name: string;
  readonly kind: ColumnKind;
  readonly description: string;
  /** goflow2 FlowMessage field number where goflow2 has the field; 1000+ are ours */
  readonly protobufField: number;
  /** protobuf field name (goflow2's where it has the field) */
  readonly protobufName?: string;
  /** IPFIX/NetFlow v9 information elements that fill it ("pen6876.892" for enterprise) */
  readonly elements: readonly (number | string)[];
  /** part of the ClickHouse sorting key, in this order */
  readonly sortKey?: number;
  /** a dimension the dashboard can group and filter by */
  readonly dimension: boolean;
  /** kept in the rollup tables (per minute / 5 minutes / hour) */
  readonly rollup: boolean;
}

const c = <const N extends string, const K extends ColumnKind>(
  name: N,
  kind: K,
  protobufField: number,
  description: string,
  elements: readonly (number | string)[] = [],
  extra: Partial<Pick<ColumnDef, 'sortKey' | 'dimension' | 'rollup' | 'protobufName'>> = {},
): ColumnDef & { readonly name: N; readonly kind: K } => ({
  name,
  kind,
  protobufField,
  description,
  elements,
  dimension: extra.dimension ?? true,
  rollup: extra.rollup ?? false,
  ...(extra.sortKey !== undefined ? { sortKey: extra.sortKey } : {}),
  ...(extra.protobufName !== undefined ? { protobufName: extra.protobufName } : {}),
});

export const COLUMNS = [
  c('time_received', 'datetime', 110, 'when the collector received the datagram', [], {
    sortKey: 3,
    dimension: false,
    protobufName: 'time_received_ns',
  }),
  c('flow_start', 'datetime', 111, 'absolute start of the flow', [22, 150, 152, 154, 156, 158], {
    dimension: false,
    protobufName: 'time_flow_start_ns',
  }),
  c('flow_end', 'datetime', 112, 'absolute end of the flow', [21, 151, 153, 155, 157, 159], {
    dimension: false,
    protobufName: 'time_flow_end_ns',
  }),
  c('exporter', 'ip', 11, 'address of the exporting device', [130, 131], {
    rollup: true,
    protobufName: 'sampler_address',
  }),
  c('observation_domain', 'u32', 70, 'NetFlow v9 Source ID / IPFIX Observation Domain ID', [149], {
    protobufName: 'observation_domain_id',
  }),
  c('version', 'u8', 1000, 'export protocol version: 5, 9 or 10 (IPFIX)', []),
  c('src_addr', 'ip', 6, 'inner source address (IPv4 or IPv6)', [8, 27], { rollup: false }),
  c('dst_addr', 'ip', 7, 'inner destination address (IPv4 or IPv6)', [12, 28]),
  c('src_port', 'u16', 21, 'source transport port', [7, 180, 182]),
  c('dst_port', 'u16', 22, 'destination transport port', [11, 181, 183], { rollup: true }),
  c('proto', 'u8', 20, 'IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)', [4], { rollup: true }),
  c('tcp_flags', 'u16', 26, 'union of TCP flags seen', [6]),
  c('tos', 'u8', 23, 'IP type of service / traffic class', [5], { protobufName: 'ip_tos' }),
  c('icmp_type', 'u8', 31, 'ICMP or ICMPv6 type', [32, 139, 176, 178]),
  c('icmp_code', 'u8', 32, 'ICMP or ICMPv6 code', [32, 139, 177, 179]),
  c('ip_version', 'u8', 1001, '4 or 6', [60], { rollup: true }),
  c('bytes', 'u64', 9, 'octets as exported (not scaled by sampling)', [1, 85, 23, 231, 232], {
    dimension: false,
  }),
  c('packets', 'u64', 10, 'packets as exported (not scaled by sampling)', [2, 86, 24, 298, 299], {
    dimension: false,
  }),
  c(
    'sampling_rate',
    'u32',
    3,
    '1-in-N packet sampling applied by the exporter (1 = unsampled; 0 from a decoder = not announced, the collector applies its default)',
    [34, 50, 305, 306],
    {
      dimension: false,
      rollup: true,
    },
  ),
  c('in_if', 'u32', 18, 'ingress interface index', [10, 252]),
  c('out_if', 'u32', 19, 'egress interface index', [14, 253]),
  c('direction', 'u8', 42, 'flow direction: 0 ingress, 1 egress', [61], { protobufName: 'flow_direction' }),
  c('vlan', 'u16', 29, '802.1Q VLAN id', [58, 59, 243, 254], { protobufName: 'vlan_id' }),
  c('src_mac', 'mac', 27, 'source MAC address', [56, 81]),
  c('dst_mac', 'mac', 28, 'destination MAC address', [80, 57]),
  c('next_hop', 'ip', 12, 'IP next hop', [15, 62, 18, 63]),
  c('src_as', 'u32', 14, 'source autonomous system', [16]),
  c('dst_as', 'u32', 15, 'destination autonomous system', [17]),
  c('src_mask', 'u8', 16, 'source prefix length', [9, 29], { protobufName: 'src_net' }),
  c('dst_mask', 'u8', 17, 'destination prefix length', [13, 30], { protobufName: 'dst_net' }),
  c(
    'flow_end_reason',
    'u8',
    1002,
    'IE 136: 1 idle, 2 active, 3 end of flow, 4 forced, 5 lack of resources',
    [136],
  ),
  c(
    'vni',
    'u32',
    1003,
    'overlay segment (VXLAN VNI / Geneve VNI / NVGRE VSID); 0 = not in an overlay',
    [351, 'pen6876.892'],
    {
      sortKey: 1,
      rollup: true,
    },
  ),
  c(
    'tunnel_type',
    'u8',
    1004,
    'outer encapsulation: 0 none, 1 VXLAN, 2 GRE/NVGRE, 3 Geneve, 4 LISP, 5 STT (from PEN 6876 891, whose Geneve is 7)',
    ['pen6876.891'],
    {
      rollup: true,
    },
  ),
  c('tunnel_src', 'ip', 1005, 'outer (VTEP) source address', ['pen6876.893']),
  c('tunnel_dst', 'ip', 1006, 'outer (VTEP) destination address', ['pen6876.894']),
  c('tenant', 'string', 1007, 'tenant owning the flow (from the inventory); empty = unassigned', [], {
    sortKey: 0,
    rollup: true,
  }),
  c('network', 'string', 1008, 'tenant network (overlay segment or flat/VLAN network)', [], {
    sortKey: 2,
    rollup: true,
  }),
  c('src_subnet', 'string', 1009, 'inventory subnet of the source address', [], { rollup: true }),
  c('dst_subnet', 'string', 1010, 'inventory subnet of the destination address', [], { rollup: true }),
  c('src_endpoint', 'string', 1011, 'inventory port (VM interface) name of the source', []),
  c('dst_endpoint', 'string', 1012, 'inventory port (VM interface) name of the destination', []),
  c(
    'traffic_class',
    'string',
    1013,
    "'east-west' (both ends inside the tenant), 'north-south', or '' unknown",
    [],
    {
      rollup: true,
    },
  ),
] as const satisfies readonly ColumnDef[];

export type Column = (typeof COLUMNS)[number];
export type ColumnName = Column['name'];

type TsOf<K extends ColumnKind> = K extends 'ip' | 'string'
  ? string
  : K extends 'u64'
    ? number | bigint
    : number;

/** The canonical flow record as decoders produce it and every output consumes it. */
export type FlowRecord = { [C in Column as C['name']]: TsOf<C['kind']> } & {
  /** elements with no canonical column: IE name, or `pen<PEN>.<id>`, to value */
  extra?: Record<string, unknown>;
};

export const COLUMN_NAMES: readonly ColumnName[] = COLUMNS.map((col) => col.name);
export const COLUMN_BY_NAME: ReadonlyMap<string, Column> = new Map(COLUMNS.map((col) => [col.name, col]));

/** A record with every column at its zero value; decoders fill what the template carries. */
export function emptyFlow(): FlowRecord {
  return {
    time_received: 0,
    flow_start: 0,
    flow_end: 0,
    exporter: '',
    observation_domain: 0,
    version: 0,
    src_addr: '',
    dst_addr: '',
    src_port: 0,
    dst_port: 0,
    proto: 0,
    tcp_flags: 0,
    tos: 0,
    icmp_type: 0,
    icmp_code: 0,
    ip_version: 0,
    bytes: 0,
    packets: 0,
    sampling_rate: 0,
    in_if: 0,
    out_if: 0,
    direction: 0,
    vlan: 0,
    src_mac: 0,
    dst_mac: 0,
    next_hop: '',
    src_as: 0,
    dst_as: 0,
    src_mask: 0,
    dst_mask: 0,
    flow_end_reason: 0,
    vni: 0,
    tunnel_type: 0,
    tunnel_src: '',
    tunnel_dst: '',
    tenant: '',
    network: '',
    src_subnet: '',
    dst_subnet: '',
    src_endpoint: '',
    dst_endpoint: '',
    traffic_class: '',
  };
}
