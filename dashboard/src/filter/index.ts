/**
 * The dashboard's filter language: nfdump/pcap-style filters compiled to a ClickHouse
 * boolean expression over the canonical columns of `flows` (and of the rollups, when every
 * column it reads is a rollup column).
 *
 *   proto tcp and dst port 443 and vni 5001 and not src net 10.0.0.0/8
 *   bytes > 1M        flags S and not flags A        class east-west        host 2001:db8::1
 *
 * Grammar: parser.ts (EBNF in its opening comment); tokens: lexer.ts; values: values.ts;
 * fields (schema columns + keywords): fields.ts; SQL: compile.ts.
 *
 * Decisions:
 * - Counters are compared as exported: `bytes > 1M` tests the stored `bytes` column, NOT
 *   bytes × sampling_rate. A filter is a per-row predicate on what the row holds (as in
 *   nfdump); scaling belongs to the aggregates (sum(bytes * sampling_rate)). To filter on a
 *   scaled volume, compare `sampling_rate` too, or use a HAVING on the scaled sum.
 * - Number suffixes: k, M, G, T are powers of 10 (1M = 1,000,000; case-insensitive, so 1m
 *   is 1M too); Ki, Mi, Gi, Ti are powers of 2 (1Ki = 1024). Decimals allowed when the
 *   result is whole (1.5k = 1500). Hex with 0x.
 * - Lists: `port in [80, 443]` (commas optional), `not in [...]`; ranges `port 1024-65535`.
 * - src-or-dst keywords (host, ip, net, port, as, mask, subnet, endpoint, vtep, mac, if):
 *   bare they match either side; `=`, `<`, `in`, `like` hold when either side does, and the
 *   negations (`!=`, `not in`, `not like`) when neither side does (= not (port 80)).
 * - `host` takes an address (IPv4 or IPv6; IPv4-mapped text is IPv4), `net` a CIDR (host bits
 *   ignored: 10.1.2.3/8 = 10.0.0.0/8) or an address. A CIDR is compiled as a range of the
 *   16-byte column, `col >= lo AND col <= hi`, both bounds bound through ip(): FixedString
 *   compares bytewise on every release, and the functions used (IPv6StringToNum,
 *   IPv4ToIPv6, IPv4StringToNum, bitAnd, LIKE, IN, toDateTime) exist on 18.16 and current
 *   ones (tested here on 18.16, the only server on this machine). An IPv4 CIDR is taken
 *   within ::ffff:0:0/96, so it never matches IPv6 flows; an IPv6 one covering that range
 *   (::/0, ::ffff:10.0.0.0/104) matches IPv4 flows too.
 * - Strings: bare words (letters, digits, - _ . : /) or quoted with ' or "; inside quotes a
 *   backslash escapes only the quote and itself (others stay: 'web\%' is web\%). `like`
 *   patterns: % and _ wildcards, backslash may escape only %, _ and \ (releases disagree
 *   on the rest). Strings compare exactly (case-sensitive); keywords and column names and
 *   value names (tcp, vxlan, east-west) are case-insensitive.
 * - Error positions are 0-based character offsets (UTF-16 units) into the text.
 * - Limits: MAX_FILTER_LENGTH characters (4096), MAX_FILTER_DEPTH (50) nested ( and not.
 * - Words and/or/not/in/like are grammar: quote them to use them as values (tenant 'in').
 * - Output: '1' for an empty filter, otherwise one parenthesised expression, so the caller
 *   can write `tenant = X AND <sql>` and nothing the filter says can widen it.
 */
import { compileNode } from './compile.ts';
import { FilterError } from './errors.ts';
import { parseFilter } from './parser.ts';

export { FilterError, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from './errors.ts';
export { FILTER_KEYWORDS, type FilterKeyword } from './keywords.ts';
export { parseFilter } from './parser.ts';
export type { Node as FilterNode } from './ast.ts';

export interface CompiledFilter {
  /** ClickHouse boolean expression over canonical column names; '1' for an empty filter */
  sql: string;
  /** the schema columns the expression reads (lets the planner pick a rollup table when all are rollup columns) */
  columns: ReadonlySet<string>;
}

/** Compiles a filter; throws FilterError (and nothing else) for anything that is not one. */
export function compileFilter(text: string): CompiledFilter {
  const ast = parseFilter(text);
  const columns = new Set<string>();
  const expr = compileNode(ast, columns);
  return { sql: ast.type === 'all' ? '1' : `(${expr})`, columns };
}

export type FilterValidation =
  | { ok: true; columns: string[] }
  | { ok: false; error: string; position: number; expected: string; got: string };

/** For the UI: the columns a filter reads, or where and why it is wrong. */
export function validateFilter(text: string): FilterValidation {
  try {
    return { ok: true, columns: [...compileFilter(text).columns] };
  } catch (err) {
    if (err instanceof FilterError) {
      return { ok: false, error: err.message, position: err.position, expected: err.expected, got: err.got };
    }
    throw err;
  }
}
