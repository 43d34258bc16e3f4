/**
 * The filter language's vocabulary for the UI's help and completion: the keywords, then
 * every schema column (from COLUMNS, with its own description).
 */
import { ALIASES, COLUMN_FIELDS, TCP_FLAGS, type ValueType } from './fields.ts';
import { parseFilter } from './parser.ts';

export interface FilterKeyword {
  readonly keyword: string;
  readonly description: string;
  readonly example: string;
  /** the closed set of words its values take, for completion (proto tcp, tunnel vxlan) */
  readonly values?: readonly string[];
}

const SUGAR: readonly FilterKeyword[] = [
  { keyword: 'and', description: 'both conditions (also &&)', example: 'proto tcp and dst port 443' },
  {
    keyword: 'or',
    description: 'either condition (also ||); and binds tighter',
    example: 'port 53 or port 853',
  },
  { keyword: 'not', description: 'the condition does not hold (also !)', example: 'not src net 10.0.0.0/8' },
  { keyword: '( )', description: 'grouping', example: '(port 80 or port 443) and vni 5001' },
  {
    keyword: 'host',
    description: 'source or destination address (IPv4 or IPv6); src host / dst host for one side',
    example: 'host 2001:db8::1',
  },
  { keyword: 'ip', description: 'the same as host', example: 'src ip 10.0.0.1' },
  {
    keyword: 'net',
    description: 'source or destination address in a CIDR; src net / dst net for one side',
    example: 'dst net 2001:db8::/32',
  },
  {
    keyword: 'port',
    description: 'source or destination port; a range low-high, a list, or a comparison',
    example: 'port 1024-65535',
  },
  {
    keyword: 'src',
    description: 'the source side of host, ip, net, port, as, mask, subnet, endpoint, vtep, mac',
    example: 'src port 53',
  },
  {
    keyword: 'dst',
    description: 'the destination side of host, ip, net, port, as, mask, subnet, endpoint, vtep, mac',
    example: 'dst host 10.0.0.1',
  },
  {
    keyword: 'proto',
    description: 'IP protocol, by name (tcp, udp, icmp, icmp6, gre, esp, sctp, …) or number',
    example: 'proto udp',
  },
  {
    keyword: 'tcp',
    description: 'proto tcp (likewise udp, icmp, icmp6, sctp, gre, esp, ah)',
    example: 'tcp and port 22',
  },
  {
    keyword: 'ipv4',
    description: 'IPv4 flows (also inet); ipv6 / inet6 for IPv6',
    example: 'ipv6 and port 53',
  },
  {
    keyword: 'flags',
    description: 'every listed TCP flag set: F S R P A U E C',
    example: 'flags S and not flags A',
  },
  {
    keyword: 'class',
    description: 'traffic class: east-west, north-south or unknown',
    example: 'class east-west',
  },
  {
    keyword: 'tunnel',
    description: 'outer encapsulation: none, vxlan, gre, nvgre, geneve, lisp, stt',
    example: 'tunnel vxlan',
  },
  {
    keyword: 'vtep',
    description: 'outer (VTEP) source or destination address or CIDR; src vtep / dst vtep',
    example: 'vtep 192.0.2.9',
  },
  { keyword: 'subnet', description: 'source or destination inventory subnet name', example: 'subnet db' },
  {
    keyword: 'endpoint',
    description: 'source or destination inventory endpoint (VM port) name',
    example: 'src endpoint web-1',
  },
  {
    keyword: 'as',
    description: 'source or destination AS number (AS65000 or 65000)',
    example: 'src as 65000',
  },
  { keyword: 'mask', description: 'source or destination prefix length', example: 'src mask 24' },
  { keyword: 'mac', description: 'source or destination MAC address', example: 'src mac 02:00:de:ad:be:ef' },
  {
    keyword: 'if',
    description: 'input or output interface index; in if / out if for one side',
    example: 'in if 3',
  },
  { keyword: 'nexthop', description: 'IP next hop (also next-hop)', example: 'nexthop 192.0.2.254' },
  {
    keyword: 'in',
    description: 'a list of values, [ ] with commas or spaces; not in for none of them',
    example: 'dst port in [80, 443, 8000-8999]',
  },
  {
    keyword: 'like',
    description: 'text pattern (% any text, _ one character); not like to exclude',
    example: "network like 'web-%'",
  },
  {
    keyword: '= != < <= > >=',
    description: 'compare a column; bare value means =; on a src-or-dst keyword != means neither side',
    example: 'bytes > 1M',
  },
];

const EXAMPLE_BY_COLUMN: Readonly<Record<string, string>> = {
  tenant: 'tenant acme',
  network: 'network web-tier',
  vni: 'vni 5001',
  vlan: 'vlan 100',
  exporter: 'exporter 192.0.2.1',
  bytes: 'bytes > 1M',
  packets: 'packets >= 10',
  traffic_class: 'traffic_class east-west',
  time_received: "time_received >= '2026-11-25 10:00:00'",
};

function example(name: string, kind: string): string {
  const known = EXAMPLE_BY_COLUMN[name];
  if (known) return known;
  switch (kind) {
    case 'uint':
      return `${name} = 1`;
    case 'ip':
      return `${name} 10.0.0.0/8`;
    case 'mac':
      return `${name} 02:00:00:00:00:01`;
    case 'time':
      return `${name} >= '2026-11-25 10:00:00'`;
    default:
      return `${name} 'text'`;
  }
}

function valuesOf(type: ValueType): readonly string[] | undefined {
  if (type.kind === 'uint' && type.names) return Object.keys(type.names);
  if (type.kind === 'string' && type.values) return Object.keys(type.values);
  return undefined;
}

function withValues(k: FilterKeyword, values: readonly string[] | undefined): FilterKeyword {
  return values ? { ...k, values } : k;
}

const COLUMN_KEYWORDS: readonly FilterKeyword[] = [...COLUMN_FIELDS].map(([name, f]) =>
  withValues(
    { keyword: name, description: f.description, example: example(name, f.type.kind) },
    valuesOf(f.type),
  ),
);

/** Values of the keywords that are another name for a column, and of flags. */
function sugarValues(keyword: string): readonly string[] | undefined {
  if (keyword === 'flags') return Object.keys(TCP_FLAGS);
  const f = ALIASES.get(keyword) ?? COLUMN_FIELDS.get(keyword);
  return f ? valuesOf(f.type) : undefined;
}

const SUGAR_AVAILABLE: readonly FilterKeyword[] = SUGAR.filter((k) => {
  try {
    parseFilter(k.example);
    return true;
  } catch {
    return false;
  }
}).map((k) => withValues(k, sugarValues(k.keyword)));

/**
 * The keywords (those the schema still has columns for: their example parses), then every
 * column not already listed as a keyword (proto).
 */
export const FILTER_KEYWORDS: readonly FilterKeyword[] = [
  ...SUGAR_AVAILABLE,
  ...COLUMN_KEYWORDS.filter((c) => !SUGAR_AVAILABLE.some((k) => k.keyword === c.keyword)),
];
