/**
 * The SQL guard: takes a user's SQL and a scope and returns the SQL to run, or refuses with
 * SqlRefused saying what was refused.
 *
 * A tenant may read the unqualified tables flows, flows_1m, flows_5m and flows_1h. Each
 * reference becomes `(SELECT * FROM <db>.<table> WHERE (tenant = '<tenant>')) AS <alias>`
 * (the tenant bound with the storage literal binder), so nothing the user writes around it
 * can widen it. Every other table, qualified name, table function, a name on the right of
 * IN, a function outside the allowlist (functions.ts), and an alias named `tenant` (which
 * could shadow the column inside the wrapper on releases that push WITH into subqueries) are
 * refused with a 403.
 *
 * An admin may read any table of the configured database and of `system`; unqualified
 * names are qualified with the configured database.
 *
 * For both: one SELECT statement, no SETTINGS / FORMAT / INTO OUTFILE, bounded length and
 * depth (parse.ts), and SQL written afresh from the tree (emit.ts).
 */
import { ident, sql } from '../../../storage/src/sql.ts';
import type { Expr, Query, Select, TableExpr } from './ast.ts';
import { query as emitQuery } from './emit.ts';
import { SqlRefused } from './errors.ts';
import { ADMIN_TABLE_FUNCTIONS, adminMayCall, tenantMayCall } from './functions.ts';
import { parseSql } from './parse.ts';

export interface SqlScope {
  /** the ClickHouse database vxflow uses (configured) */
  database: string;
  /** the tenant's name, or null for an admin */
  tenant: string | null;
  /**
   * Whether a tenant may use ALL joins (the default strictness). ClickHouse 18.16 fills the
   * right table's key column of an ALL join with whatever is in the server's memory (seen
   * here: file paths, table names, pointers), so tenants get ANY and CROSS joins only unless
   * the caller knows its server does not have that bug. Default false.
   */
  allJoins?: boolean;
}

export const TENANT_TABLES: readonly string[] = ['flows', 'flows_1m', 'flows_5m', 'flows_1h'];
const TABLE_HINT = 'use flows, flows_1m, flows_5m or flows_1h';

/** The tenant wrapper of one table (exported for the tests that recognise it in output). */
export function tenantSource(database: string, table: string, tenant: string, final: boolean): string {
  const from = ident(`${database}.${table}`);
  return final
    ? sql`SELECT * FROM ${from} FINAL WHERE (tenant = ${tenant})`
    : sql`SELECT * FROM ${from} WHERE (tenant = ${tenant})`;
}

const display = (parts: string[]) => parts.join('.');

class Guard {
  constructor(private readonly scope: SqlScope) {}

  private get tenant(): string | null {
    return this.scope.tenant;
  }

  query(q: Query): void {
    for (const p of q.parts) {
      if (p.t === 'query') this.query(p);
      else this.select(p);
    }
  }

  private select(s: Select): void {
    for (const w of s.with) this.expr(w, false);
    for (const c of s.columns) this.expr(c, true);
    if (s.from) s.from = this.source(s.from);
    for (const j of s.joins) {
      const strictness = j.kind.split(' ')[0];
      if (this.tenant !== null && !this.scope.allJoins && strictness !== 'ANY' && j.kind !== 'CROSS') {
        throw new SqlRefused(
          403,
          `${j.kind.includes('ALL') ? j.kind : `${j.kind ? `${j.kind} ` : ''}JOIN without ANY (an ALL join)`} is not allowed for a tenant: ClickHouse 18.16 answers it with bytes of the server's memory; write ANY … JOIN, or IN (SELECT …)`,
        );
      }
      j.table = this.source(j.table);
      if (j.on) this.expr(j.on, false);
      for (const u of j.using ?? []) this.expr(u, false);
    }
    if (this.tenant !== null && s.prewhere && s.from?.t === 'wrapped') {
      // PREWHERE applies to tables, not to the wrapping subquery: it becomes part of WHERE
      s.where = s.where ? { t: 'and', items: [s.prewhere, s.where] } : s.prewhere;
      s.prewhere = undefined;
    }
    if (s.prewhere) this.expr(s.prewhere, false);
    if (s.where) this.expr(s.where, false);
    for (const g of s.groupBy ?? []) this.expr(g, false);
    if (s.having) this.expr(s.having, false);
    for (const o of s.orderBy ?? []) this.expr(o.e, false);
    for (const b of s.limitBy?.by ?? []) this.expr(b, false);
  }

  /**
   * A tenant's aliases may not be named `tenant` (releases that push WITH into subqueries
   * would let it stand for the column inside the wrapper) nor like the database (which the
   * wrapper names).
   */
  private alias(name: string | undefined): void {
    if (name === undefined || this.tenant === null) return;
    const l = name.toLowerCase();
    if (l === 'tenant') throw new SqlRefused(403, 'the alias tenant is not allowed (it is a column name)');
    if (l === this.scope.database.toLowerCase()) {
      throw new SqlRefused(403, `the alias ${name} is not allowed (it is the database's name)`);
    }
  }

  private source(t: TableExpr): TableExpr {
    this.alias(t.alias);
    switch (t.t) {
      case 'subq':
        this.query(t.q);
        return t;
      case 'tfn':
        if (this.tenant === null && ADMIN_TABLE_FUNCTIONS.has(t.name)) {
          for (const a of t.args) this.expr(a, false);
          return t;
        }
        throw new SqlRefused(403, `table function ${t.name}() is not allowed`);
      case 'wrapped':
        return t;
      case 'table':
        return this.tenant === null ? this.adminTable(t) : this.tenantTable(t, this.tenant);
    }
  }

  private tenantTable(t: TableExpr & { t: 'table' }, tenant: string): TableExpr {
    if (t.parts.length !== 1 || !TENANT_TABLES.includes(t.parts[0])) {
      throw new SqlRefused(403, `table ${display(t.parts)} is not allowed for a tenant; ${TABLE_HINT}`);
    }
    const name = t.parts[0];
    return {
      t: 'wrapped',
      sql: tenantSource(this.scope.database, name, tenant, t.final),
      alias: t.alias ?? name,
    };
  }

  private adminTable(t: TableExpr & { t: 'table' }): TableExpr {
    const db = this.scope.database;
    if (t.parts.length === 1) return { ...t, parts: [db, t.parts[0]] };
    if (t.parts.length === 2 && (t.parts[0] === db || t.parts[0] === 'system')) return t;
    if (t.parts.length === 2)
      throw new SqlRefused(403, `database ${t.parts[0]} is not allowed; use ${db} or system`);
    throw new SqlRefused(403, `table ${display(t.parts)} is not allowed`);
  }

  /** `star`: whether * may stand here (a SELECT item or a function argument) */
  private expr(e: Expr, star: boolean): void {
    switch (e.t) {
      case 'num':
      case 'str':
      case 'null':
        return;
      case 'id':
        if (this.tenant !== null && e.parts.length > 2) {
          throw new SqlRefused(
            403,
            `the name ${display(e.parts)} is not allowed for a tenant (at most table.column)`,
          );
        }
        return;
      case 'star':
        if (!star) throw new SqlRefused(400, '* may only be a SELECT item or a function argument');
        if (this.tenant !== null && (e.table?.length ?? 0) > 1) {
          throw new SqlRefused(403, `${display(e.table ?? [])}.* is not allowed for a tenant`);
        }
        return;
      case 'fn': {
        const ok = this.tenant === null ? adminMayCall(e.name) : tenantMayCall(e.name);
        if (!ok) throw new SqlRefused(403, `function ${e.name}() is not allowed`);
        for (const p of e.params ?? []) this.expr(p, false);
        for (const a of e.args) this.expr(a, e.args.length === 1);
        return;
      }
      case 'bin':
        this.expr(e.l, false);
        this.expr(e.r, false);
        return;
      case 'and':
      case 'or':
      case 'array':
      case 'tuple':
        for (const x of e.items) this.expr(x, false);
        return;
      case 'not':
      case 'neg':
      case 'isnull':
      case 'tupleEl':
      case 'interval':
      case 'extract':
      case 'cast':
        this.expr(e.e, false);
        return;
      case 'in':
        this.expr(e.e, false);
        this.inRight(e);
        return;
      case 'between':
        this.expr(e.e, false);
        this.expr(e.lo, false);
        this.expr(e.hi, false);
        return;
      case 'ternary':
        this.expr(e.c, false);
        this.expr(e.a, false);
        this.expr(e.b, false);
        return;
      case 'lambda':
        for (const p of e.params) this.alias(p);
        this.expr(e.body, false);
        return;
      case 'index':
        this.expr(e.e, false);
        this.expr(e.i, false);
        return;
      case 'case':
        if (e.base) this.expr(e.base, false);
        for (const [w, th] of e.whens) {
          this.expr(w, false);
          this.expr(th, false);
        }
        if (e.else) this.expr(e.else, false);
        return;
      case 'subquery':
        this.query(e.q);
        return;
      case 'alias':
        this.alias(e.name);
        this.expr(e.e, star);
        return;
    }
  }

  /**
   * `x IN name` reads the table `name`, and so does `x IN (name AS alias)`: ClickHouse looks
   * through parentheses and aliases. A tenant must write IN (SELECT …) instead.
   */
  private inRight(e: Expr & { t: 'in' }): void {
    let r = e.r;
    while (r.t === 'alias') r = r.e;
    if (r.t === 'id') {
      if (this.tenant !== null) {
        throw new SqlRefused(
          403,
          `IN ${display(r.parts)}: a table name after IN is not allowed; write IN (SELECT … FROM flows)`,
        );
      }
      const table = this.adminTable({ t: 'table', parts: r.parts, final: false });
      if (table.t === 'table') e.r = { t: 'id', parts: table.parts };
      return;
    }
    this.expr(e.r, false);
  }
}

/**
 * Returns the SQL to run for `text` in `scope`, or throws SqlRefused (400: not readable SQL
 * of the accepted subset; 403: not allowed in this scope).
 */
export function guardSql(text: string, scope: SqlScope): string {
  if (typeof text !== 'string') throw new SqlRefused(400, 'the query must be a string');
  // configuration errors, not the user's: SqlBindError, TypeError
  ident(scope.database);
  if (scope.tenant !== null && (typeof scope.tenant !== 'string' || scope.tenant === '')) {
    throw new TypeError('guardSql: scope.tenant must be a tenant name or null (admin)');
  }
  const q = parseSql(text);
  new Guard(scope).query(q);
  return emitQuery(q);
}
