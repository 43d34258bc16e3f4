/**
 * Syntax tree → ClickHouse boolean expression. Every value goes through the project's
 * literal binder (storage/src/sql.ts: `sql`, `literal`, `ip()`, `dateTime()`), every column
 * name through `ident()` after it was looked up in the schema; the only other text is this
 * file's own operators and parentheses. Every subexpression is parenthesised, and so is the
 * whole, so `tenant = X AND <filter>` cannot be widened by what the filter says.
 */
import { dateTime, ident, ip, literal, raw, sql } from '../../../storage/src/sql.ts';
import type { Node, Scalar, Test } from './ast.ts';
import { addressText } from './values.ts';

function bind(s: Scalar): unknown {
  switch (s.t) {
    case 'num':
      return s.v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s.v) : s.v;
    case 'str':
      return s.v;
    case 'ip':
      return ip(addressText(s.v));
    case 'time':
      return dateTime(s.v);
  }
}

function compileTest(column: string, t: Test): string {
  const c = ident(column);
  switch (t.op) {
    case '=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return sql`${c} ${raw(t.op)} ${bind(t.value)}`;
    case 'between':
      return sql`(${c} >= ${bind(t.lo)} AND ${c} <= ${bind(t.hi)})`;
    case 'in':
      return sql`${c} IN (${raw(t.values.map((v) => literal(bind(v))).join(', '))})`;
    case 'bits':
      return sql`bitAnd(${c}, ${Number(t.mask)}) = ${Number(t.mask)}`;
    case 'like':
      return sql`${c} LIKE ${t.pattern}`;
  }
}

/** The expression for a node, without outer parentheses. */
export function compileNode(node: Node, columns: Set<string>): string {
  switch (node.type) {
    case 'all':
      return '1';
    case 'test': {
      for (const c of node.columns) columns.add(c);
      const parts = node.columns.map((c) => compileTest(c, node.test));
      return parts.length === 1 ? parts[0] : parts.map((p) => `(${p})`).join(' OR ');
    }
    case 'not':
      return `NOT (${compileNode(node.item, columns)})`;
    case 'and':
    case 'or': {
      const op = node.type === 'and' ? ' AND ' : ' OR ';
      return node.items.map((n) => `(${compileNode(n, columns)})`).join(op);
    }
  }
}
