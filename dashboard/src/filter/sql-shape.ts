/**
 * A checker for compiled filters (used by the tests): the SQL must be nothing but this
 * module's own vocabulary (schema column names, a few functions and keywords, operators,
 * parentheses, numbers) and complete string literals, with balanced parentheses. So no text
 * of the user's reaches ClickHouse except inside a literal the binder escaped.
 */
import { COLUMNS } from '../../../protocol/src/schema/columns.ts';

const WORDS = new Set([
  ...COLUMNS.map((c) => c.name),
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'bitAnd',
  'IPv6StringToNum',
  'IPv4ToIPv6',
  'IPv4StringToNum',
  'toDateTime',
]);
const OPERATORS = new Set(['=', '!=', '<', '<=', '>', '>=', ',']);

/** undefined when the SQL has the expected shape, else what is wrong with it. */
export function sqlShapeProblem(sql: string): string | undefined {
  let depth = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i];
    if (ch === ' ') i++;
    else if (ch === '(') {
      depth++;
      i++;
    } else if (ch === ')') {
      if (--depth < 0) return `unbalanced ) at ${i}`;
      i++;
    } else if (ch === "'") {
      i++;
      for (;;) {
        if (i >= n) return 'unterminated string literal';
        if (sql[i] === '\\') {
          i += 2;
          continue;
        }
        if (sql[i] === "'") break;
        const c = sql.charCodeAt(i);
        if (c < 0x20 || c === 0x7f) return `raw control character in a literal at ${i}`;
        i++;
      }
      i++;
    } else if (/[A-Za-z_]/.test(ch)) {
      const s = i;
      while (i < n && /[A-Za-z0-9_]/.test(sql[i])) i++;
      const w = sql.slice(s, i);
      if (!WORDS.has(w)) return `unexpected word ${JSON.stringify(w)} at ${s}`;
    } else if (/[0-9]/.test(ch)) {
      while (i < n && /[0-9]/.test(sql[i])) i++;
    } else {
      const two = sql.slice(i, i + 2);
      if (OPERATORS.has(two)) i += 2;
      else if (OPERATORS.has(ch)) i++;
      else return `unexpected character ${JSON.stringify(ch)} at ${i}`;
    }
  }
  if (depth !== 0) return 'unbalanced (';
  if (sql !== '1' && !(sql.startsWith('(') && closesAt(sql, 0) === n - 1))
    return 'not one parenthesised expression';
  return undefined;
}

/** index of the ) closing the ( at `open` (outside literals) */
function closesAt(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'") {
      for (i++; i < sql.length && sql[i] !== "'"; i++) if (sql[i] === '\\') i++;
    } else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  return -1;
}
