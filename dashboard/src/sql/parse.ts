/**
 * A recursive-descent parser for the SELECT subset of ClickHouse SQL that the SQL endpoint
 * accepts (operator precedence as in ClickHouse's ExpressionListParsers):
 *
 *   query   := part { UNION ALL part } [;]
 *   part    := select | ( query )
 *   select  := [WITH expr AS name, …] SELECT [DISTINCT] items [FROM source {join}] [PREWHERE e]
 *              [WHERE e] [GROUP BY exprs [WITH TOTALS|ROLLUP|CUBE]] [HAVING e]
 *              [ORDER BY e [ASC|DESC] [NULLS FIRST|LAST] [COLLATE 's'], …]
 *              [LIMIT n [OFFSET m] BY exprs] [LIMIT n [, m] | LIMIT n OFFSET m]
 *   source  := name [FINAL] | db.name [FINAL] | ( query ) | tablefunction(args), each [[AS] alias]
 *   join    := [GLOBAL] [ANY|ALL|ASOF|SEMI|ANTI] [INNER|LEFT|RIGHT|FULL|CROSS] [OUTER] JOIN source
 *              (ON e | USING (names) | USING names) | , source
 *
 * Anything else (SETTINGS, FORMAT, INTO OUTFILE, ARRAY JOIN, SAMPLE, several statements, any
 * statement but SELECT) is refused here with a SqlRefused saying what. Depth is bounded
 * (MAX_DEPTH) on the tree itself, so neither nesting nor long operator chains can produce
 * SQL deep enough to crash ClickHouse 18.16 (about 1,000 levels).
 */
import type { Expr, Join, OrderItem, Query, Select, TableExpr, TypeArg, TypeNode } from './ast.ts';
import { SqlRefused } from './errors.ts';
import { type Token, tokenize } from './tokenize.ts';

export const MAX_DEPTH = 100;
export const MAX_LENGTH = 64 * 1024;

/** Words that end an expression or start a clause: never read as a bare alias or column. */
export const KEYWORDS = new Set(
  [
    'ALL',
    'AND',
    'ANTI',
    'ANY',
    'ARRAY',
    'AS',
    'ASC',
    'ASCENDING',
    'ASOF',
    'BETWEEN',
    'BY',
    'CASE',
    'CAST',
    'COLLATE',
    'CROSS',
    'CUBE',
    'DESC',
    'DESCENDING',
    'DISTINCT',
    'ELSE',
    'END',
    'EXCEPT',
    'EXTRACT',
    'FINAL',
    'FIRST',
    'FORMAT',
    'FROM',
    'FULL',
    'GLOBAL',
    'GROUP',
    'HAVING',
    'ILIKE',
    'IN',
    'INNER',
    'INTERSECT',
    'INTERVAL',
    'INTO',
    'IS',
    'JOIN',
    'LAST',
    'LEFT',
    'LIKE',
    'LIMIT',
    'LOCAL',
    'NOT',
    'NULL',
    'NULLS',
    'OFFSET',
    'ON',
    'OR',
    'ORDER',
    'OUTER',
    'PASTE',
    'PREWHERE',
    'QUALIFY',
    'RIGHT',
    'ROLLUP',
    'SAMPLE',
    'SELECT',
    'SEMI',
    'SETTINGS',
    'THEN',
    'TOTALS',
    'UNION',
    'USING',
    'WHEN',
    'WHERE',
    'WINDOW',
    'WITH',
  ].map((k) => k.toUpperCase()),
);

/** Keywords that are also function names when a '(' follows. */
export const KEYWORD_FUNCTIONS = new Set(['ANY', 'LEFT', 'RIGHT', 'CAST']);

/** Statements we recognise in order to say "only SELECT is allowed (got X)". */
const STATEMENTS = new Set([
  'INSERT',
  'ALTER',
  'DROP',
  'CREATE',
  'ATTACH',
  'DETACH',
  'RENAME',
  'TRUNCATE',
  'OPTIMIZE',
  'KILL',
  'SYSTEM',
  'SET',
  'USE',
  'SHOW',
  'DESCRIBE',
  'DESC',
  'EXPLAIN',
  'GRANT',
  'REVOKE',
  'CHECK',
  'EXISTS',
  'DELETE',
  'UPDATE',
  'REPLACE',
  'UNDROP',
  'EXCHANGE',
  'MOVE',
  'WATCH',
  'BACKUP',
  'RESTORE',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
]);

const TIME_UNITS = new Set(['SECOND', 'MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR']);
const COMPARISONS = new Set(['=', '==', '!=', '<>', '<', '>', '<=', '>=']);

const depthOf = new WeakMap<object, number>();

/** The depth of a parsed node (1 for a leaf). */
export function depth(node: object): number {
  return depthOf.get(node) ?? 1;
}

export class Parser {
  private tokens: Token[];
  private i = 0;
  /** recursion level, checked before descending so deep input cannot exhaust the stack */
  private level = 0;

  constructor(text: string) {
    if (text.length > MAX_LENGTH) {
      throw new SqlRefused(400, `query is ${text.length} characters long; the limit is ${MAX_LENGTH}`);
    }
    this.tokens = tokenize(text);
  }

  // ---- tokens ----

  private peek(k = 0): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  /** a bare word, compared case-insensitively */
  private isWord(word: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && t.value.toUpperCase() === word;
  }

  private isOp(op: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'op' && t.value === op;
  }

  private acceptWord(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (!this.isWord(words[k], k)) return false;
    this.i += words.length;
    return true;
  }

  private acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.next();
    return true;
  }

  private describe(t: Token): string {
    switch (t.kind) {
      case 'eof':
        return 'end of query';
      case 'string':
        return 'a string';
      case 'qident':
        return `quoted name ${JSON.stringify(t.value)}`;
      default:
        return `'${t.value}'`;
    }
  }

  private fail(expected: string, t: Token = this.peek()): never {
    throw new SqlRefused(400, `at ${t.pos}: expected ${expected}, got ${this.describe(t)}`);
  }

  private expectWord(word: string): void {
    if (!this.acceptWord(word)) this.fail(word);
  }

  private expectOp(op: string): void {
    if (!this.acceptOp(op)) this.fail(`'${op}'`);
  }

  private mk<T extends object>(node: T, ...kids: (object | undefined)[]): T {
    let d = 0;
    for (const k of kids) if (k) d = Math.max(d, depth(k));
    d += 1;
    if (d > MAX_DEPTH) throw new SqlRefused(400, `query is nested more than ${MAX_DEPTH} levels deep`);
    depthOf.set(node, d);
    return node;
  }

  /** an arithmetic, comparison or LIKE node; `*` is no operand (and `/` `*` would open a comment) */
  private bin(op: string, l: Expr, r: Expr): Expr {
    if (l.t === 'star' || r.t === 'star') throw new SqlRefused(400, `* is not an operand of ${op}`);
    return this.mk({ t: 'bin', op, l, r }, l, r);
  }

  private enter(): void {
    if (++this.level > MAX_DEPTH)
      throw new SqlRefused(400, `query is nested more than ${MAX_DEPTH} levels deep`);
  }

  private leave(): void {
    this.level--;
  }

  // ---- statements ----

  parseStatement(): Query {
    const first = this.peek();
    if (first.kind === 'eof') throw new SqlRefused(400, 'the query is empty');
    if (first.kind === 'ident' && STATEMENTS.has(first.value.toUpperCase())) {
      throw new SqlRefused(403, `only SELECT is allowed (got ${first.value.toUpperCase()})`);
    }
    if (!(this.isWord('SELECT') || this.isWord('WITH') || this.isOp('('))) {
      if (first.kind === 'ident')
        throw new SqlRefused(403, `only SELECT is allowed (got ${first.value.toUpperCase()})`);
      this.fail('SELECT');
    }
    const q = this.parseQuery();
    this.checkClauseWords();
    if (this.acceptOp(';')) {
      while (this.acceptOp(';')) {
        /* empty statements */
      }
      if (this.peek().kind !== 'eof') throw new SqlRefused(403, 'several statements are not allowed');
    }
    if (this.peek().kind !== 'eof') {
      this.checkClauseWords();
      this.fail('end of query');
    }
    return q;
  }

  /** clauses we recognise and refuse */
  private checkClauseWords(): void {
    if (this.isWord('SETTINGS')) throw new SqlRefused(403, 'the SETTINGS clause is not allowed');
    if (this.isWord('FORMAT'))
      throw new SqlRefused(403, 'the FORMAT clause is not allowed (answers are JSON)');
    if (this.isWord('INTO')) throw new SqlRefused(403, 'INTO OUTFILE is not allowed');
    if (this.isWord('ARRAY') && this.isWord('JOIN', 1))
      throw new SqlRefused(400, 'ARRAY JOIN is not supported; use arrayJoin()');
    if (this.isWord('LEFT') && this.isWord('ARRAY', 1))
      throw new SqlRefused(400, 'ARRAY JOIN is not supported; use arrayJoin()');
    if (this.isWord('SAMPLE')) throw new SqlRefused(400, 'SAMPLE is not supported');
    if (
      (this.isWord('UNION') && !this.isWord('ALL', 1)) ||
      this.isWord('EXCEPT') ||
      this.isWord('INTERSECT')
    ) {
      throw new SqlRefused(400, `${this.peek().value.toUpperCase()} is not supported; only UNION ALL is`);
    }
    if (this.isWord('WINDOW') || this.isWord('QUALIFY')) {
      throw new SqlRefused(400, `${this.peek().value.toUpperCase()} is not supported`);
    }
  }

  parseQuery(): Query {
    this.enter();
    const parts: (Select | Query)[] = [];
    for (;;) {
      if (this.isOp('(')) {
        this.next();
        parts.push(this.parseQuery());
        this.expectOp(')');
      } else {
        parts.push(this.parseSelect());
      }
      if (this.isWord('UNION') && this.isWord('ALL', 1)) {
        this.i += 2;
        continue;
      }
      break;
    }
    this.leave();
    return this.mk({ t: 'query', parts }, ...parts);
  }

  private parseSelect(): Select {
    const s: Select = { t: 'select', with: [], distinct: false, columns: [], joins: [] };
    const kids: (object | undefined)[] = [];
    if (this.acceptWord('WITH')) {
      do {
        const e = this.parseExpr();
        if (this.isWord('AS') && this.isOp('(', 1)) {
          throw new SqlRefused(
            400,
            'WITH name AS (subquery) is not supported; write WITH (SELECT …) AS name',
          );
        }
        if (!this.acceptWord('AS')) this.fail('AS name after a WITH expression');
        s.with.push(this.mk({ t: 'alias', e, name: this.parseName('a name') }, e));
      } while (this.acceptOp(','));
    }
    if (!this.acceptWord('SELECT')) this.fail('SELECT');
    if (this.acceptWord('DISTINCT')) s.distinct = true;
    else if (this.isWord('ALL') && !this.isOp('(', 1)) this.next();
    if (this.isWord('TOP')) throw new SqlRefused(400, 'SELECT TOP is not supported; use LIMIT');
    s.columns = this.parseItems(true);
    if (this.acceptWord('FROM')) {
      s.from = this.parseSource();
      kids.push(s.from);
      for (;;) {
        this.checkClauseWords();
        const j = this.parseJoin();
        if (!j) break;
        s.joins.push(j);
        kids.push(j.table, j.on, ...(j.using ?? []));
      }
    }
    this.checkClauseWords();
    if (this.acceptWord('PREWHERE')) s.prewhere = this.parseExpr();
    if (this.acceptWord('WHERE')) s.where = this.parseExpr();
    if (this.acceptWord('GROUP', 'BY')) {
      s.groupBy = this.parseExprList();
      if (this.acceptWord('WITH', 'TOTALS')) s.groupMod = 'TOTALS';
      else if (this.acceptWord('WITH', 'ROLLUP')) s.groupMod = 'ROLLUP';
      else if (this.acceptWord('WITH', 'CUBE')) s.groupMod = 'CUBE';
    }
    if (!s.groupMod && this.acceptWord('WITH', 'TOTALS')) s.groupMod = 'TOTALS';
    if (this.acceptWord('HAVING')) s.having = this.parseExpr();
    if (this.acceptWord('ORDER', 'BY')) s.orderBy = this.parseOrderList();
    if (this.acceptWord('LIMIT')) {
      const n = this.parseCount();
      let offset: string | undefined;
      if (this.acceptOp(',')) {
        offset = n;
        const m = this.parseCount();
        if (this.acceptWord('BY')) s.limitBy = { n: m, offset, by: this.parseExprList() };
        else s.limit = { n: m, offset };
      } else {
        if (this.acceptWord('OFFSET')) offset = this.parseCount();
        if (this.acceptWord('BY')) s.limitBy = { n, offset, by: this.parseExprList() };
        else s.limit = { n, offset };
      }
      if (s.limitBy && this.acceptWord('LIMIT')) {
        const n2 = this.parseCount();
        let off2: string | undefined;
        if (this.acceptOp(',')) {
          off2 = n2;
          s.limit = { n: this.parseCount(), offset: off2 };
        } else {
          if (this.acceptWord('OFFSET')) off2 = this.parseCount();
          s.limit = { n: n2, offset: off2 };
        }
      }
    }
    if (this.isWord('OFFSET'))
      throw new SqlRefused(400, 'OFFSET without LIMIT is not supported; write LIMIT n OFFSET m');
    this.checkClauseWords();
    kids.push(
      ...s.with,
      ...s.columns,
      s.prewhere,
      s.where,
      ...(s.groupBy ?? []),
      s.having,
      ...(s.orderBy ?? []).map((o) => o.e),
      ...(s.limitBy?.by ?? []),
    );
    return this.mk(s, ...kids);
  }

  /** a non-negative integer literal (LIMIT, OFFSET) */
  private parseCount(): string {
    const t = this.peek();
    if (t.kind !== 'number' || !/^[0-9]+$/.test(t.value)) this.fail('a whole number');
    this.next();
    return t.value;
  }

  private parseJoin(): Join | undefined {
    if (this.acceptOp(',')) {
      const table = this.parseSource();
      return this.mk({ kind: 'CROSS', global: false, table }, table);
    }
    const start = this.i;
    let global = false;
    if (this.acceptWord('GLOBAL')) global = true;
    else this.acceptWord('LOCAL');
    const words: string[] = [];
    for (const group of [
      ['ANY', 'ALL', 'ASOF', 'SEMI', 'ANTI'],
      ['INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS'],
      ['OUTER'],
    ]) {
      const w = group.find((g) => this.isWord(g));
      if (w) {
        words.push(w);
        this.next();
      }
    }
    // strictness may also follow the kind: LEFT ANY JOIN
    const after = ['ANY', 'ALL', 'ASOF', 'SEMI', 'ANTI'].find((g) => this.isWord(g));
    if (after) {
      words.unshift(after);
      this.next();
    }
    if (this.isWord('ARRAY')) throw new SqlRefused(400, 'ARRAY JOIN is not supported; use arrayJoin()');
    if (this.isWord('PASTE')) throw new SqlRefused(400, 'PASTE JOIN is not supported');
    if (!this.acceptWord('JOIN')) {
      if (this.i !== start) this.fail('JOIN');
      return undefined;
    }
    const table = this.parseSource();
    const j: Join = { kind: words.join(' '), global, table };
    if (this.acceptWord('ON')) j.on = this.parseExpr();
    else if (this.acceptWord('USING')) {
      if (this.acceptOp('(')) {
        j.using = this.parseExprList();
        this.expectOp(')');
      } else j.using = this.parseExprList();
      for (const u of j.using) if (u.t !== 'id') this.fail('column names after USING');
    } else if (!words.includes('CROSS')) this.fail('ON or USING');
    return this.mk(j, table, j.on, ...(j.using ?? []));
  }

  private parseSource(): TableExpr {
    this.enter();
    let src: TableExpr;
    if (this.isOp('(')) {
      this.next();
      if (!(this.isWord('SELECT') || this.isWord('WITH') || this.isOp('('))) this.fail('a subquery');
      const q = this.parseQuery();
      this.expectOp(')');
      src = this.mk({ t: 'subq', q }, q);
    } else {
      const t = this.peek();
      if (t.kind !== 'ident' && t.kind !== 'qident') this.fail('a table name or a subquery');
      if (t.kind === 'ident' && KEYWORDS.has(t.value.toUpperCase())) this.fail('a table name or a subquery');
      this.next();
      if (this.isOp('(')) {
        this.next();
        const args = this.isOp(')') ? [] : this.parseArgs();
        this.expectOp(')');
        src = this.mk({ t: 'tfn', name: t.value, args }, ...args);
      } else {
        const parts = [t.value];
        while (this.acceptOp('.')) parts.push(this.parseName('a table name'));
        const final = this.acceptWord('FINAL');
        src = { t: 'table', parts, final };
      }
    }
    if (this.isWord('SAMPLE')) throw new SqlRefused(400, 'SAMPLE is not supported');
    const alias = this.parseAlias();
    if (alias !== undefined) src.alias = alias;
    if (src.t === 'table' && !src.final && this.acceptWord('FINAL')) src.final = true;
    this.leave();
    return src;
  }

  /** [AS] alias, where a bare alias must not be a keyword */
  private parseAlias(): string | undefined {
    if (this.acceptWord('AS')) return this.parseName('an alias');
    const t = this.peek();
    if (t.kind === 'qident') {
      this.next();
      return t.value;
    }
    if (t.kind === 'ident' && !KEYWORDS.has(t.value.toUpperCase())) {
      this.next();
      return t.value;
    }
    return undefined;
  }

  private parseName(what: string): string {
    const t = this.peek();
    if (t.kind === 'qident' || (t.kind === 'ident' && !KEYWORDS.has(t.value.toUpperCase()))) {
      this.next();
      return t.value;
    }
    // keywords are fine as names after AS and after a dot when written plainly
    if (t.kind === 'ident') {
      this.next();
      return t.value;
    }
    this.fail(what);
  }

  /** SELECT items: expressions with optional aliases */
  private parseItems(select: boolean): Expr[] {
    const items: Expr[] = [];
    do items.push(this.parseExprWithAlias(select));
    while (this.acceptOp(','));
    return items;
  }

  private parseExprWithAlias(allowBare: boolean): Expr {
    const e = this.parseExpr();
    if (this.acceptWord('AS')) return this.mk({ t: 'alias', e, name: this.parseName('an alias') }, e);
    if (allowBare) {
      const t = this.peek();
      if (t.kind === 'qident' || (t.kind === 'ident' && !KEYWORDS.has(t.value.toUpperCase()))) {
        this.next();
        return this.mk({ t: 'alias', e, name: t.value }, e);
      }
    }
    return e;
  }

  private parseExprList(): Expr[] {
    const items: Expr[] = [];
    do items.push(this.parseExpr());
    while (this.acceptOp(','));
    return items;
  }

  private parseOrderList(): OrderItem[] {
    const items: OrderItem[] = [];
    do {
      const o: OrderItem = { e: this.parseExpr() };
      if (this.acceptWord('ASC') || this.acceptWord('ASCENDING')) o.dir = 'ASC';
      else if (this.acceptWord('DESC') || this.acceptWord('DESCENDING')) o.dir = 'DESC';
      if (this.acceptWord('NULLS')) {
        if (this.acceptWord('FIRST')) o.nulls = 'FIRST';
        else if (this.acceptWord('LAST')) o.nulls = 'LAST';
        else this.fail('FIRST or LAST');
      }
      if (this.acceptWord('COLLATE')) {
        const t = this.next();
        if (t.kind !== 'string') this.fail('a collation name in quotes', t);
        o.collate = t.value;
      }
      if (this.isWord('WITH') && this.isWord('FILL', 1))
        throw new SqlRefused(400, 'WITH FILL is not supported');
      items.push(o);
    } while (this.acceptOp(','));
    return items;
  }

  /** function arguments: expressions with aliases, lambdas */
  private parseArgs(): Expr[] {
    const args: Expr[] = [];
    do args.push(this.parseArg());
    while (this.acceptOp(','));
    return args;
  }

  private parseArg(): Expr {
    // x -> body
    if ((this.peek().kind === 'ident' || this.peek().kind === 'qident') && this.isOp('->', 1)) {
      const name = this.next().value;
      this.next();
      const body = this.parseExpr();
      return this.mk({ t: 'lambda', params: [name], body }, body);
    }
    // (x, y) -> body
    if (this.isOp('(')) {
      let k = 1;
      const names: string[] = [];
      for (;;) {
        const t = this.peek(k);
        if (t.kind !== 'ident' && t.kind !== 'qident') break;
        names.push(t.value);
        k++;
        if (this.isOp(',', k)) {
          k++;
          continue;
        }
        if (this.isOp(')', k) && this.isOp('->', k + 1)) {
          this.i += k + 2;
          const body = this.parseExpr();
          return this.mk({ t: 'lambda', params: names, body }, body);
        }
        break;
      }
    }
    return this.parseExprWithAlias(false);
  }

  // ---- expressions, lowest precedence first ----

  parseExpr(): Expr {
    this.enter();
    const e = this.parseTernary();
    this.leave();
    return e;
  }

  private parseTernary(): Expr {
    const c = this.parseOr();
    if (!this.acceptOp('?')) return c;
    const a = this.parseExpr();
    this.expectOp(':');
    const b = this.parseExpr();
    return this.mk({ t: 'ternary', c, a, b }, c, a, b);
  }

  private parseOr(): Expr {
    const items = [this.parseAnd()];
    while (this.acceptWord('OR')) items.push(this.parseAnd());
    return items.length === 1 ? items[0] : this.mk({ t: 'or', items }, ...items);
  }

  private parseAnd(): Expr {
    const items = [this.parseNot()];
    while (this.acceptWord('AND')) items.push(this.parseNot());
    return items.length === 1 ? items[0] : this.mk({ t: 'and', items }, ...items);
  }

  private parseNot(): Expr {
    if (this.isWord('NOT')) {
      this.next();
      this.enter();
      const e = this.parseNot();
      this.leave();
      return this.mk({ t: 'not', e }, e);
    }
    return this.parseIsNull();
  }

  private parseIsNull(): Expr {
    let e = this.parseComparison();
    while (this.isWord('IS')) {
      this.next();
      const not = this.acceptWord('NOT');
      this.expectWord('NULL');
      e = this.mk({ t: 'isnull', e, not }, e);
    }
    return e;
  }

  private parseComparison(): Expr {
    let l = this.parseBetween();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && COMPARISONS.has(t.value)) {
        this.next();
        const r = this.parseBetween();
        l = this.bin(t.value, l, r);
        continue;
      }
      const save = this.i;
      let global = false;
      let not = false;
      if (this.acceptWord('GLOBAL')) global = true;
      if (this.acceptWord('NOT')) not = true;
      if (this.acceptWord('IN')) {
        const r = this.parseBetween();
        l = this.mk({ t: 'in', e: l, r, not, global }, l, r);
        continue;
      }
      if (!global && (this.isWord('LIKE') || this.isWord('ILIKE'))) {
        const op = `${not ? 'NOT ' : ''}${this.next().value.toUpperCase()}`;
        const r = this.parseBetween();
        l = this.bin(op, l, r);
        continue;
      }
      this.i = save;
      return l;
    }
  }

  private parseBetween(): Expr {
    const e = this.parseConcat();
    const save = this.i;
    const not = this.acceptWord('NOT');
    if (this.acceptWord('BETWEEN')) {
      const lo = this.parseConcat();
      this.expectWord('AND');
      const hi = this.parseConcat();
      return this.mk({ t: 'between', e, lo, hi, not }, e, lo, hi);
    }
    this.i = save;
    return e;
  }

  private parseConcat(): Expr {
    let l = this.parseAdditive();
    while (this.isOp('||')) {
      this.next();
      const r = this.parseAdditive();
      l = this.bin('||', l, r);
    }
    return l;
  }

  private parseAdditive(): Expr {
    let l = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().value;
      const r = this.parseMultiplicative();
      l = this.bin(op, l, r);
    }
    return l;
  }

  private parseMultiplicative(): Expr {
    let l = this.parseUnary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().value;
      const r = this.parseUnary();
      l = this.bin(op, l, r);
    }
    return l;
  }

  private parseUnary(): Expr {
    if (this.isOp('-')) {
      this.next();
      this.enter();
      const e = this.parseUnary();
      this.leave();
      return this.mk({ t: 'neg', e }, e);
    }
    if (this.isOp('+')) throw new SqlRefused(400, `at ${this.peek().pos}: unary + is not supported`);
    return this.parsePostfix();
  }

  private parsePostfix(): Expr {
    let e = this.parsePrimary();
    for (;;) {
      if (this.acceptOp('[')) {
        const i = this.parseExpr();
        this.expectOp(']');
        e = this.mk({ t: 'index', e, i }, e, i);
        continue;
      }
      if (this.isOp('.') && this.peek(1).kind === 'number' && /^[0-9]+$/.test(this.peek(1).value)) {
        this.next();
        e = this.mk({ t: 'tupleEl', e, n: this.next().value }, e);
        continue;
      }
      if (this.isOp(':') && this.isOp(':', 1))
        throw new SqlRefused(400, 'the :: cast is not supported; use CAST(x AS T)');
      return e;
    }
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
        this.next();
        return { t: 'num', v: t.value };
      case 'string':
        this.next();
        return { t: 'str', v: t.value };
      case 'op':
        if (t.value === '(') return this.parseParenthesized();
        if (t.value === '[') {
          this.next();
          const items = this.isOp(']') ? [] : this.parseExprList();
          this.expectOp(']');
          return this.mk({ t: 'array', items }, ...items);
        }
        if (t.value === '*') {
          this.next();
          return { t: 'star' };
        }
        return this.fail('an expression');
      case 'ident':
      case 'qident':
        return this.parseNamed();
      default:
        return this.fail('an expression');
    }
  }

  private parseParenthesized(): Expr {
    this.next();
    let e: Expr;
    if (this.isWord('SELECT') || this.isWord('WITH')) {
      const q = this.parseQuery();
      e = this.mk({ t: 'subquery', q }, q);
    } else if (this.isOp(')')) {
      e = { t: 'tuple', items: [] };
    } else {
      const items: Expr[] = [];
      do items.push(this.parseExprWithAlias(false));
      while (this.acceptOp(','));
      e = items.length === 1 ? items[0] : this.mk({ t: 'tuple', items }, ...items);
      // a parenthesised query followed by UNION ALL inside an expression is not supported
    }
    this.expectOp(')');
    return e;
  }

  private parseNamed(): Expr {
    const t = this.next();
    const word = t.kind === 'ident' ? t.value.toUpperCase() : '';
    if (t.kind === 'ident') {
      if (word === 'NULL') return { t: 'null' };
      if ((word === 'INF' || word === 'NAN') && !this.isOp('(') && !this.isOp('.'))
        return { t: 'num', v: word.toLowerCase() };
      // 18.16 has no boolean literals: the UInt8 they stand for
      if ((word === 'TRUE' || word === 'FALSE') && !this.isOp('(') && !this.isOp('.')) {
        return { t: 'num', v: word === 'TRUE' ? '1' : '0' };
      }
      if (word === 'CASE') return this.parseCase();
      if (word === 'CAST' && this.isOp('(')) return this.parseCast();
      if (word === 'EXTRACT' && this.isOp('(') && this.isUnit(1) && this.isWord('FROM', 2))
        return this.parseExtract();
      if (word === 'INTERVAL') return this.parseInterval();
      if (word === 'DATE' || word === 'TIMESTAMP') {
        if (this.peek().kind === 'string')
          throw new SqlRefused(400, `${word} 'literal' is not supported; use toDate()/toDateTime()`);
      }
      if (this.isOp('(') && (!KEYWORDS.has(word) || KEYWORD_FUNCTIONS.has(word)))
        return this.parseCall(t.value);
      if (KEYWORDS.has(word)) this.fail('an expression', t);
    } else if (this.isOp('(')) {
      // ClickHouse reads `name`(…) as a call too
      return this.parseCall(t.value);
    }
    const parts = [t.value];
    while (this.isOp('.')) {
      const n = this.peek(1);
      if (n.kind === 'ident' || n.kind === 'qident') {
        this.next();
        this.next();
        parts.push(n.value);
        continue;
      }
      if (n.kind === 'op' && n.value === '*') {
        this.next();
        this.next();
        return { t: 'star', table: parts };
      }
      break;
    }
    if (parts.length > 1 && this.isOp('('))
      throw new SqlRefused(400, `at ${t.pos}: qualified function names are not supported`);
    return { t: 'id', parts };
  }

  private isUnit(k: number): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && TIME_UNITS.has(t.value.toUpperCase());
  }

  private parseCall(name: string): Expr {
    this.expectOp('(');
    let distinct = false;
    let args: Expr[] = [];
    if (this.acceptWord('DISTINCT')) distinct = true;
    else if (this.isWord('ALL') && !this.isOp('(', 1) && !this.isOp(')', 1)) this.next();
    if (!this.isOp(')')) args = this.parseArgs();
    this.expectOp(')');
    let params: Expr[] | undefined;
    if (this.isOp('(')) {
      // parametric aggregate: name(params)(args)
      if (distinct) this.fail("')'");
      this.next();
      params = args;
      args = [];
      if (this.acceptWord('DISTINCT')) distinct = true;
      if (!this.isOp(')')) args = this.parseArgs();
      this.expectOp(')');
    }
    if (this.isWord('OVER')) throw new SqlRefused(400, 'window functions (OVER) are not supported');
    if (this.isWord('FILTER') && this.isOp('(', 1))
      throw new SqlRefused(400, 'FILTER (WHERE …) is not supported; use the -If combinator');
    const node: Expr = {
      t: 'fn',
      name,
      args,
      ...(params ? { params } : {}),
      ...(distinct ? { distinct } : {}),
    };
    return this.mk(node, ...args, ...(params ?? []));
  }

  private parseCase(): Expr {
    let base: Expr | undefined;
    if (!this.isWord('WHEN')) base = this.parseExpr();
    const whens: [Expr, Expr][] = [];
    while (this.acceptWord('WHEN')) {
      const w = this.parseExpr();
      this.expectWord('THEN');
      whens.push([w, this.parseExpr()]);
    }
    if (whens.length === 0) this.fail('WHEN');
    let els: Expr | undefined;
    if (this.acceptWord('ELSE')) els = this.parseExpr();
    this.expectWord('END');
    const node: Expr = { t: 'case', whens, ...(base ? { base } : {}), ...(els ? { else: els } : {}) };
    return this.mk(node, base, els, ...whens.flat());
  }

  private parseCast(): Expr {
    this.expectOp('(');
    const e = this.parseExpr();
    let node: Expr;
    if (this.acceptWord('AS')) {
      const type = this.parseType(0);
      node = this.mk({ t: 'cast', e, type }, e);
    } else if (this.acceptOp(',')) {
      const ty = this.parseExpr();
      node = this.mk({ t: 'fn', name: 'CAST', args: [e, ty] }, e, ty);
    } else this.fail("AS or ','");
    this.expectOp(')');
    return node;
  }

  private parseType(level: number): TypeNode {
    if (level > 10) throw new SqlRefused(400, 'type is nested too deeply');
    const t = this.next();
    if (t.kind !== 'ident') this.fail('a type name', t);
    const node: TypeNode = { name: t.value };
    if (this.acceptOp('(')) {
      const args: TypeArg[] = [];
      if (!this.isOp(')')) {
        do {
          const a = this.peek();
          if (a.kind === 'number' && /^[0-9]+$/.test(a.value)) {
            this.next();
            args.push({ t: 'num', v: a.value });
          } else if (a.kind === 'string') {
            this.next();
            args.push({ t: 'str', v: a.value });
          } else if (a.kind === 'ident' && this.peek(1).kind === 'ident') {
            // named element: Tuple(a UInt8, b String)
            this.next();
            args.push({ t: 'type', name: a.value, type: this.parseType(level + 1) });
          } else if (a.kind === 'op' && a.value === '-' && this.peek(1).kind === 'number') {
            this.fail('a type argument');
          } else {
            args.push({ t: 'type', type: this.parseType(level + 1) });
          }
        } while (this.acceptOp(','));
      }
      this.expectOp(')');
      node.args = args;
    }
    return node;
  }

  private parseExtract(): Expr {
    this.expectOp('(');
    const unit = this.next().value.toUpperCase();
    this.expectWord('FROM');
    const e = this.parseExpr();
    this.expectOp(')');
    return this.mk({ t: 'extract', unit, e }, e);
  }

  private parseInterval(): Expr {
    const e = this.parseAdditive();
    const u = this.peek();
    if (!this.isUnit(0)) this.fail('a time unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR)');
    this.next();
    return this.mk({ t: 'interval', e, unit: u.value.toUpperCase() }, e);
  }
}

/** Parses one SELECT statement (optionally ending with ';'), or throws SqlRefused. */
export function parseSql(text: string): Query {
  return new Parser(text).parseStatement();
}
