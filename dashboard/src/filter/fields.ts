/**
 * What the filter language can name: every column of the one schema
 * (protocol/src/schema/columns.ts, COLUMNS) under its own name, and the nfdump/pcap-style
 * keywords mapped onto those columns. Nothing here lists the schema's columns a second time:
 * the keyword table names the columns it maps to, and a keyword whose columns the schema no
 * longer has is left out (a unit test makes that loud).
 */
import { COLUMNS } from '../../../protocol/src/schema/columns.ts';

/** How a field's values are written and checked. */
export type ValueType =
  | {
      readonly kind: 'uint';
      readonly max: bigint;
      readonly expected: string;
      /** names accepted for numbers (tcp → 6), lower case */
      readonly names?: Readonly<Record<string, number>>;
      /** 'AS65000' is 65000 */
      readonly asPrefix?: boolean;
    }
  | { readonly kind: 'ip'; readonly cidr: boolean; readonly expected: string }
  | {
      readonly kind: 'string';
      readonly expected: string;
      /** a closed set of accepted values: lower-case spelling → stored value */
      readonly values?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'mac'; readonly expected: string }
  | { readonly kind: 'time'; readonly expected: string };

/** Something a filter can test: one column, or several of which any may match. */
export interface Field {
  readonly columns: readonly string[];
  readonly type: ValueType;
}

const MAX: Record<string, bigint> = {
  u8: 0xffn,
  u16: 0xffffn,
  u32: 0xffff_ffffn,
  u64: 0xffff_ffff_ffff_ffffn,
};

export const PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipip: 4,
  tcp: 6,
  udp: 17,
  ipv6: 41,
  gre: 47,
  esp: 50,
  ah: 51,
  icmp6: 58,
  icmpv6: 58,
  'ipv6-icmp': 58,
  ospf: 89,
  pim: 103,
  vrrp: 112,
  sctp: 132,
};

/** tunnel_type codes (the schema's description: 0 none, 1 VXLAN, 2 GRE/NVGRE, 3 Geneve, 4 LISP, 5 STT) */
export const TUNNEL_TYPES: Readonly<Record<string, number>> = {
  none: 0,
  vxlan: 1,
  gre: 2,
  nvgre: 2,
  geneve: 3,
  lisp: 4,
  stt: 5,
};

export const TRAFFIC_CLASSES: Readonly<Record<string, string>> = {
  'east-west': 'east-west',
  'north-south': 'north-south',
  unknown: '',
};

export const DIRECTIONS: Readonly<Record<string, number>> = { ingress: 0, egress: 1 };

/** TCP flag letters, bit values as in the TCP header. */
export const TCP_FLAGS: Readonly<Record<string, number>> = {
  F: 0x01,
  S: 0x02,
  R: 0x04,
  P: 0x08,
  A: 0x10,
  U: 0x20,
  E: 0x40,
  C: 0x80,
};

/** What a value of this column is called in errors, and the names it accepts. */
const COLUMN_VALUES: Readonly<
  Record<string, { expected: string; names?: Record<string, number>; asPrefix?: boolean }>
> = {
  src_port: { expected: 'a port number' },
  dst_port: { expected: 'a port number' },
  proto: { expected: 'a protocol name or number', names: PROTOCOLS },
  vni: { expected: 'a VNI' },
  vlan: { expected: 'a VLAN id' },
  src_as: { expected: 'an AS number', asPrefix: true },
  dst_as: { expected: 'an AS number', asPrefix: true },
  in_if: { expected: 'an interface index' },
  out_if: { expected: 'an interface index' },
  src_mask: { expected: 'a prefix length' },
  dst_mask: { expected: 'a prefix length' },
  tunnel_type: {
    expected: `a tunnel type (${Object.keys(TUNNEL_TYPES).join(', ')}) or number`,
    names: TUNNEL_TYPES,
  },
  direction: { expected: 'ingress, egress or a number', names: DIRECTIONS },
  ip_version: { expected: 'an IP version (4 or 6)' },
};

const STRING_VALUES: Readonly<Record<string, { expected: string; values?: Record<string, string> }>> = {
  tenant: { expected: 'a tenant name' },
  network: { expected: 'a network name' },
  src_subnet: { expected: 'a subnet name' },
  dst_subnet: { expected: 'a subnet name' },
  src_endpoint: { expected: 'an endpoint name' },
  dst_endpoint: { expected: 'an endpoint name' },
  traffic_class: { expected: 'east-west, north-south or unknown', values: TRAFFIC_CLASSES },
};

/** The schema's column kinds (taken from COLUMNS itself: a new kind is a type error here). */
type Kind = (typeof COLUMNS)[number]['kind'];

function columnType(name: string, kind: Kind): ValueType {
  switch (kind) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'u64': {
      const v = COLUMN_VALUES[name];
      return {
        kind: 'uint',
        max: MAX[kind],
        expected: v?.expected ?? 'a number',
        ...(v?.names ? { names: v.names } : {}),
        ...(v?.asPrefix ? { asPrefix: true } : {}),
      };
    }
    case 'ip':
      return { kind: 'ip', cidr: true, expected: 'an IP address or CIDR' };
    case 'mac':
      return { kind: 'mac', expected: 'a MAC address (aa:bb:cc:dd:ee:ff)' };
    case 'datetime':
      return { kind: 'time', expected: "a date-time ('YYYY-MM-DD HH:MM:SS' UTC, or Unix seconds)" };
    case 'string': {
      const v = STRING_VALUES[name];
      return {
        kind: 'string',
        expected: v?.expected ?? 'a string',
        ...(v?.values ? { values: v.values } : {}),
      };
    }
    default: {
      const unknown: never = kind;
      throw new Error(`filter language: no value type for the column kind ${String(unknown)}`);
    }
  }
}

/** Every schema column by name, with the type of its values. */
export const COLUMN_FIELDS: ReadonlyMap<string, Field & { readonly description: string }> = new Map(
  COLUMNS.map((c) => [
    c.name,
    { columns: [c.name], type: columnType(c.name, c.kind), description: c.description },
  ]),
);

/** Column keywords: another name for one column (`proto tcp`, `class east-west`). */
const ALIAS_DEFS: readonly (readonly [string, string])[] = [
  ['protocol', 'proto'],
  ['tunnel', 'tunnel_type'],
  ['class', 'traffic_class'],
  ['nexthop', 'next_hop'],
  ['next-hop', 'next_hop'],
];

/**
 * Pair keywords: a source and a destination column; bare they match either side, after
 * `src`/`dst` (or `in`/`out` for `if`) one side.
 */
interface PairDef {
  readonly keyword: string;
  readonly src: string;
  readonly dst: string;
  /** host: one address, not a CIDR */
  readonly addressOnly?: boolean;
  readonly expected?: string;
}
const PAIR_DEFS: readonly PairDef[] = [
  { keyword: 'host', src: 'src_addr', dst: 'dst_addr', addressOnly: true, expected: 'an IP address' },
  { keyword: 'ip', src: 'src_addr', dst: 'dst_addr', addressOnly: true, expected: 'an IP address' },
  { keyword: 'net', src: 'src_addr', dst: 'dst_addr', expected: 'a CIDR or IP address' },
  { keyword: 'port', src: 'src_port', dst: 'dst_port' },
  { keyword: 'as', src: 'src_as', dst: 'dst_as' },
  { keyword: 'mask', src: 'src_mask', dst: 'dst_mask' },
  { keyword: 'subnet', src: 'src_subnet', dst: 'dst_subnet' },
  { keyword: 'endpoint', src: 'src_endpoint', dst: 'dst_endpoint' },
  { keyword: 'vtep', src: 'tunnel_src', dst: 'tunnel_dst' },
  { keyword: 'mac', src: 'src_mac', dst: 'dst_mac' },
  { keyword: 'if', src: 'in_if', dst: 'out_if' },
];

export interface Pair {
  readonly both: Field;
  readonly src: Field;
  readonly dst: Field;
}

function pairField(def: PairDef, cols: readonly string[]): Field | undefined {
  const first = COLUMN_FIELDS.get(cols[0]);
  if (!first || cols.some((c) => !COLUMN_FIELDS.has(c))) return undefined;
  let type = first.type;
  if (type.kind === 'ip' && def.addressOnly) type = { ...type, cidr: false };
  if (def.expected) type = { ...type, expected: def.expected };
  return { columns: cols, type };
}

export const PAIRS: ReadonlyMap<string, Pair> = new Map(
  PAIR_DEFS.flatMap((d) => {
    const both = pairField(d, [d.src, d.dst]);
    const src = pairField(d, [d.src]);
    const dst = pairField(d, [d.dst]);
    return both && src && dst ? [[d.keyword, { both, src, dst }] as const] : [];
  }),
);

export const ALIASES: ReadonlyMap<string, Field> = new Map(
  ALIAS_DEFS.flatMap(([k, col]) => {
    const f = COLUMN_FIELDS.get(col);
    return f ? [[k, f] as const] : [];
  }),
);

/** Keywords that are a whole test by themselves: `tcp`, `ipv6`. */
export const SHORTHANDS: ReadonlyMap<string, { readonly column: string; readonly value: number }> = new Map(
  (
    [
      ['tcp', 'proto', 6],
      ['udp', 'proto', 17],
      ['icmp', 'proto', 1],
      ['icmp6', 'proto', 58],
      ['sctp', 'proto', 132],
      ['gre', 'proto', 47],
      ['esp', 'proto', 50],
      ['ah', 'proto', 51],
      ['ipv4', 'ip_version', 4],
      ['inet', 'ip_version', 4],
      ['ipv6', 'ip_version', 6],
      ['inet6', 'ip_version', 6],
    ] as const
  ).flatMap(([k, column, value]) => (COLUMN_FIELDS.has(column) ? [[k, { column, value }] as const] : [])),
);

/** The column `flags LETTERS` tests. */
export const FLAGS_COLUMN = COLUMN_FIELDS.has('tcp_flags') ? 'tcp_flags' : undefined;

/** Unquoted, these words are grammar, never values. */
export const RESERVED = new Set(['and', 'or', 'not', 'in', 'like']);
