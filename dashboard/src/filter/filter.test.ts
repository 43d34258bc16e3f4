import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMNS } from '../../../protocol/src/schema/columns.ts';
import {
  compileFilter,
  FILTER_KEYWORDS,
  FilterError,
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  validateFilter,
} from './index.ts';
import { ALIASES, PAIRS, SHORTHANDS } from './fields.ts';
import { addressText, parseAddress, parseCidr, parseDateTime, parseMac, parseUnsigned } from './values.ts';

const v4 = (a: string) => `IPv4ToIPv6(IPv4StringToNum('${a}'))`;
const v6 = (a: string) => `IPv6StringToNum('${a}')`;
const sqlOf = (f: string) => compileFilter(f).sql;
const colsOf = (f: string) => [...compileFilter(f).columns].sort();

function errorOf(f: string): FilterError {
  try {
    compileFilter(f);
  } catch (err) {
    if (err instanceof FilterError) return err;
    throw err;
  }
  throw new Error(`no error for ${JSON.stringify(f)}`);
}

describe('filter keywords compile to the expected SQL', () => {
  const cases: [string, string][] = [
    ['', '1'],
    ['   ', '1'],
    ['port 53', '((src_port = 53) OR (dst_port = 53))'],
    ['src port 53', '(src_port = 53)'],
    ['dst port 443', '(dst_port = 443)'],
    [
      'port 1024-65535',
      '(((src_port >= 1024 AND src_port <= 65535)) OR ((dst_port >= 1024 AND dst_port <= 65535)))',
    ],
    ['dst port in [80, 443]', '(dst_port IN (80, 443))'],
    [
      'dst port in [80 443 8000-8999]',
      '((dst_port IN (80, 443)) OR ((dst_port >= 8000 AND dst_port <= 8999)))',
    ],
    ['dst port not in [80]', '(NOT (dst_port = 80))'],
    ['port != 80', '(NOT ((src_port = 80) OR (dst_port = 80)))'],
    ['port > 1024', '((src_port > 1024) OR (dst_port > 1024))'],
    ['dst port 5-5', '(dst_port = 5)'],
    ['host 10.0.0.1', `((src_addr = ${v4('10.0.0.1')}) OR (dst_addr = ${v4('10.0.0.1')}))`],
    ['src host 10.0.0.1', `(src_addr = ${v4('10.0.0.1')})`],
    ['dst host ::ffff:10.0.0.1', `(dst_addr = ${v4('10.0.0.1')})`],
    ['host 2001:db8::1', `((src_addr = ${v6('2001:db8::1')}) OR (dst_addr = ${v6('2001:db8::1')}))`],
    ['src ip 10.0.0.1', `(src_addr = ${v4('10.0.0.1')})`],
    ['src net 10.0.0.0/8', `((src_addr >= ${v4('10.0.0.0')} AND src_addr <= ${v4('10.255.255.255')}))`],
    ['src net 10.1.2.3/8', `((src_addr >= ${v4('10.0.0.0')} AND src_addr <= ${v4('10.255.255.255')}))`],
    ['dst net 10.1.2.3', `(dst_addr = ${v4('10.1.2.3')})`],
    ['dst net 10.1.2.3/32', `(dst_addr = ${v4('10.1.2.3')})`],
    ['src net 0.0.0.0/0', `((src_addr >= ${v4('0.0.0.0')} AND src_addr <= ${v4('255.255.255.255')}))`],
    [
      'dst net 2001:db8::/32',
      `((dst_addr >= ${v6('2001:db8::')} AND dst_addr <= ${v6('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')}))`,
    ],
    [
      'net 10.1.0.0/16',
      `(((src_addr >= ${v4('10.1.0.0')} AND src_addr <= ${v4('10.1.255.255')})) OR ((dst_addr >= ${v4('10.1.0.0')} AND dst_addr <= ${v4('10.1.255.255')})))`,
    ],
    ['proto tcp', '(proto = 6)'],
    ['proto UDP', '(proto = 17)'],
    ['proto 17', '(proto = 17)'],
    ['protocol icmp6', '(proto = 58)'],
    ['tcp', '(proto = 6)'],
    ['udp', '(proto = 17)'],
    ['icmp', '(proto = 1)'],
    ['icmp6', '(proto = 58)'],
    ['ipv6', '(ip_version = 6)'],
    ['inet', '(ip_version = 4)'],
    ['flags S', '(bitAnd(tcp_flags, 2) = 2)'],
    ['flags SA', '(bitAnd(tcp_flags, 18) = 18)'],
    ['flags fsrpauec', '(bitAnd(tcp_flags, 255) = 255)'],
    ['flags 0x12', '(bitAnd(tcp_flags, 18) = 18)'],
    ['flags S and not flags A', '((bitAnd(tcp_flags, 2) = 2) AND (NOT (bitAnd(tcp_flags, 16) = 16)))'],
    ['class east-west', "(traffic_class = 'east-west')"],
    ['class North-South', "(traffic_class = 'north-south')"],
    ['class unknown', "(traffic_class = '')"],
    ['network web-tier', "(network = 'web-tier')"],
    ['tenant acme', "(tenant = 'acme')"],
    ["tenant 'o\\'brien'", "(tenant = 'o\\'brien')"],
    ['tenant "in"', "(tenant = 'in')"],
    ['subnet db', "((src_subnet = 'db') OR (dst_subnet = 'db'))"],
    ['dst subnet db', "(dst_subnet = 'db')"],
    ['src endpoint web-1', "(src_endpoint = 'web-1')"],
    ['endpoint web-1', "((src_endpoint = 'web-1') OR (dst_endpoint = 'web-1'))"],
    ['exporter 192.0.2.1', `(exporter = ${v4('192.0.2.1')})`],
    ['exporter 192.0.2.0/24', `((exporter >= ${v4('192.0.2.0')} AND exporter <= ${v4('192.0.2.255')}))`],
    ['tunnel vxlan', '(tunnel_type = 1)'],
    ['tunnel geneve', '(tunnel_type = 3)'],
    ['tunnel none', '(tunnel_type = 0)'],
    ['vtep 192.0.2.9', `((tunnel_src = ${v4('192.0.2.9')}) OR (tunnel_dst = ${v4('192.0.2.9')}))`],
    ['dst vtep 192.0.2.9', `(tunnel_dst = ${v4('192.0.2.9')})`],
    ['in if 3', '(in_if = 3)'],
    ['out if 4', '(out_if = 4)'],
    ['if 3', '((in_if = 3) OR (out_if = 3))'],
    ['src as 65000', '(src_as = 65000)'],
    ['dst as AS64512', '(dst_as = 64512)'],
    ['as 65000', '((src_as = 65000) OR (dst_as = 65000))'],
    ['src mask 24', '(src_mask = 24)'],
    ['src mac 02:00:de:ad:be:ef', '(src_mac = 2202759184111)'],
    ['mac 02-00-DE-AD-BE-EF', '((src_mac = 2202759184111) OR (dst_mac = 2202759184111))'],
    ['nexthop 192.0.2.254', `(next_hop = ${v4('192.0.2.254')})`],
    ['next-hop 192.0.2.254', `(next_hop = ${v4('192.0.2.254')})`],
    ['vni 5001', '(vni = 5001)'],
    ['vlan 100', '(vlan = 100)'],
    ['direction egress', '(direction = 1)'],
    ['bytes > 1M', '(bytes > 1000000)'],
    ['bytes > 1m', '(bytes > 1000000)'],
    ['bytes >= 1.5k', '(bytes >= 1500)'],
    ['bytes < 2Gi', '(bytes < 2147483648)'],
    ['bytes <= 1T', '(bytes <= 1000000000000)'],
    ['bytes = 18446744073709551615', '(bytes = 18446744073709551615)'],
    ['packets >= 10', '(packets >= 10)'],
    ['packets == 10', '(packets = 10)'],
    ['packets <> 10', '(NOT (packets = 10))'],
    ['sampling_rate > 1', '(sampling_rate > 1)'],
    ['DST_PORT = 443', '(dst_port = 443)'],
    ['dst_port 443', '(dst_port = 443)'],
    ['src_addr = 10.0.0.0/8', `((src_addr >= ${v4('10.0.0.0')} AND src_addr <= ${v4('10.255.255.255')}))`],
    ['traffic_class = east-west', "(traffic_class = 'east-west')"],
    ["network like 'web-%'", "(network LIKE 'web-%')"],
    ['network not like "web%"', "(NOT (network LIKE 'web%'))"],
    ["network like 'a\\%b'", "(network LIKE 'a\\\\%b')"],
    ["network like 'a\\_b'", "(network LIKE 'a\\\\_b')"],
    ["network like 'it\\'s'", "(network LIKE 'it\\'s')"],
    ['subnet like db_', "((src_subnet LIKE 'db_') OR (dst_subnet LIKE 'db_'))"],
    ['tenant in [acme, "b c"]', "(tenant IN ('acme', 'b c'))"],
    ["time_received >= '2026-11-25 10:00:00'", "(time_received >= toDateTime('2026-11-25 10:00:00', 'UTC'))"],
    ['flow_end < 2026-11-25T10:00Z', "(flow_end < toDateTime('2026-11-25 10:00:00', 'UTC'))"],
    ['flow_start > 1764064800', "(flow_start > toDateTime('2025-11-25 10:00:00', 'UTC'))"],
    [
      '(port 80 or port 443) and vni 5001',
      '((((src_port = 80) OR (dst_port = 80)) OR ((src_port = 443) OR (dst_port = 443))) AND (vni = 5001))',
    ],
  ];
  for (const [filter, sql] of cases) {
    it(filter === '' ? '(empty)' : filter, () => expect(sqlOf(filter)).toBe(sql));
  }

  it('the issue example', () => {
    expect(sqlOf('proto tcp and dst port 443 and vni 5001 and not src net 10.0.0.0/8')).toBe(
      `((proto = 6) AND (dst_port = 443) AND (vni = 5001) AND (NOT ((src_addr >= ${v4('10.0.0.0')} AND src_addr <= ${v4('10.255.255.255')}))))`,
    );
    expect(colsOf('proto tcp and dst port 443 and vni 5001 and not src net 10.0.0.0/8')).toEqual([
      'dst_port',
      'proto',
      'src_addr',
      'vni',
    ]);
  });

  it('and binds tighter than or; not tighter than and; && || ! are the same', () => {
    expect(sqlOf('vni 1 or vni 2 and vni 3')).toBe('((vni = 1) OR ((vni = 2) AND (vni = 3)))');
    expect(sqlOf('vni 1 || vni 2 && vni 3')).toBe(sqlOf('vni 1 or vni 2 and vni 3'));
    expect(sqlOf('not vni 1 and vni 2')).toBe('((NOT (vni = 1)) AND (vni = 2))');
    expect(sqlOf('!vni 1 and vni 2')).toBe(sqlOf('not vni 1 and vni 2'));
    expect(sqlOf('(vni 1 or vni 2) and vni 3')).toBe('(((vni = 1) OR (vni = 2)) AND (vni = 3))');
    expect(sqlOf('not not tcp')).toBe('(NOT (NOT (proto = 6)))');
    expect(sqlOf('((((tcp))))')).toBe('(proto = 6)');
    expect(sqlOf('tcp AND Port 22 OR UDP')).toBe(
      '(((proto = 6) AND ((src_port = 22) OR (dst_port = 22))) OR (proto = 17))',
    );
  });

  it('reports the columns read', () => {
    expect(colsOf('')).toEqual([]);
    expect(colsOf('host 10.0.0.1 or tenant a')).toEqual(['dst_addr', 'src_addr', 'tenant']);
    expect(colsOf('flags S')).toEqual(['tcp_flags']);
    expect(colsOf('class east-west and network x and vni 1 and proto tcp and dst port 80')).toEqual([
      'dst_port',
      'network',
      'proto',
      'traffic_class',
      'vni',
    ]);
  });

  it('every column of the schema can be filtered by its own name', () => {
    for (const c of COLUMNS) {
      const value =
        c.kind === 'ip'
          ? '10.0.0.1'
          : c.kind === 'mac'
            ? '02:00:00:00:00:01'
            : c.kind === 'string'
              ? c.name === 'traffic_class'
                ? 'east-west'
                : 'x'
              : c.kind === 'datetime'
                ? "'2026-11-25 10:00:00'"
                : '1';
      const out = compileFilter(`${c.name} = ${value}`);
      expect([...out.columns], c.name).toEqual([c.name]);
      expect(out.sql.startsWith(`(${c.name} = `), c.name).toBe(true);
    }
  });

  it('every keyword maps onto columns the schema has', () => {
    const names = new Set<string>(COLUMNS.map((c) => c.name));
    for (const [, p] of PAIRS) for (const c of [...p.both.columns]) expect(names.has(c)).toBe(true);
    for (const [, f] of ALIASES) expect(names.has(f.columns[0])).toBe(true);
    for (const [, s] of SHORTHANDS) expect(names.has(s.column)).toBe(true);
    expect([...PAIRS.keys()].sort()).toEqual(
      ['as', 'endpoint', 'host', 'if', 'ip', 'mac', 'mask', 'net', 'port', 'subnet', 'vtep'].sort(),
    );
  });
});

describe('FILTER_KEYWORDS', () => {
  it('lists the keywords and every column, each example compiling', () => {
    const words = FILTER_KEYWORDS.map((k) => k.keyword);
    for (const w of [
      'host',
      'net',
      'port',
      'proto',
      'flags',
      'class',
      'tunnel',
      'vtep',
      'and',
      'or',
      'not',
    ]) {
      expect(words).toContain(w);
    }
    for (const c of COLUMNS) expect(words).toContain(c.name);
    const values = (w: string) => FILTER_KEYWORDS.find((k) => k.keyword === w)?.values;
    expect(values('proto')).toContain('tcp');
    expect(values('tunnel')).toContain('vxlan');
    expect(values('class')).toEqual(['east-west', 'north-south', 'unknown']);
    expect(values('flags')).toEqual(['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C']);
    expect(values('traffic_class')).toEqual(values('class'));
    expect(new Set(words).size).toBe(words.length);
    for (const k of FILTER_KEYWORDS) {
      expect(k.description.length, k.keyword).toBeGreaterThan(0);
      for (const v of k.values ?? []) {
        const f = k.keyword === 'flags' ? `flags ${v}` : `${k.keyword} ${v}`;
        expect(() => compileFilter(f), f).not.toThrow();
      }
      expect(() => compileFilter(k.example), k.example).not.toThrow();
    }
  });
});

describe('errors: position (0-based), what was expected, what came', () => {
  const cases: [string, number, string, string][] = [
    ['proto tcp and dst port https', 23, 'a port number', 'https'],
    ['dst port', 8, 'a port number', ''],
    ['port 70000', 5, 'a port number (0-65535)', '70000'],
    ['port 2000-1000', 5, 'a range low-high with low ≤ high', '2000-1000'],
    ['proto tcpp', 6, 'a protocol name or number', 'tcpp'],
    ['proto 256', 6, 'a protocol name or number (0-255)', '256'],
    ['proto constructor', 6, 'a protocol name or number', 'constructor'],
    ['class __proto__', 6, 'east-west, north-south or unknown', '__proto__'],
    [
      'tunnel toString',
      7,
      'a tunnel type (none, vxlan, gre, nvgre, geneve, lisp, stt) or number',
      'toString',
    ],
    ['host 10.0.0.0/8', 5, 'an IP address', '10.0.0.0/8'],
    ['host 10.0.0.256', 5, 'an IP address', '10.0.0.256'],
    ['net 10.0.0.0/33', 4, 'a CIDR or IP address', '10.0.0.0/33'],
    ['net 2001:db8::/129', 4, 'a CIDR or IP address', '2001:db8::/129'],
    ['net web', 4, 'a CIDR or IP address', 'web'],
    ['tenant other or 1=1', 16, 'a filter keyword, a column name or (', '1'],
    ['tcp udp', 4, "'and', 'or' or end of input", 'udp'],
    ['tcp )', 4, "'and', 'or' or end of input (this ) closes no ()", ')'],
    ['port 80,443', 7, "'and', 'or' or end of input (a list is written in [a, b])", ','],
    ["network like 'a\\b'", 13, 'a pattern whose backslashes escape only %, _ or a backslash', "'a\\b'"],
    ['(tcp', 4, "')' to close the ( at 0, 'and' or 'or'", ''],
    ['tcp and', 7, 'a filter keyword, a column name or (', ''],
    ['and tcp', 0, 'a filter keyword, a column name or (', 'and'],
    [
      'src tcp',
      4,
      "'host', 'ip', 'net', 'port', 'as', 'mask', 'subnet', 'endpoint', 'vtep', 'mac' after 'src'",
      'tcp',
    ],
    ['in port 3', 3, "'if' after 'in'", 'port'],
    [
      'src if 3',
      4,
      "'host', 'ip', 'net', 'port', 'as', 'mask', 'subnet', 'endpoint', 'vtep', 'mac' after 'src'",
      'if',
    ],
    ['flags SX', 6, 'TCP flag letters (FSRPAUEC) or a number', 'SX'],
    ['flags', 5, 'TCP flag letters (FSRPAUEC) or a number', ''],
    ['tenant and', 7, 'a tenant name', 'and'],
    ['tenant', 6, 'a tenant name', ''],
    ["tenant 'acme", 12, "a closing ' for the string at 7", ''],
    ['tenant "a\\', 10, 'a closing " for the string at 7', ''],
    ['tenant > a', 7, "'=', '!=', 'in' or a value (no order on this field)", '>'],
    ['host < 10.0.0.1', 5, "'=', '!=', 'in' or a value (no order on this field)", '<'],
    ['port < 1-2', 7, 'a port number', '1-2'],
    ['vni like 5', 4, "a VNI ('like' is for text fields)", 'like'],
    ['network like (', 13, "a pattern ('web-%')", '('],
    ['port in 80', 8, "'[' to start a list", '80'],
    ['port in []', 9, 'a port number', ']'],
    ['port in [80,', 12, "']' to close the list at 8", ''],
    ['bytes > 1.5', 8, 'a number', '1.5'],
    ['bytes > 1X', 8, 'a number', '1X'],
    ['bytes > 100000000000000000000', 8, 'a number (0-18446744073709551615)', '100000000000000000000'],
    ['nosuchfield 1', 0, 'a filter keyword, a column name or (', 'nosuchfield'],
    ['tcp & udp', 4, "'&&'", '&'],
    ['tcp | udp', 4, "'||'", '|'],
    ['tcp ; drop', 4, 'a word, a quoted string, an operator or a parenthesis', ';'],
    ['tenant é', 7, 'a word, a quoted string, an operator or a parenthesis', 'é'],
    ['tenant 😀', 7, 'a word, a quoted string, an operator or a parenthesis', '😀'],
    ['src_mac 02:00:de:ad:be', 8, 'a MAC address (aa:bb:cc:dd:ee:ff)', '02:00:de:ad:be'],
    [
      "time_received > '2026-02-30'",
      16,
      "a date-time ('YYYY-MM-DD HH:MM:SS' UTC, or Unix seconds)",
      "'2026-02-30'",
    ],
  ];
  for (const [filter, position, expected, got] of cases) {
    it(filter, () => {
      const e = errorOf(filter);
      expect({ position: e.position, expected: e.expected, got: e.got }).toEqual({ position, expected, got });
      expect(e.message).toBe(
        `at ${position}: expected ${expected}, got ${got === '' ? 'end of input' : `'${got}'`}`,
      );
    });
  }

  it('the message of the issue', () => {
    expect(errorOf('dst port https').message).toBe("at 9: expected a port number, got 'https'");
  });

  it('bounds the length and the depth', () => {
    const long = `tenant ${'a'.repeat(MAX_FILTER_LENGTH)}`;
    const e = errorOf(long);
    expect(e.position).toBe(MAX_FILTER_LENGTH);
    expect(e.expected).toBe(`a filter of at most ${MAX_FILTER_LENGTH} characters`);
    expect(e.got.length).toBeLessThanOrEqual(41);
    expect(() => compileFilter(`tenant ${'a'.repeat(MAX_FILTER_LENGTH - 7)}`)).not.toThrow();

    const ok = `${'('.repeat(MAX_FILTER_DEPTH)}tcp${')'.repeat(MAX_FILTER_DEPTH)}`;
    expect(sqlOf(ok)).toBe('(proto = 6)');
    const deep = errorOf(`${'('.repeat(MAX_FILTER_DEPTH + 1)}tcp${')'.repeat(MAX_FILTER_DEPTH + 1)}`);
    expect(deep.position).toBe(MAX_FILTER_DEPTH);
    expect(deep.expected).toBe(`at most ${MAX_FILTER_DEPTH} nested parentheses and nots`);
    expect(errorOf(`${'not '.repeat(MAX_FILTER_DEPTH + 1)}tcp`).position).toBe(MAX_FILTER_DEPTH * 4);
    expect(errorOf(`${'!('.repeat(30)}tcp${')'.repeat(30)}`).expected).toMatch(/nested/);
    // and/or chains are flat: a thousand terms are one level
    expect(() => compileFilter(Array(500).fill('tcp').join(' or '))).not.toThrow();
  });

  it('quotes only part of a long token', () => {
    const e = errorOf(`port ${'9'.repeat(100)}`);
    expect(e.got).toBe(`${'9'.repeat(40)}…`);
  });
});

describe('validateFilter', () => {
  it('answers the columns, or the error with its position', () => {
    expect(validateFilter('tcp and dst port 443')).toEqual({ ok: true, columns: ['proto', 'dst_port'] });
    expect(validateFilter('')).toEqual({ ok: true, columns: [] });
    expect(validateFilter('dst port https')).toEqual({
      ok: false,
      error: "at 9: expected a port number, got 'https'",
      position: 9,
      expected: 'a port number',
      got: 'https',
    });
  });
});

describe('values', () => {
  it('numbers: decimal and binary suffixes, decimals only when whole, hex', () => {
    expect(parseUnsigned('0')).toBe(0n);
    expect(parseUnsigned('1k')).toBe(1000n);
    expect(parseUnsigned('1K')).toBe(1000n);
    expect(parseUnsigned('1M')).toBe(1_000_000n);
    expect(parseUnsigned('3G')).toBe(3_000_000_000n);
    expect(parseUnsigned('1Ki')).toBe(1024n);
    expect(parseUnsigned('1Mi')).toBe(1048576n);
    expect(parseUnsigned('1.5M')).toBe(1_500_000n);
    expect(parseUnsigned('0x1F')).toBe(31n);
    for (const bad of ['', '1.5', '1.0001k', '1e6', 'k', '-1', '1kk', '0x', '1.', '.5k', '0xg']) {
      expect(parseUnsigned(bad), bad).toBeUndefined();
    }
  });

  it('CIDRs: IPv4 within the mapped range, IPv6, host bits ignored', () => {
    const r = (s: string) => {
      const c = parseCidr(s);
      return c && [addressText(c.lo), addressText(c.hi)];
    };
    expect(r('10.0.0.0/8')).toEqual(['10.0.0.0', '10.255.255.255']);
    expect(r('10.1.2.3/8')).toEqual(['10.0.0.0', '10.255.255.255']);
    expect(r('192.168.1.77/26')).toEqual(['192.168.1.64', '192.168.1.127']);
    expect(r('0.0.0.0/0')).toEqual(['0.0.0.0', '255.255.255.255']);
    expect(r('10.0.0.1')).toEqual(['10.0.0.1', '10.0.0.1']);
    expect(r('2001:db8::/32')).toEqual(['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff']);
    expect(r('2001:db8::1/127')).toEqual(['2001:db8::', '2001:db8::1']);
    expect(r('::/0')).toEqual(['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']);
    expect(r('::ffff:10.0.0.0/104')).toEqual(['10.0.0.0', '10.255.255.255']);
    expect(r('fe80::1%eth0/64')).toBeUndefined();
    for (const bad of ['10.0.0.0/', '10.0.0.0/33', '10/8', '::/129', '10.0.0.0/8/8', '10.0.0.0/+8', 'x/8']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('address text: RFC 5952, IPv4 for the mapped range', () => {
    const t = (a: string) => addressText(parseCidr(a)!.lo);
    expect(t('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(t('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1');
    expect(t('1:0:2:0:3:0:4:0')).toBe('1:0:2:0:3:0:4:0');
    expect(t('::')).toBe('::');
    expect(t('::1')).toBe('::1');
    expect(t('1::')).toBe('1::');
    expect(t('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(t('::ffff:0:1.2.3.4')).toBe('::ffff:0:102:304');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect(parseAddress(addressText(bytes))).toEqual(bytes);
      }),
    );
  });

  it('MACs and date-times', () => {
    expect(parseMac('ff:ff:ff:ff:ff:ff')).toBe(2 ** 48 - 1);
    expect(parseMac('ff:ff:ff:ff:ff')).toBeUndefined();
    expect(parseMac('ff:ff-ff:ff:ff:ff')).toBeUndefined();
    expect(parseDateTime('2026-11-25')).toBe(Date.UTC(2026, 10, 25));
    expect(parseDateTime('2026-11-25 10:00:01')).toBe(Date.UTC(2026, 10, 25, 10, 0, 1));
    expect(parseDateTime('0')).toBe(0);
    expect(parseDateTime('9999999999')).toBeUndefined();
    expect(parseDateTime('2026-13-01')).toBeUndefined();
    expect(parseDateTime('2026-11-25 24:00')).toBeUndefined();
  });
});
