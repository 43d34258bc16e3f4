/**
 * The SQL core of `POST /api/v1/sql`: guardSql turns a user's query into the SQL to run for
 * a tenant or an admin (or refuses it), runSql runs that as the read-only ClickHouse user.
 *
 *   const text = guardSql(body.query, { database: ch.database, tenant }); // SqlRefused: 400/403
 *   const result = await runSql(roClient, text, limits);                  // SqlExecutionError: 4xx
 *
 * Modules: tokenize.ts (ClickHouse's lexical rules), parse.ts (the SELECT subset, depth
 * bounded), guard.ts (scopes, tenant wrapping), functions.ts (what may be called), emit.ts
 * (SQL written from the tree), run.ts (limits, errors, values). escape-attempts.ts is the
 * table of attacks both the unit tests and test/dashboard/sql.test.ts run.
 */
export type { SqlScope } from './guard.ts';
export { guardSql, TENANT_TABLES } from './guard.ts';
export { SqlExecutionError, SqlRefused } from './errors.ts';
export type { RunOptions, SqlLimits, SqlResult } from './run.ts';
export { runSql } from './run.ts';
