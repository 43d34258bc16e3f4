/**
 * THE canonical flow record, defined once. Everything else is generated from this list:
 * the ClickHouse DDL (storage/src/ddl.ts, applied by storage/src/migrations.ts), the
 * RowBinary insert encoder (storage/src/flow-rowbinary.ts), the JSON output (json.ts), the
 * protobuf schema (protobuf.ts: goflow2 FlowMessage numbering where goflow2 has the field,
 * 1000+ for our overlay and tenant fields), the decoder's element-to-column mapping
 * (decode/compile.ts generates its code from each column's `wire`), and what the dashboard
 * and the filter language offer (`dimension`, `rollup`, `category`, `label`).
 *
 * The exporter's templates (encode/templates.ts) choose which ONE of a column's elements
 * they send; each writer in encode/fields.ts names the columns it carries, and
 * schema/wire.test.ts proves that every element sent is one this list maps to that column,
 * and that decoder and schema agree element by element. Adding a field is one edit here
 * (plus, if the exporter should send it, one writer in encode/fields.ts).
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

/** What a column is about: how the dashboard groups its dimensions and the filter language its fields. */
export type ColumnCategory =
  | 'time' // when the flow was seen
  | 'exporter' // who exported it and how (device, domain, version, sampling, end reason)
  | 'address' // inner source and destination addresses
  | 'port' // transport ports
  | 'protocol' // IP protocol and header fields
  | 'counter' // bytes and packets (summed, never grouped by)
  | 'interface' // interfaces and direction on the exporting device
  | 'l2' // VLAN and MAC addresses
  | 'routing' // next hop, AS numbers, prefix lengths
  | 'overlay' // VNI and the outer tunnel
  | 'tenant'; // attribution from the inventory

/** An information element: an IANA id, or `pen<PEN>.<id>` for an enterprise one. */
export type ElementRef = number | `pen${number}.${number}`;

/**
 * Where a column's value comes from in a NetFlow v9 / IPFIX data record: the strategy
 * decode/compile.ts generates code for, with the elements it reads in precedence order.
 * When a template repeats an element (outer then inner header), the last occurrence counts.
 * Elements a template carries that no column takes are kept under `extra` by their IE name.
 */
export type ColumnWire =
  /** not an element: the datagram's header or the receiver */
  | { readonly from: 'header'; readonly header: 'received' | 'exporter' | 'domain' | 'version' }
  /** never on the wire: the collector's tenant inventory fills it */
  | { readonly from: 'inventory' }
  /** the first of these the template carries; a map translates exporter codes to ours (MAC columns read 6-octet MACs only) */
  | {
      readonly from: 'first';
      readonly elements: readonly ElementRef[];
      readonly map?: readonly (readonly [from: number, to: number])[];
    }
  /** every one of these the template carries; the first that is not all zeros wins (an IPv4 and an IPv6 slot, one unused) */
  | { readonly from: 'address'; readonly elements: readonly ElementRef[] }
  /** the first direct counter; else the sum of the initiator and responder counters (RFC 5103 biflows) */
  | {
      readonly from: 'counter';
      readonly elements: readonly number[];
      readonly pair: readonly [initiator: number, responder: number];
    }
  /**
   * an absolute time, from the first present of: ms, s, µs (NTP), ns (NTP), a µs delta
   * before the export time, or sysUpTime ms (v9: relative to the header; IPFIX: from `init`,
   * systemInitTimeMilliseconds, read but kept under extra too; without it the start keeps
   * the duration to `uptimePair`)
   */
  | {
      readonly from: 'time';
      readonly ms: number;
      readonly s: number;
      readonly us: number;
      readonly ns: number;
      readonly delta: number;
      readonly uptime: number;
      readonly uptimePair?: number;
      readonly init: number;
    }
  /** ICMP type or code: from a type×256+code element (IPv4's, else IPv6's when zero), else from separate type and code elements */
  | {
      readonly from: 'icmp';
      readonly part: 'type' | 'code';
      readonly typeCode: readonly number[];
      readonly type: readonly number[];
      readonly code: readonly number[];
    }
  /** the element; else inferred from the address elements: [IPv4, IPv6] of the source and of the destination */
  | {
      readonly from: 'ip-version';
      readonly elements: readonly number[];
      readonly src: readonly [v4: number, v6: number];
      readonly dst: readonly [v4: number, v6: number];
    }
  /**
   * 1-in-N: a rate element; else interval and space (PSAMP); else the rate options data
   * announced for the record's sampler id (the `sampler` elements, read but kept under extra)
   */
  | {
      readonly from: 'sampling';
      readonly elements: readonly number[];
      readonly interval: readonly [interval: number, space: number];
      readonly sampler: readonly number[];
    }
  /** overlay segment: layer2SegmentId's low 24 bits (its top octet is the type), else a tunnel key */
  | { readonly from: 'segment'; readonly segment: number; readonly key: ElementRef };

export interface ColumnDef {
  /** snake_case name users see in JSON, SQL, filters and the API */
  readonly name: string;
  readonly kind: ColumnKind;
  /** a short human name (column headers, legends, filter suggestions) */
  readonly label: string;
  readonly category: ColumnCategory;
  readonly description: string;
  /** goflow2 FlowMessage field number where goflow2 has the field; 1000+ are ours */
  readonly protobufField: number;
  /** protobuf field name (goflow2's where it has the field) */
  readonly protobufName?: string;
  /** how the decoder fills it from NetFlow v9 / IPFIX */
  readonly wire: ColumnWire;
  /** the elements that fill it, in precedence order (derived from `wire`) */
  readonly elements: readonly ElementRef[];
  /** part of the ClickHouse sorting key, in this order */
  readonly sortKey?: number;
  /** a dimension the dashboard can group and filter by (the others are measures or times) */
  readonly dimension: boolean;
  /** kept in the rollup tables (per minute / 5 minutes / hour); a filter on any other column needs the raw table */
  readonly rollup: boolean;
}

/** The elements a strategy fills the column from, in precedence order. */
export function wireElements(w: ColumnWire): readonly ElementRef[] {
  switch (w.from) {
    case 'header':
    case 'inventory':
      return [];
    case 'first':
    case 'address':
    case 'ip-version':
      return w.elements;
    case 'counter':
      return [...w.elements, ...w.pair];
    case 'time':
      return [w.ms, w.s, w.us, w.ns, w.delta, w.uptime];
    case 'icmp':
      return [...w.typeCode, ...(w.part === 'type' ? w.type : w.code)];
    case 'sampling':
      return [...w.elements, ...w.interval];
    case 'segment':
      return [w.segment, w.key];
  }
}

interface Spec {
  readonly label: string;
  readonly category: ColumnCategory;
  readonly protobufField: number;
  readonly protobufName?: string;
  readonly description: string;
  readonly wire: ColumnWire;
  readonly sortKey?: number;
  /** default true */
  readonly dimension?: boolean;
  /** default false */
  readonly rollup?: boolean;
}

const c = <const N extends string, const K extends ColumnKind>(
  name: N,
  kind: K,
  s: Spec,
): ColumnDef & { readonly name: N; readonly kind: K } => ({
  name,
  kind,
  protobufField: s.protobufField,
  description: s.description,
  elements: wireElements(s.wire),
  dimension: s.dimension ?? true,
  rollup: s.rollup ?? false,
  ...(s.sortKey !== undefined ? { sortKey: s.sortKey } : {}),
  ...(s.protobufName !== undefined ? { protobufName: s.protobufName } : {}),
  label: s.label,
  category: s.category,
  wire: s.wire,
});

const first = (...elements: ElementRef[]): ColumnWire => ({ from: 'first', elements });
const address = (...elements: ElementRef[]): ColumnWire => ({ from: 'address', elements });
const INVENTORY: ColumnWire = { from: 'inventory' };
/** ICMP: type×256+code in 32 (IPv4) / 139 (IPv6), or separate type/code (176/177 IPv4, 178/179 IPv6) */
const ICMP = { from: 'icmp', typeCode: [32, 139], type: [176, 178], code: [177, 179] } as const;

export const COLUMNS = [
  c('time_received', 'datetime', {
    label: 'Received',
    category: 'time',
    protobufField: 110,
    protobufName: 'time_received_ns',
    description: 'when the collector received the datagram',
    wire: { from: 'header', header: 'received' },
    sortKey: 3,
    dimension: false,
  }),
  c('flow_start', 'datetime', {
    label: 'Flow start',
    category: 'time',
    protobufField: 111,
    protobufName: 'time_flow_start_ns',
    description: 'absolute start of the flow',
    wire: {
      from: 'time',
      ms: 152,
      s: 150,
      us: 154,
      ns: 156,
      delta: 158,
      uptime: 22,
      uptimePair: 21,
      init: 160,
    },
    dimension: false,
  }),
  c('flow_end', 'datetime', {
    label: 'Flow end',
    category: 'time',
    protobufField: 112,
    protobufName: 'time_flow_end_ns',
    description: 'absolute end of the flow',
    wire: { from: 'time', ms: 153, s: 151, us: 155, ns: 157, delta: 159, uptime: 21, init: 160 },
    dimension: false,
  }),
  c('exporter', 'ip', {
    label: 'Exporter',
    category: 'exporter',
    protobufField: 11,
    protobufName: 'sampler_address',
    description: 'address of the exporting device',
    wire: { from: 'header', header: 'exporter' },
    rollup: true,
  }),
  c('observation_domain', 'u32', {
    label: 'Observation domain',
    category: 'exporter',
    protobufField: 70,
    protobufName: 'observation_domain_id',
    description: 'NetFlow v9 Source ID / IPFIX Observation Domain ID',
    wire: { from: 'header', header: 'domain' },
  }),
  c('version', 'u8', {
    label: 'Export version',
    category: 'exporter',
    protobufField: 1000,
    description: 'export protocol version: 5, 9 or 10 (IPFIX)',
    wire: { from: 'header', header: 'version' },
  }),
  c('src_addr', 'ip', {
    label: 'Source address',
    category: 'address',
    protobufField: 6,
    description: 'inner source address (IPv4 or IPv6)',
    wire: address(8, 27),
  }),
  c('dst_addr', 'ip', {
    label: 'Destination address',
    category: 'address',
    protobufField: 7,
    description: 'inner destination address (IPv4 or IPv6)',
    wire: address(12, 28),
  }),
  c('src_port', 'u16', {
    label: 'Source port',
    category: 'port',
    protobufField: 21,
    description: 'source transport port',
    wire: first(7, 180, 182),
  }),
  c('dst_port', 'u16', {
    label: 'Destination port',
    category: 'port',
    protobufField: 22,
    description: 'destination transport port',
    wire: first(11, 181, 183),
    rollup: true,
  }),
  c('proto', 'u8', {
    label: 'Protocol',
    category: 'protocol',
    protobufField: 20,
    description: 'IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)',
    wire: first(4),
    rollup: true,
  }),
  c('tcp_flags', 'u16', {
    label: 'TCP flags',
    category: 'protocol',
    protobufField: 26,
    description: 'union of TCP flags seen',
    wire: first(6),
  }),
  c('tos', 'u8', {
    label: 'ToS',
    category: 'protocol',
    protobufField: 23,
    protobufName: 'ip_tos',
    description: 'IP type of service / traffic class',
    wire: first(5),
  }),
  c('icmp_type', 'u8', {
    label: 'ICMP type',
    category: 'protocol',
    protobufField: 31,
    description: 'ICMP or ICMPv6 type',
    wire: { ...ICMP, part: 'type' },
  }),
  c('icmp_code', 'u8', {
    label: 'ICMP code',
    category: 'protocol',
    protobufField: 32,
    description: 'ICMP or ICMPv6 code',
    wire: { ...ICMP, part: 'code' },
  }),
  c('ip_version', 'u8', {
    label: 'IP version',
    category: 'protocol',
    protobufField: 1001,
    description: '4 or 6',
    wire: { from: 'ip-version', elements: [60], src: [8, 27], dst: [12, 28] },
    rollup: true,
  }),
  c('bytes', 'u64', {
    label: 'Bytes',
    category: 'counter',
    protobufField: 9,
    description: 'octets as exported (not scaled by sampling)',
    wire: { from: 'counter', elements: [1, 23, 85], pair: [231, 232] },
    dimension: false,
  }),
  c('packets', 'u64', {
    label: 'Packets',
    category: 'counter',
    protobufField: 10,
    description: 'packets as exported (not scaled by sampling)',
    wire: { from: 'counter', elements: [2, 24, 86], pair: [298, 299] },
    dimension: false,
  }),
  c('sampling_rate', 'u32', {
    label: 'Sampling rate',
    category: 'exporter',
    protobufField: 3,
    description:
      '1-in-N packet sampling applied by the exporter (1 = unsampled; 0 from a decoder = not announced, the collector applies its default)',
    wire: { from: 'sampling', elements: [34, 50], interval: [305, 306], sampler: [48, 302] },
    dimension: false,
    rollup: true,
  }),
  c('in_if', 'u32', {
    label: 'Input interface',
    category: 'interface',
    protobufField: 18,
    description: 'ingress interface index',
    wire: first(10, 252),
  }),
  c('out_if', 'u32', {
    label: 'Output interface',
    category: 'interface',
    protobufField: 19,
    description: 'egress interface index',
    wire: first(14, 253),
  }),
  c('direction', 'u8', {
    label: 'Direction',
    category: 'interface',
    protobufField: 42,
    protobufName: 'flow_direction',
    description: 'flow direction: 0 ingress, 1 egress',
    wire: first(61),
  }),
  c('vlan', 'u16', {
    label: 'VLAN',
    category: 'l2',
    protobufField: 29,
    protobufName: 'vlan_id',
    description: '802.1Q VLAN id',
    wire: first(58, 243, 59, 254),
  }),
  c('src_mac', 'mac', {
    label: 'Source MAC',
    category: 'l2',
    protobufField: 27,
    description: 'source MAC address',
    wire: first(56, 81),
  }),
  c('dst_mac', 'mac', {
    label: 'Destination MAC',
    category: 'l2',
    protobufField: 28,
    description: 'destination MAC address',
    wire: first(80, 57),
  }),
  c('next_hop', 'ip', {
    label: 'Next hop',
    category: 'routing',
    protobufField: 12,
    description: 'IP next hop',
    wire: address(15, 62, 18, 63),
  }),
  c('src_as', 'u32', {
    label: 'Source AS',
    category: 'routing',
    protobufField: 14,
    description: 'source autonomous system',
    wire: first(16),
  }),
  c('dst_as', 'u32', {
    label: 'Destination AS',
    category: 'routing',
    protobufField: 15,
    description: 'destination autonomous system',
    wire: first(17),
  }),
  c('src_mask', 'u8', {
    label: 'Source mask',
    category: 'routing',
    protobufField: 16,
    protobufName: 'src_net',
    description: 'source prefix length',
    wire: first(9, 29),
  }),
  c('dst_mask', 'u8', {
    label: 'Destination mask',
    category: 'routing',
    protobufField: 17,
    protobufName: 'dst_net',
    description: 'destination prefix length',
    wire: first(13, 30),
  }),
  c('flow_end_reason', 'u8', {
    label: 'End reason',
    category: 'exporter',
    protobufField: 1002,
    description: 'IE 136: 1 idle, 2 active, 3 end of flow, 4 forced, 5 lack of resources',
    wire: first(136),
  }),
  c('vni', 'u32', {
    label: 'VNI',
    category: 'overlay',
    protobufField: 1003,
    description: 'overlay segment (VXLAN VNI / Geneve VNI / NVGRE VSID); 0 = not in an overlay',
    // IE 351 layer2SegmentId (top octet = segment type), else Open vSwitch's tunnelKey (VMware PEN 6876)
    wire: { from: 'segment', segment: 351, key: 'pen6876.892' },
    sortKey: 1,
    rollup: true,
  }),
  c('tunnel_type', 'u8', {
    label: 'Tunnel type',
    category: 'overlay',
    protobufField: 1004,
    description:
      'outer encapsulation: 0 none, 1 VXLAN, 2 GRE/NVGRE, 3 Geneve, 4 LISP, 5 STT (from PEN 6876 891, whose Geneve is 7)',
    // Open vSwitch's tunnelType codes (VXLAN 1, GRE 2, LISP 3, STT 4, Geneve 7) to ours
    wire: {
      from: 'first',
      elements: ['pen6876.891'],
      map: [
        [7, 3],
        [3, 4],
        [4, 5],
      ],
    },
    rollup: true,
  }),
  c('tunnel_src', 'ip', {
    label: 'Tunnel source',
    category: 'overlay',
    protobufField: 1005,
    description: 'outer (VTEP) source address',
    wire: address('pen6876.893'),
  }),
  c('tunnel_dst', 'ip', {
    label: 'Tunnel destination',
    category: 'overlay',
    protobufField: 1006,
    description: 'outer (VTEP) destination address',
    wire: address('pen6876.894'),
  }),
  c('tenant', 'string', {
    label: 'Tenant',
    category: 'tenant',
    protobufField: 1007,
    description: 'tenant owning the flow (from the inventory); empty = unassigned',
    wire: INVENTORY,
    sortKey: 0,
    rollup: true,
  }),
  c('network', 'string', {
    label: 'Network',
    category: 'tenant',
    protobufField: 1008,
    description: 'tenant network (overlay segment or flat/VLAN network)',
    wire: INVENTORY,
    sortKey: 2,
    rollup: true,
  }),
  c('src_subnet', 'string', {
    label: 'Source subnet',
    category: 'tenant',
    protobufField: 1009,
    description: 'inventory subnet of the source address',
    wire: INVENTORY,
    rollup: true,
  }),
  c('dst_subnet', 'string', {
    label: 'Destination subnet',
    category: 'tenant',
    protobufField: 1010,
    description: 'inventory subnet of the destination address',
    wire: INVENTORY,
    rollup: true,
  }),
  c('src_endpoint', 'string', {
    label: 'Source endpoint',
    category: 'tenant',
    protobufField: 1011,
    description: 'inventory port (VM interface) name of the source',
    wire: INVENTORY,
  }),
  c('dst_endpoint', 'string', {
    label: 'Destination endpoint',
    category: 'tenant',
    protobufField: 1012,
    description: 'inventory port (VM interface) name of the destination',
    wire: INVENTORY,
  }),
  c('traffic_class', 'string', {
    label: 'Traffic class',
    category: 'tenant',
    protobufField: 1013,
    description: "'east-west' (both ends inside the tenant), 'north-south', or '' unknown",
    wire: INVENTORY,
    rollup: true,
  }),
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
