/**
 * Writes SQL from the syntax tree. Nothing of the user's text is copied: names are written
 * plain only when they are plain words that are not keywords (else backquoted with escapes),
 * strings go through quoteString, numbers were checked by the tokenizer, and every operator
 * application is fully parenthesised with spaces around the operator, so the text cannot
 * form a comment (`--`, `/*`) or regroup differently from the tree.
 */
import { quoteString } from '../../../storage/src/sql.ts';
import type { Expr, Join, OrderItem, Query, Select, TableExpr, TypeNode } from './ast.ts';
import { KEYWORD_FUNCTIONS, KEYWORDS } from './parse.ts';
import { NUMBER } from './tokenize.ts';

const PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A name: plain if it is a plain word and no keyword, else `backquoted`. */
export function emitName(name: string): string {
  if (PLAIN.test(name) && !KEYWORDS.has(name.toUpperCase()) && !RESERVED_LITERALS.has(name.toUpperCase()))
    return name;
  let out = '`';
  for (const ch of name) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '`') out += '\\`';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}\``;
}

/** words that read as literals or operators when plain */
const RESERVED_LITERALS = new Set([
  'NULL',
  'TRUE',
  'FALSE',
  'INF',
  'NAN',
  'DATE',
  'TIMESTAMP',
  'OVER',
  'FILTER',
  'TOP',
  'FILL',
]);

function num(v: string): string {
  if (!NUMBER.test(v)) throw new Error(`emit: not a number literal: ${v}`);
  return v;
}

function list(items: Expr[]): string {
  return items.map(expr).join(', ');
}

export function expr(e: Expr): string {
  switch (e.t) {
    case 'num':
      return num(e.v);
    case 'str':
      return quoteString(e.v);
    case 'null':
      return 'NULL';
    case 'id':
      return e.parts.map(emitName).join('.');
    case 'star':
      return e.table ? `${e.table.map(emitName).join('.')}.*` : '*';
    case 'fn': {
      const upper = e.name.toUpperCase();
      const name = PLAIN.test(e.name) && KEYWORD_FUNCTIONS.has(upper) ? e.name : emitName(e.name);
      const params = e.params ? `(${list(e.params)})` : '';
      const args = `(${e.distinct ? 'DISTINCT ' : ''}${list(e.args)})`;
      return `${name}${params}${args}`;
    }
    case 'bin':
      if (e.l.t === 'star' || e.r.t === 'star') throw new Error('emit: * is not an operand');
      return `(${expr(e.l)} ${e.op} ${expr(e.r)})`;
    case 'and':
    case 'or':
      return `(${e.items.map(expr).join(e.t === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT ${expr(e.e)})`;
    case 'neg':
      return `(- ${expr(e.e)})`;
    case 'in': {
      // the right side is always parenthesised (a tuple, a subquery or one expression); an
      // empty list is written as it parses, `()`: `tuple()` would read back as a call
      const r =
        e.r.t === 'tuple' && e.r.items.length === 0
          ? '()'
          : e.r.t === 'tuple' || e.r.t === 'subquery'
            ? expr(e.r)
            : `(${expr(e.r)})`;
      return `(${expr(e.e)} ${e.global ? 'GLOBAL ' : ''}${e.not ? 'NOT ' : ''}IN ${r})`;
    }
    case 'between': {
      const b = `(${expr(e.e)} BETWEEN ${expr(e.lo)} AND ${expr(e.hi)})`;
      return e.not ? `(NOT ${b})` : b;
    }
    case 'isnull':
      return `(${expr(e.e)} IS ${e.not ? 'NOT ' : ''}NULL)`;
    case 'ternary':
      return `(${expr(e.c)} ? ${expr(e.a)} : ${expr(e.b)})`;
    case 'lambda':
      return `${e.params.length === 1 ? emitName(e.params[0]) : `(${e.params.map(emitName).join(', ')})`} -> ${expr(e.body)}`;
    case 'array':
      return `[${list(e.items)}]`;
    case 'tuple':
      return e.items.length >= 2 ? `(${list(e.items)})` : `tuple(${list(e.items)})`;
    case 'index':
      return `arrayElement(${expr(e.e)}, ${expr(e.i)})`;
    case 'tupleEl':
      return `tupleElement(${expr(e.e)}, ${num(e.n)})`;
    case 'case': {
      const whens = e.whens.map(([w, th]) => ` WHEN ${expr(w)} THEN ${expr(th)}`).join('');
      return `(CASE${e.base ? ` ${expr(e.base)}` : ''}${whens}${e.else ? ` ELSE ${expr(e.else)}` : ''} END)`;
    }
    case 'cast':
      return `CAST(${expr(e.e)} AS ${type(e.type)})`;
    case 'interval':
      return `toInterval${e.unit[0]}${e.unit.slice(1).toLowerCase()}(${expr(e.e)})`;
    case 'extract':
      return `EXTRACT(${e.unit} FROM ${expr(e.e)})`;
    case 'subquery':
      return `(${query(e.q)})`;
    case 'alias':
      return `(${expr(e.e)} AS ${emitName(e.name)})`;
  }
}

function type(t: TypeNode): string {
  if (!PLAIN.test(t.name)) throw new Error(`emit: not a type name: ${t.name}`);
  if (!t.args) return t.name;
  const args = t.args.map((a) => {
    if (a.t === 'num') return num(a.v);
    if (a.t === 'str') return quoteString(a.v);
    return a.name !== undefined ? `${emitName(a.name)} ${type(a.type)}` : type(a.type);
  });
  return `${t.name}(${args.join(', ')})`;
}

/** a top-level item of a SELECT or WITH list: the alias without parentheses around it */
function item(e: Expr): string {
  return e.t === 'alias' ? `${expr(e.e)} AS ${emitName(e.name)}` : expr(e);
}

function table(t: TableExpr): string {
  switch (t.t) {
    case 'table':
      return `${t.parts.map(emitName).join('.')}${t.final ? ' FINAL' : ''}${t.alias !== undefined ? ` AS ${emitName(t.alias)}` : ''}`;
    case 'tfn':
      return `${emitName(t.name)}(${list(t.args)})${t.alias !== undefined ? ` AS ${emitName(t.alias)}` : ''}`;
    case 'subq':
      return `(${query(t.q)})${t.alias !== undefined ? ` AS ${emitName(t.alias)}` : ''}`;
    case 'wrapped':
      return `(${t.sql}) AS ${emitName(t.alias)}`;
  }
}

function join(j: Join): string {
  if (j.kind === 'CROSS' && !j.on && !j.using)
    return ` ${j.global ? 'GLOBAL ' : ''}CROSS JOIN ${table(j.table)}`;
  let s = ` ${j.global ? 'GLOBAL ' : ''}${j.kind ? `${j.kind} ` : ''}JOIN ${table(j.table)}`;
  if (j.on) s += ` ON ${expr(j.on)}`;
  if (j.using) s += ` USING (${list(j.using)})`;
  return s;
}

function order(o: OrderItem): string {
  let s = expr(o.e);
  if (o.dir) s += ` ${o.dir}`;
  if (o.nulls) s += ` NULLS ${o.nulls}`;
  if (o.collate !== undefined) s += ` COLLATE ${quoteString(o.collate)}`;
  return s;
}

function select(s: Select): string {
  let out = '';
  if (s.with.length) out += `WITH ${s.with.map(item).join(', ')} `;
  out += `SELECT ${s.distinct ? 'DISTINCT ' : ''}${s.columns.map(item).join(', ')}`;
  if (s.from) out += ` FROM ${table(s.from)}`;
  for (const j of s.joins) out += join(j);
  if (s.prewhere) out += ` PREWHERE ${expr(s.prewhere)}`;
  if (s.where) out += ` WHERE ${expr(s.where)}`;
  if (s.groupBy) out += ` GROUP BY ${list(s.groupBy)}`;
  if (s.groupMod) out += ` WITH ${s.groupMod}`;
  if (s.having) out += ` HAVING ${expr(s.having)}`;
  if (s.orderBy) out += ` ORDER BY ${s.orderBy.map(order).join(', ')}`;
  if (s.limitBy) {
    out += ` LIMIT ${s.limitBy.offset !== undefined ? `${num(s.limitBy.offset)}, ` : ''}${num(s.limitBy.n)} BY ${list(s.limitBy.by)}`;
  }
  if (s.limit)
    out += ` LIMIT ${s.limit.offset !== undefined ? `${num(s.limit.offset)}, ` : ''}${num(s.limit.n)}`;
  return out;
}

/** The SQL of a query (no trailing ';' or FORMAT). */
export function query(q: Query): string {
  return q.parts.map((p) => (p.t === 'query' ? `(${query(p)})` : select(p))).join(' UNION ALL ');
}
