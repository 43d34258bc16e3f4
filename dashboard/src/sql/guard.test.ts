import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Expr, Query, Select, TableExpr } from './ast.ts';
import { query as emitQuery } from './emit.ts';
import { SqlRefused } from './errors.ts';
import { ESCAPE_ATTEMPTS } from './escape-attempts.ts';
import { guardSql, TENANT_TABLES } from './guard.ts';
import { parseSql } from './parse.ts';

const TENANT = { database: 'vxflow', tenant: 'acme' };
const ADMIN = { database: 'vxflow', tenant: null };

function outcome(
  q: string,
  scope: { database: string; tenant: string | null } = TENANT,
): { status: number | 'ok'; sql?: string; message?: string } {
  try {
    return { status: 'ok', sql: guardSql(q, scope) };
  } catch (err) {
    if (err instanceof SqlRefused) return { status: err.status, message: err.message };
    throw err;
  }
}

// ---- an independent check of the guard's output: parse it again and list every table it reads ----

function exprChildren(e: Expr): Expr[] {
  switch (e.t) {
    case 'fn':
      return [...(e.params ?? []), ...e.args];
    case 'bin':
      return [e.l, e.r];
    case 'and':
    case 'or':
    case 'array':
    case 'tuple':
      return e.items;
    case 'not':
    case 'neg':
    case 'isnull':
    case 'tupleEl':
    case 'interval':
    case 'extract':
    case 'cast':
    case 'alias':
      return [e.e];
    case 'in':
      return [e.e, e.r];
    case 'between':
      return [e.e, e.lo, e.hi];
    case 'ternary':
      return [e.c, e.a, e.b];
    case 'lambda':
      return [e.body];
    case 'index':
      return [e.e, e.i];
    case 'case':
      return [...(e.base ? [e.base] : []), ...e.whens.flat(), ...(e.else ? [e.else] : [])];
    default:
      return [];
  }
}

function isWrapper(t: TableExpr, database: string, tenant: string): boolean {
  if (t.t !== 'subq' || t.q.parts.length !== 1 || t.q.parts[0].t !== 'select') return false;
  const s = t.q.parts[0];
  const from = s.from;
  return (
    from?.t === 'table' &&
    from.alias === undefined &&
    from.parts.length === 2 &&
    from.parts[0] === database &&
    TENANT_TABLES.includes(from.parts[1]) &&
    s.with.length === 0 &&
    s.columns.length === 1 &&
    s.columns[0].t === 'star' &&
    s.columns[0].table === undefined &&
    s.joins.length === 0 &&
    !s.prewhere &&
    !s.groupBy &&
    !s.having &&
    !s.orderBy &&
    !s.limit &&
    !s.limitBy &&
    s.where?.t === 'bin' &&
    s.where.op === '=' &&
    s.where.l.t === 'id' &&
    s.where.l.parts.length === 1 &&
    s.where.l.parts[0] === 'tenant' &&
    s.where.r.t === 'str' &&
    s.where.r.v === tenant
  );
}

/** Tables read by a query other than through the tenant wrapper. */
function unwrappedReads(q: Query, database: string, tenant: string): string[] {
  const out: string[] = [];
  const walkExpr = (e: Expr) => {
    if (e.t === 'subquery') walkQuery(e.q);
    if (e.t === 'in') {
      let r = e.r;
      while (r.t === 'alias') r = r.e;
      if (r.t === 'id') out.push(`IN ${r.parts.join('.')}`);
    }
    if (e.t === 'fn' && /^(dict|joinGet|file|url|remote|in$|globalIn|notIn|hasColumnInTable)/i.test(e.name)) {
      out.push(`${e.name}()`);
    }
    exprChildren(e).forEach(walkExpr);
  };
  const walkSource = (t: TableExpr) => {
    if (isWrapper(t, database, tenant)) return;
    if (t.t === 'table') out.push(t.parts.join('.'));
    else if (t.t === 'tfn') out.push(`${t.name}()`);
    else if (t.t === 'subq') walkQuery(t.q);
  };
  const walkSelect = (s: Select) => {
    s.with.forEach(walkExpr);
    s.columns.forEach(walkExpr);
    if (s.from) walkSource(s.from);
    for (const j of s.joins) {
      walkSource(j.table);
      if (j.on) walkExpr(j.on);
    }
    for (const e of [
      s.prewhere,
      s.where,
      s.having,
      ...(s.groupBy ?? []),
      ...(s.orderBy ?? []).map((o) => o.e),
    ]) {
      if (e) walkExpr(e);
    }
    for (const e of s.limitBy?.by ?? []) walkExpr(e);
  };
  const walkQuery = (qq: Query): void => {
    for (const p of qq.parts) {
      if (p.t === 'query') walkQuery(p);
      else walkSelect(p);
    }
  };
  walkQuery(q);
  return out;
}

function expectSafe(sql: string, tenant = 'acme') {
  const reparsed = parseSql(sql);
  expect(unwrappedReads(reparsed, 'vxflow', tenant)).toEqual([]);
  // the emitter is a fixed point: what runs is exactly what was checked
  expect(emitQuery(reparsed)).toBe(sql);
}

describe('guardSql for a tenant: escape attempts', () => {
  it.each(ESCAPE_ATTEMPTS.map((a) => [a.what, a] as const))('%s', (_what, a) => {
    const r = outcome(a.q);
    expect({ q: a.q.slice(0, 200), status: r.status, message: r.message }).toMatchObject({
      status: a.expect,
    });
    if (r.sql) expectSafe(r.sql);
    if (r.message) expect(r.message.length).toBeLessThan(300);
  });

  it('says what was refused', () => {
    expect(outcome("SELECT * FROM url('http://x', CSV, 'a String')").message).toBe(
      'table function url() is not allowed',
    );
    expect(outcome('DROP TABLE flows').message).toBe('only SELECT is allowed (got DROP)');
    expect(outcome('SELECT * FROM system.tables').message).toBe(
      'table system.tables is not allowed for a tenant; use flows, flows_1m, flows_5m or flows_1h',
    );
    expect(outcome('SELECT sleep(1)').message).toBe('function sleep() is not allowed');
    expect(outcome('SELECT 1 SETTINGS max_threads = 1').message).toBe('the SETTINGS clause is not allowed');
    expect(outcome('SELECT 1; SELECT 2').message).toBe('several statements are not allowed');
    expect(outcome('SELECT (1').message).toBe("at 9: expected ')', got end of query");
  });

  it('wraps each tenant table, under its alias, with the tenant bound as a literal', () => {
    expect(guardSql('SELECT count() FROM flows', TENANT)).toBe(
      "SELECT count() FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'acme')) AS flows",
    );
    expect(guardSql('select sum(bytes) from flows_5m f final', TENANT)).toBe(
      "SELECT sum(bytes) FROM (SELECT * FROM vxflow.flows_5m FINAL WHERE (tenant = 'acme')) AS f",
    );
    const evil = { database: 'vxflow', tenant: "x' OR 1=1 --\\" };
    const sql = guardSql('SELECT * FROM flows', evil);
    expect(sql).toBe(
      "SELECT * FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'x\\' OR 1=1 --\\\\')) AS flows",
    );
    expectSafe(sql, "x' OR 1=1 --\\");
  });

  it('refuses a scope that names no tenant or an invalid database (a configuration error)', () => {
    expect(() => guardSql('SELECT 1', { database: 'vxflow', tenant: '' })).toThrow(TypeError);
    expect(() => guardSql('SELECT 1', { database: 'vx-flow', tenant: 'acme' })).toThrow(
      /not a valid identifier/,
    );
  });

  it('keeps the meaning of ordinary queries', () => {
    const cases: [string, string][] = [
      [
        'SELECT toStartOfHour(time) AS t, sum(bytes * sampling_rate) * 8 / 3600 AS bps FROM flows_1h WHERE time >= now() - INTERVAL 1 DAY GROUP BY t ORDER BY t',
        "SELECT toStartOfHour(time) AS t, ((sum((bytes * sampling_rate)) * 8) / 3600) AS bps FROM (SELECT * FROM vxflow.flows_1h WHERE (tenant = 'acme')) AS flows_1h WHERE (time >= (now() - toIntervalDay(1))) GROUP BY t ORDER BY t",
      ],
      [
        "SELECT IPv6NumToString(src_addr) AS src, count() c FROM flows WHERE proto = 6 AND dst_port IN (80, 443) AND network LIKE 'web%' GROUP BY src ORDER BY c DESC LIMIT 10",
        "SELECT IPv6NumToString(src_addr) AS src, count() AS c FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'acme')) AS flows WHERE ((proto = 6) AND (dst_port IN (80, 443)) AND (network LIKE 'web%')) GROUP BY src ORDER BY c DESC LIMIT 10",
      ],
      [
        'SELECT quantiles(0.5, 0.95)(bytes), uniqExactIf(src_addr, proto = 17), sumArray([bytes]) FROM flows',
        "SELECT quantiles(0.5, 0.95)(bytes), uniqExactIf(src_addr, (proto = 17)), sumArray([bytes]) FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'acme')) AS flows",
      ],
      [
        "SELECT CASE WHEN bytes > 1e6 THEN 'big' ELSE 'small' END AS k, NOT (bytes BETWEEN 1 AND 10), bytes IS NULL, -bytes, a[1], (1, 2).2 FROM flows",
        "SELECT (CASE WHEN (bytes > 1e6) THEN 'big' ELSE 'small' END) AS k, (NOT (bytes BETWEEN 1 AND 10)), (bytes IS NULL), (- bytes), arrayElement(a, 1), tupleElement((1, 2), 2) FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'acme')) AS flows",
      ],
      [
        'SELECT arrayFilter((x, y) -> x > y, [1, 2], [2, 1]), CAST(bytes AS Nullable(Decimal(10, 2))), EXTRACT(DAY FROM time_received) FROM flows LIMIT 5, 10',
        "SELECT arrayFilter((x, y) -> (x > y), [1, 2], [2, 1]), CAST(bytes AS Nullable(Decimal(10, 2))), EXTRACT(DAY FROM time_received) FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'acme')) AS flows LIMIT 5, 10",
      ],
      [
        'SELECT count() FROM flows LIMIT 1 BY network LIMIT 10 OFFSET 20',
        "SELECT count() FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'acme')) AS flows LIMIT 1 BY network LIMIT 20, 10",
      ],
      [
        "SELECT `weird name`, \"from\" FROM flows WHERE network = 'it''s' || '\\n'",
        "SELECT `weird name`, `from` FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'acme')) AS flows WHERE (network = ('it\\'s' || '\\n'))",
      ],
    ];
    for (const [q, want] of cases) {
      const got = guardSql(q, TENANT);
      expect(got).toBe(want);
      expectSafe(got);
    }
  });

  it('turns PREWHERE on a tenant table into WHERE (the wrapper is a subquery)', () => {
    expect(guardSql('SELECT count() FROM flows PREWHERE proto = 6 WHERE vni = 1', TENANT)).toBe(
      "SELECT count() FROM (SELECT * FROM vxflow.flows WHERE (tenant = 'acme')) AS flows WHERE ((proto = 6) AND (vni = 1))",
    );
  });

  it('accepts every allowed function family and refuses unknown names', () => {
    const ok = [
      'plus(1, 2)',
      'intDivOrZero(1, 0)',
      'multiIf(1, 2, 3)',
      "toDateTimeOrNull('x')",
      "toUInt64OrZero('1')",
      "toIPv4('10.0.0.1')",
      'IPv6NumToString(src_addr)',
      "IPv4StringToNum('10.0.0.1')",
      'cityHash64(1)',
      'arrayMap(x -> x + 1, [1])',
      'sumIf(bytes, 1)',
      'sumArrayIf([bytes], 1)',
      'uniqState(src_addr)',
      'uniqMerge(s)',
      'countIf(1)',
      'topK(5)(dst_port)',
      'throwIf(0)',
      'toStartOfFiveMinute(time_received)',
      'formatReadableSize(bytes)',
      'COUNT()',
      'Sum(bytes)',
    ];
    for (const f of ok) expect(outcome(`SELECT ${f} FROM flows`).status, f).toBe('ok');
    for (const f of [
      'sleepIf(1, 1)',
      'dictGetIf(1)',
      'noSuchFunction(1)',
      'sumSleep(1)',
      'joinGetState(1)',
    ]) {
      expect(outcome(`SELECT ${f} FROM flows`).status, f).toBe(403);
    }
  });

  it('bounds depth: 100 levels pass, deeper is refused', () => {
    // the parse tree of SELECT (((1))) counts every level
    const deepest = (n: number) => `SELECT ${'abs('.repeat(n)}1${')'.repeat(n)}`;
    let ok = 0;
    for (let n = 90; n <= 110; n++) if (outcome(deepest(n)).status === 'ok') ok = n;
    expect(ok).toBeGreaterThanOrEqual(90);
    expect(ok).toBeLessThan(100);
  });
});

describe('guardSql for an admin', () => {
  it('reads the configured database and system, unqualified names qualified', () => {
    expect(guardSql('SELECT count() FROM flows', ADMIN)).toBe('SELECT count() FROM vxflow.flows');
    expect(guardSql('SELECT name FROM system.tables WHERE database = currentDatabase()', ADMIN)).toBe(
      'SELECT name FROM system.tables WHERE (database = currentDatabase())',
    );
    expect(guardSql('SELECT * FROM exporters FINAL', ADMIN)).toBe('SELECT * FROM vxflow.exporters FINAL');
    expect(guardSql('SELECT * FROM flows WHERE tenant IN unassigned', ADMIN)).toBe(
      'SELECT * FROM vxflow.flows WHERE (tenant IN (vxflow.unassigned))',
    );
    expect(guardSql('SELECT hostName(), version(), dictGet(1, 2, 3)', ADMIN)).toBe(
      'SELECT hostName(), version(), dictGet(1, 2, 3)',
    );
  });

  it('refuses other databases, file and network functions, writes, SETTINGS, FORMAT, several statements', () => {
    const refused: [string, number][] = [
      ['SELECT * FROM default.t', 403],
      ['SELECT * FROM other.flows', 403],
      ['SELECT * FROM flows WHERE x IN other.t', 403],
      ["SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')", 403],
      ["SELECT * FROM file('/etc/passwd', CSV, 'a String')", 403],
      ["SELECT * FROM remote('h', system.one)", 403],
      ['SELECT sleep(1)', 403],
      ['SELECT sleepEachRow(1) FROM flows', 403],
      ["SELECT joinGet('other.j', 'a', 1)", 403],
      ['SELECT in(1, other.t)', 400],
      ['SELECT globalIn(1, other.t)', 403],
      ['DROP TABLE flows', 403],
      ['INSERT INTO flows SELECT * FROM flows', 403],
      ['SELECT 1 SETTINGS readonly = 0', 403],
      ['SELECT 1 FORMAT CSV', 403],
      ['SELECT 1; SELECT 2', 403],
      [`SELECT ${'('.repeat(1000)}1${')'.repeat(1000)}`, 400],
    ];
    for (const [q, status] of refused) expect(outcome(q, ADMIN).status, q).toBe(status);
    expect(guardSql('SELECT count() FROM numbers(10)', ADMIN)).toBe('SELECT count() FROM numbers(10)');
  });
});

// ---- properties ----

const VALID = [
  'SELECT count() FROM flows',
  "SELECT tenant, sum(bytes) AS b FROM flows_1m WHERE network = 'web' GROUP BY tenant ORDER BY b DESC LIMIT 10",
  'SELECT a.vni, count() FROM flows AS a ANY LEFT JOIN flows_1h AS b USING (vni) GROUP BY a.vni',
  'SELECT * FROM flows WHERE src_port IN (SELECT dst_port FROM flows_5m) UNION ALL SELECT * FROM flows',
  'WITH (SELECT max(time) FROM flows_1m) AS t SELECT count() FROM flows WHERE time_received > t - 60',
  "SELECT IPv6NumToString(src_addr), if(proto = 6, 'tcp', 'other') FROM (SELECT * FROM flows WHERE bytes > 0) f",
];

const TOKENS = [
  'SELECT',
  'FROM',
  'WHERE',
  'UNION ALL',
  'JOIN',
  'ANY LEFT JOIN',
  'USING',
  'ON',
  'IN',
  'GLOBAL',
  'NOT',
  'WITH',
  'AS',
  'FINAL',
  'SETTINGS',
  'FORMAT',
  'flows',
  'flows_1m',
  'system',
  'tables',
  'vxflow',
  'default',
  'numbers',
  'url',
  'remote',
  'dictGet',
  'tenant',
  'count',
  'sum',
  'bytes',
  '.',
  ',',
  '(',
  ')',
  '*',
  ';',
  '=',
  "'x'",
  "'a\\'b'",
  '"flows"',
  '`system`',
  '"vxflow"."flows"',
  '--',
  '\n',
  '/*',
  '*/',
  '1',
  '0x1F',
  '1e3',
  '->',
  '[',
  ']',
  '?',
  ':',
  'OR',
  'AND',
  '||',
  '-',
  '/',
];

function safeOrRefused(q: string): boolean {
  let sql: string;
  try {
    sql = guardSql(q, TENANT);
  } catch (err) {
    if (err instanceof SqlRefused) return true;
    throw err;
  }
  const reparsed = parseSql(sql);
  const reads = unwrappedReads(reparsed, 'vxflow', 'acme');
  if (reads.length > 0) throw new Error(`${JSON.stringify(q)} → ${sql} reads ${reads.join(', ')}`);
  if (emitQuery(reparsed) !== sql) throw new Error(`${JSON.stringify(q)} → ${sql} is not a fixed point`);
  return true;
}

describe('guardSql properties', () => {
  it('random strings are refused or safe', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), safeOrRefused), { numRuns: 2000 });
  });

  it('random token sequences are refused or safe', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }), (ts) =>
        safeOrRefused(ts.join(' ')),
      ),
      { numRuns: 3000 },
    );
  });

  it('mutations of valid queries are refused or safe', () => {
    const mutation = fc.record({
      base: fc.constantFrom(...VALID),
      edits: fc.array(
        fc.record({
          at: fc.nat(),
          del: fc.nat({ max: 8 }),
          insert: fc.oneof(
            fc.constantFrom(...TOKENS).map((t) => ` ${t} `),
            fc.string({ maxLength: 4 }),
          ),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ base, edits }) => {
        let q = base;
        for (const e of edits) {
          const at = e.at % (q.length + 1);
          q = q.slice(0, at) + e.insert + q.slice(at + e.del);
        }
        return safeOrRefused(q);
      }),
      { numRuns: 5000 },
    );
  });

  it('every valid base query passes and is safe', () => {
    for (const q of VALID) {
      const sql = guardSql(q, TENANT);
      expectSafe(sql);
    }
  });
});
