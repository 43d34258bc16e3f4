/**
 * Recursive-descent parser: tokens → syntax tree (ast.ts), with every value checked against
 * its column's type while parsing, so errors point at the token that is wrong.
 *
 *   filter     = [ or ] END
 *   or         = and *( ( "or" / "||" ) and )
 *   and        = unary *( ( "and" / "&&" ) unary )
 *   unary      = ( "not" / "!" ) unary / primary
 *   primary    = "(" or ")" / shorthand / "flags" FLAGS / [ dir ] pair spec / field spec
 *   dir        = "src" / "dst"                    ; "in" / "out" before "if"
 *   pair       = "host" / "ip" / "net" / "port" / "as" / "mask" / "subnet" / "endpoint" / "vtep" / "mac" / "if"
 *   field      = COLUMN / "proto" / "protocol" / "tunnel" / "class" / "nexthop" / "next-hop"
 *   shorthand  = "tcp" / "udp" / "icmp" / "icmp6" / "sctp" / "gre" / "esp" / "ah" / "ipv4" / "inet" / "ipv6" / "inet6"
 *   spec       = value / cmp value / [ "not" ] "in" list / [ "not" ] "like" STRING
 *   cmp        = "=" / "==" / "!=" / "<>" / "<" / "<=" / ">" / ">="
 *   list       = "[" value *( [ "," ] value ) "]"
 *   value      = WORD / STRING    ; typed by the field: number[k|M|G|T|Ki|Mi|Gi|Ti], low-high,
 *                                 ; address, CIDR, MAC, name, date-time
 *
 * Keywords and column names are case-insensitive; values are not (except names like tcp).
 * Depth of parentheses and `not`s is bounded by MAX_FILTER_DEPTH, length by MAX_FILTER_LENGTH.
 */
import type { CompareOp, Node, Scalar, Test } from './ast.ts';
import { FilterError, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from './errors.ts';
import {
  ALIASES,
  COLUMN_FIELDS,
  type Field,
  FLAGS_COLUMN,
  PAIRS,
  RESERVED,
  SHORTHANDS,
  TCP_FLAGS,
  type ValueType,
} from './fields.ts';
import { type Token, tokenize } from './lexer.ts';
import { parseCidr, parseDateTime, parseMac, parseUnsigned } from './values.ts';

const START = 'a filter keyword, a column name or (';

export function parseFilter(text: string): Node {
  if (typeof text !== 'string') throw new FilterError(0, 'a filter string', String(text));
  if (text.length > MAX_FILTER_LENGTH) {
    throw new FilterError(
      MAX_FILTER_LENGTH,
      `a filter of at most ${MAX_FILTER_LENGTH} characters`,
      text.slice(MAX_FILTER_LENGTH),
    );
  }
  return new Parser(tokenize(text)).parse();
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parse(): Node {
    if (this.peek().kind === 'end') return { type: 'all' };
    const node = this.or(0);
    const t = this.peek();
    if (t.kind !== 'end') {
      throw new FilterError(
        t.pos,
        t.text === ')'
          ? "'and', 'or' or end of input (this ) closes no ()"
          : t.text === ','
            ? "'and', 'or' or end of input (a list is written in [a, b])"
            : "'and', 'or' or end of input",
        t.text,
      );
    }
    return node;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.i++;
    return t;
  }

  /** an unquoted word, compared case-insensitively */
  private isWord(t: Token, ...words: string[]): boolean {
    return t.kind === 'word' && words.includes(t.value.toLowerCase());
  }

  private or(depth: number): Node {
    const items = [this.and(depth)];
    for (;;) {
      const t = this.peek();
      if (!(this.isWord(t, 'or') || (t.kind === 'op' && t.value === '||'))) break;
      this.next();
      items.push(this.and(depth));
    }
    return items.length === 1 ? items[0] : { type: 'or', items };
  }

  private and(depth: number): Node {
    const items = [this.unary(depth)];
    for (;;) {
      const t = this.peek();
      if (!(this.isWord(t, 'and') || (t.kind === 'op' && t.value === '&&'))) break;
      this.next();
      items.push(this.unary(depth));
    }
    return items.length === 1 ? items[0] : { type: 'and', items };
  }

  private deeper(depth: number, t: Token): number {
    if (depth + 1 > MAX_FILTER_DEPTH) {
      throw new FilterError(t.pos, `at most ${MAX_FILTER_DEPTH} nested parentheses and nots`, t.text);
    }
    return depth + 1;
  }

  private unary(depth: number): Node {
    const t = this.peek();
    if (this.isWord(t, 'not') || (t.kind === 'op' && t.value === '!')) {
      const d = this.deeper(depth, t);
      this.next();
      return { type: 'not', item: this.unary(d) };
    }
    return this.primary(depth);
  }

  private primary(depth: number): Node {
    const t = this.peek();
    if (t.kind === 'punct' && t.value === '(') {
      const d = this.deeper(depth, t);
      this.next();
      const node = this.or(d);
      const close = this.peek();
      if (!(close.kind === 'punct' && close.value === ')')) {
        throw new FilterError(close.pos, `')' to close the ( at ${t.pos}, 'and' or 'or'`, close.text);
      }
      this.next();
      return node;
    }
    if (t.kind !== 'word') throw new FilterError(t.pos, START, t.text);
    const word = t.value.toLowerCase();

    const shorthand = SHORTHANDS.get(word);
    if (shorthand) {
      this.next();
      return test([shorthand.column], { op: '=', value: num(BigInt(shorthand.value)) });
    }
    if (word === 'flags' && FLAGS_COLUMN) {
      this.next();
      return test([FLAGS_COLUMN], { op: 'bits', mask: this.flags() });
    }
    if (word === 'src' || word === 'dst' || word === 'in' || word === 'out') {
      this.next();
      const k = this.peek();
      const key = k.kind === 'word' ? k.value.toLowerCase() : '';
      const pair = PAIRS.get(key);
      const forIf = word === 'in' || word === 'out';
      if (!pair || (key === 'if') !== forIf) {
        const allowed = forIf
          ? "'if'"
          : [...PAIRS.keys()]
              .filter((p) => p !== 'if')
              .map((p) => `'${p}'`)
              .join(', ');
        throw new FilterError(k.pos, `${allowed} after '${t.text}'`, k.text);
      }
      this.next();
      return this.spec(word === 'src' || word === 'in' ? pair.src : pair.dst);
    }
    const pair = PAIRS.get(word);
    if (pair) {
      this.next();
      return this.spec(pair.both);
    }
    const field = ALIASES.get(word) ?? COLUMN_FIELDS.get(word);
    if (field) {
      this.next();
      return this.spec(field);
    }
    throw new FilterError(t.pos, START, t.text);
  }

  /** `flags SA`: letters of FSRPAUEC (case-insensitive), or a number mask */
  private flags(): bigint {
    const t = this.peek();
    const expected = 'TCP flag letters (FSRPAUEC) or a number';
    if (t.kind !== 'word') throw new FilterError(t.pos, expected, t.text);
    const n = parseUnsigned(t.value);
    let mask = 0n;
    if (n !== undefined) {
      if (n === 0n || n > 0xffffn) throw new FilterError(t.pos, 'a flags mask of 1 to 65535', t.text);
      mask = n;
    } else {
      for (const ch of t.value) {
        const bit = own(TCP_FLAGS, ch.toUpperCase());
        if (bit === undefined) throw new FilterError(t.pos, expected, t.text);
        mask |= BigInt(bit);
      }
    }
    this.next();
    return mask;
  }

  /** what follows a field: value, cmp value, [not] in [list], [not] like 'pattern' */
  private spec(field: Field): Node {
    const t = this.peek();
    const cols = field.columns;
    if (t.kind === 'op' && t.value !== '!' && t.value !== '&&' && t.value !== '||') {
      this.next();
      const op = t.value;
      if (op === '=' || op === '!=') {
        const node = test(cols, this.value(field.type, true));
        return op === '=' ? node : { type: 'not', item: node };
      }
      if (field.type.kind !== 'uint' && field.type.kind !== 'time') {
        throw new FilterError(t.pos, "'=', '!=', 'in' or a value (no order on this field)", t.text);
      }
      const v = this.value(field.type, false);
      if (v.op !== '=') throw new Error('unreachable: a single value expected');
      return test(cols, { op: op as CompareOp, value: v.value });
    }
    let negate = false;
    if (this.isWord(t, 'not') && (this.isWord(this.peek(1), 'in') || this.isWord(this.peek(1), 'like'))) {
      negate = true;
      this.next();
    }
    const k = this.peek();
    let node: Node;
    if (this.isWord(k, 'in')) {
      this.next();
      node = this.list(field);
    } else if (this.isWord(k, 'like')) {
      if (field.type.kind !== 'string') {
        throw new FilterError(k.pos, `${field.type.expected} ('like' is for text fields)`, k.text);
      }
      this.next();
      const p = this.peek();
      if (p.kind !== 'string' && !(p.kind === 'word' && !RESERVED.has(p.value.toLowerCase()))) {
        throw new FilterError(p.pos, "a pattern ('web-%')", p.text);
      }
      if (!validLikeEscapes(p.value)) {
        throw new FilterError(p.pos, 'a pattern whose backslashes escape only %, _ or a backslash', p.text);
      }
      this.next();
      node = test(cols, { op: 'like', pattern: p.value });
    } else {
      node = test(cols, this.value(field.type, true));
    }
    return negate ? { type: 'not', item: node } : node;
  }

  private list(field: Field): Node {
    const open = this.peek();
    if (!(open.kind === 'punct' && open.value === '['))
      throw new FilterError(open.pos, "'[' to start a list", open.text);
    this.next();
    const tests: Test[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'punct' && t.value === ']' && tests.length > 0) {
        this.next();
        break;
      }
      if (tests.length > 0 && t.kind === 'punct' && t.value === ',') {
        this.next();
        continue;
      }
      if (t.kind === 'end') throw new FilterError(t.pos, `']' to close the list at ${open.pos}`, t.text);
      tests.push(this.value(field.type, true));
    }
    const cols = field.columns;
    const equal = tests.flatMap((x) => (x.op === '=' ? [x.value] : []));
    const rest = tests.filter((x) => x.op !== '=');
    const items: Node[] = rest.map((x) => test(cols, x));
    if (equal.length === 1) items.unshift(test(cols, { op: '=', value: equal[0] }));
    else if (equal.length > 1) items.unshift(test(cols, { op: 'in', values: equal }));
    return items.length === 1 ? items[0] : { type: 'or', items };
  }

  /**
   * One value of the field's type, consumed. `wide` allows what is more than one value: a
   * range (1024-65535) and a CIDR, returned as a 'between' test.
   */
  private value(type: ValueType, wide: boolean): Test {
    const t = this.peek();
    const fail = (expected = type.expected): never => {
      throw new FilterError(t.pos, expected, t.text);
    };
    if (t.kind !== 'word' && t.kind !== 'string') return fail();
    if (t.kind === 'word' && RESERVED.has(t.value.toLowerCase())) return fail();
    const text = t.value;
    let result: Test;
    switch (type.kind) {
      case 'uint': {
        const one = (s: string): bigint | undefined => {
          const named = type.names ? own(type.names, s.toLowerCase()) : undefined;
          if (named !== undefined) return BigInt(named);
          const digits = type.asPrefix && /^as\d/i.test(s) ? s.slice(2) : s;
          const n = parseUnsigned(digits);
          if (n !== undefined && n > type.max) fail(`${type.expected} (0-${type.max})`);
          return n;
        };
        const whole = one(text);
        if (whole !== undefined) {
          result = { op: '=', value: num(whole) };
          break;
        }
        const dash = text.indexOf('-', 1);
        if (wide && dash > 0) {
          const lo = one(text.slice(0, dash));
          const hi = one(text.slice(dash + 1));
          if (lo !== undefined && hi !== undefined) {
            if (lo > hi) fail(`a range low-high with low ≤ high`);
            result = lo === hi ? { op: '=', value: num(lo) } : { op: 'between', lo: num(lo), hi: num(hi) };
            break;
          }
        }
        return fail();
      }
      case 'ip': {
        const c = parseCidr(text);
        if (!c) return fail();
        const single = c.lo.every((b, k) => b === c.hi[k]);
        if (!single && !(wide && type.cidr)) return fail();
        result = single
          ? { op: '=', value: { t: 'ip', v: c.lo } }
          : { op: 'between', lo: ip(c.lo), hi: ip(c.hi) };
        break;
      }
      case 'string': {
        if (type.values) {
          const v = own(type.values, text.toLowerCase());
          if (v === undefined) return fail();
          result = { op: '=', value: { t: 'str', v } };
        } else result = { op: '=', value: { t: 'str', v: text } };
        break;
      }
      case 'mac': {
        const m = parseMac(text);
        if (m === undefined) return fail();
        result = { op: '=', value: num(BigInt(m)) };
        break;
      }
      case 'time': {
        const ms = parseDateTime(text);
        if (ms === undefined) return fail();
        result = { op: '=', value: { t: 'time', v: ms } };
        break;
      }
    }
    this.next();
    return result;
  }
}

/**
 * LIKE treats a backslash as an escape; ClickHouse releases differ on any other escape (18.16
 * matches nothing, current ones refuse the query), so only \%, \_ and \\ are accepted.
 */
function validLikeEscapes(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '\\') continue;
    const next = pattern[i + 1];
    if (next !== '%' && next !== '_' && next !== '\\') return false;
    i++;
  }
  return true;
}

/** rec[key] for the record's own keys only ('constructor' is no protocol name) */
function own<T>(rec: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}

const num = (v: bigint): Scalar => ({ t: 'num', v });
const ip = (v: Uint8Array): Scalar => ({ t: 'ip', v });
const test = (columns: readonly string[], t: Test): Node => ({ type: 'test', columns, test: t });
