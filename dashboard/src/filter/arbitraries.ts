/**
 * fast-check arbitraries for the filter language (for the tests only: property.test.ts and
 * test/dashboard/filter.test.ts; nothing in production imports this file): random filters built from
 * its vocabulary, mostly valid, with the odd wrong token, hostile string and deep nesting.
 */
import fc from 'fast-check';

const ADDRS = ['10.0.0.1', '10.1.2.3', '192.168.0.5', '2001:db8::1', 'fd00::1', '::ffff:10.0.0.1', '::'];
const CIDRS = ['10.0.0.0/8', '10.1.0.0/16', '0.0.0.0/0', '2001:db8::/32', 'fd00::/8', '::/0', '10.1.2.3/31'];
const HOSTILE = [
  "'",
  '"',
  '\\',
  "x') OR 1=1 --",
  "a'b",
  'a\\',
  '\n',
  '\u0000',
  '; DROP TABLE flows',
  '(',
  '%',
  'é😀',
];

const quoted = fc
  .oneof(
    fc.constantFrom(...HOSTILE),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('acme', 'web-tier', 'east-west', 'db'),
  )
  .map((s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);

const num = fc.oneof(
  fc.nat({ max: 70000 }).map(String),
  fc.constantFrom('1k', '1M', '1.5G', '2Ki', '0x12', '18446744073709551615', '1024-65535', '80-80'),
);

const leaf: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom('', 'src ', 'dst '), fc.constantFrom('host ', 'ip '), fc.constantFrom(...ADDRS))
    .map((p) => p.join('')),
  fc
    .tuple(fc.constantFrom('', 'src ', 'dst '), fc.constant('net '), fc.constantFrom(...CIDRS, ...ADDRS))
    .map((p) => p.join('')),
  fc.tuple(fc.constantFrom('', 'src ', 'dst '), fc.constant('port '), num).map((p) => p.join('')),
  fc
    .tuple(
      fc.constantFrom('port', 'dst port', 'vni', 'bytes', 'packets', 'src_as'),
      fc.constantFrom('=', '!=', '<', '<=', '>', '>=', '=='),
      num,
    )
    .map((p) => p.join(' ')),
  fc.constantFrom('tcp', 'udp', 'icmp', 'icmp6', 'ipv4', 'ipv6', 'proto tcp', 'proto 17', 'proto gre'),
  fc.constantFrom(
    'flags S',
    'flags SA',
    'flags F',
    'flags 0x12',
    'class east-west',
    'class north-south',
    'tunnel vxlan',
    'tunnel none',
  ),
  fc
    .tuple(
      fc.constantFrom('tenant', 'network', 'subnet', 'src endpoint', 'dst subnet', 'src_endpoint ='),
      quoted,
    )
    .map((p) => p.join(' ')),
  fc.tuple(fc.constantFrom('network like', 'tenant not like', 'subnet like'), quoted).map((p) => p.join(' ')),
  fc
    .tuple(
      fc.constantFrom('vni', 'vlan', 'in if', 'out if', 'src as', 'as', 'dst_mask'),
      fc.nat({ max: 70000 }),
    )
    .map((p) => p.join(' ')),
  fc
    .tuple(fc.constantFrom('vtep', 'src vtep', 'exporter', 'next_hop ='), fc.constantFrom(...ADDRS, ...CIDRS))
    .map((p) => p.join(' ')),
  fc
    .tuple(
      fc.constantFrom('port in', 'dst port not in', 'tenant in'),
      fc.array(fc.oneof(num, quoted), { minLength: 1, maxLength: 4 }),
      fc.constantFrom(', ', ' ', ','),
    )
    .map(([k, vs, sep]) => `${k} [${vs.join(sep)}]`),
  fc.constantFrom(
    "time_received >= '2026-11-25 10:00:00'",
    'flow_end < 1764064800',
    'src_mac 02:00:de:ad:be:ef',
  ),
);

/** A filter from the grammar: mostly valid. */
export const filterText: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc
      .tuple(tie('expr'), fc.constantFrom(' and ', ' or ', ' && ', ' || ', 'and', ' AND '), tie('expr'))
      .map((p) => p.join('')),
    tie('expr').map((e) => `not ${e}`),
    tie('expr').map((e) => `!${e}`),
    tie('expr').map((e) => `(${e})`),
  ),
})).expr;

/** Token soup: the vocabulary in any order, often invalid. */
export const tokenSoup: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'and',
        'or',
        'not',
        '!',
        '&&',
        '||',
        '(',
        ')',
        '[',
        ']',
        ',',
        'in',
        'like',
        'src',
        'dst',
        'host',
        'net',
        'port',
        'proto',
        'tcp',
        'flags',
        'S',
        'class',
        'east-west',
        'tenant',
        'vni',
        'bytes',
        '>',
        '>=',
        '=',
        '!=',
        '1M',
        '443',
        '10.0.0.0/8',
        '2001:db8::/32',
        "'",
        '"',
        "'a'",
        '\\',
        '-',
        '1-2',
        '::',
        'in if',
        'constructor',
        '__proto__',
        'toString',
        'hasOwnProperty',
      ),
      quoted,
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 25 },
  )
  .map((ts) => ts.join(' '));
