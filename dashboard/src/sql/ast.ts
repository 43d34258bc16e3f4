/** The syntax tree of the SELECT subset we accept (see parse.ts). */

export type Expr =
  | { t: 'num'; v: string }
  | { t: 'str'; v: string }
  | { t: 'null' }
  /** column, alias or table.column: the parts as decoded names */
  | { t: 'id'; parts: string[] }
  /** * or table.* */
  | { t: 'star'; table?: string[] }
  /** name(params)(args): params only for parametric aggregates, e.g. quantile(0.9)(x) */
  | { t: 'fn'; name: string; params?: Expr[]; args: Expr[]; distinct?: boolean }
  /** arithmetic, comparison, LIKE, || */
  | { t: 'bin'; op: string; l: Expr; r: Expr }
  | { t: 'and' | 'or'; items: Expr[] }
  | { t: 'not'; e: Expr }
  | { t: 'neg'; e: Expr }
  | { t: 'in'; e: Expr; r: Expr; not: boolean; global: boolean }
  | { t: 'between'; e: Expr; lo: Expr; hi: Expr; not: boolean }
  | { t: 'isnull'; e: Expr; not: boolean }
  | { t: 'ternary'; c: Expr; a: Expr; b: Expr }
  | { t: 'lambda'; params: string[]; body: Expr }
  | { t: 'array'; items: Expr[] }
  | { t: 'tuple'; items: Expr[] }
  /** a[i] */
  | { t: 'index'; e: Expr; i: Expr }
  /** t.1 */
  | { t: 'tupleEl'; e: Expr; n: string }
  | { t: 'case'; base?: Expr; whens: [Expr, Expr][]; else?: Expr }
  | { t: 'cast'; e: Expr; type: TypeNode }
  | { t: 'interval'; e: Expr; unit: string }
  | { t: 'extract'; unit: string; e: Expr }
  | { t: 'subquery'; q: Query }
  | { t: 'alias'; e: Expr; name: string };

export type TypeArg =
  | { t: 'num'; v: string }
  | { t: 'str'; v: string }
  | { t: 'type'; name?: string; type: TypeNode };
export interface TypeNode {
  name: string;
  args?: TypeArg[];
}

export type TableExpr =
  | { t: 'table'; parts: string[]; final: boolean; alias?: string }
  | { t: 'tfn'; name: string; args: Expr[]; alias?: string }
  | { t: 'subq'; q: Query; alias?: string }
  /** made by the guard only: SQL text built by the program (the tenant wrapper) */
  | { t: 'wrapped'; sql: string; alias: string };

export interface Join {
  /** e.g. 'ANY LEFT', 'INNER', 'CROSS'; comma joins are CROSS */
  kind: string;
  global: boolean;
  table: TableExpr;
  on?: Expr;
  using?: Expr[];
}

export interface OrderItem {
  e: Expr;
  dir?: 'ASC' | 'DESC';
  nulls?: 'FIRST' | 'LAST';
  collate?: string;
}

export interface Select {
  t: 'select';
  with: Expr[];
  distinct: boolean;
  columns: Expr[];
  from?: TableExpr;
  joins: Join[];
  prewhere?: Expr;
  where?: Expr;
  groupBy?: Expr[];
  groupMod?: 'TOTALS' | 'ROLLUP' | 'CUBE';
  having?: Expr;
  orderBy?: OrderItem[];
  limitBy?: { n: string; offset?: string; by: Expr[] };
  limit?: { n: string; offset?: string };
}

/** SELECT … UNION ALL SELECT …; a part in parentheses is a Query of its own. */
export interface Query {
  t: 'query';
  parts: (Select | Query)[];
}
