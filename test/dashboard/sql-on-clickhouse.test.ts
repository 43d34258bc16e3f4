/**
 * The SQL core of POST /api/v1/sql against the real ClickHouse, as the read-only user:
 * every escape attempt is refused or returns the tenant's own rows only, the data is intact
 * afterwards, limits come back as 4xx naming the limit, ClickHouse's errors as 400 with its
 * message.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESCAPE_ATTEMPTS } from '../../dashboard/src/sql/escape-attempts.ts';
import { TENANT_FUNCTION_NAMES } from '../../dashboard/src/sql/functions.ts';
import {
  guardSql,
  runSql,
  type SqlLimits,
  type SqlResult,
  SqlExecutionError,
  SqlRefused,
} from '../../dashboard/src/sql/index.ts';
import { type ClickHouse, connectClickHouse } from '../../storage/src/clickhouse.ts';
import { backfillAllRollups } from '../../storage/src/rollup-backfill.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();
/** the random tests' seed: VXFLOW_SQL_SEED=n explores other queries */
const SEED = Number(process.env.VXFLOW_SQL_SEED ?? 7);
/** the same schema with acme's rows only: a query that reads only acme's rows answers the same on both */
const db2 = useTestClickHouse();
let ro: ClickHouse;
let roReadonly = '';

const LIMITS: SqlLimits = {
  maxExecutionTime: 10,
  maxMemoryUsage: 2_000_000_000,
  maxResultRows: 100_000,
  maxResultBytes: 100_000_000,
};

/** 2^53 + 1: must come back as a string */
const BIG = '9007199254740993';

// acme's rows; globex's and the unassigned row carry values that appear nowhere in acme's
const ROWS = [
  // tenant, network, vni, src, dst, sport, dport, proto, bytes, packets, sampling
  ['acme', 'acme-web', 5001, '::ffff:10.0.0.1', '::ffff:10.0.0.2', 40000, 443, 6, '1000', 10, 1],
  ['acme', 'acme-web', 5001, '::ffff:10.0.0.2', '::ffff:10.0.0.1', 443, 40000, 6, '2000', 20, 1],
  ['acme', 'acme-db', 5002, '::ffff:10.0.0.3', '::ffff:10.0.0.4', 41000, 5432, 6, BIG, 30, 100],
  ['globex', 'globex-net', 6001, '::ffff:10.0.0.1', '::ffff:10.0.0.2', 7777, 7777, 17, '7777777', 77, 1],
  ['globex', 'globex-net', 6001, '::ffff:10.0.0.9', '::ffff:10.0.0.8', 7777, 7778, 17, '7777778', 78, 1],
  ['', 'nobody-net', 9999, '::ffff:192.168.9.9', '::ffff:192.168.9.8', 5555, 5555, 1, '5555555', 55, 1],
] as const;
const FOREIGN = ['globex', '7777', 'nobody', '5555', '6001', '9999', '192.168.9', 'secret'];

async function counts(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ['flows', 'flows_1m', 'flows_5m', 'flows_1h']) {
    const rows = await db().query<{ tenant: string; n: string; b: string }>(
      `SELECT tenant, count() AS n, sum(bytes) AS b FROM ${db().database}.${t} GROUP BY tenant ORDER BY tenant`,
    );
    out[t] = JSON.stringify(rows);
  }
  const tables = await db().query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = '${db().database}' ORDER BY name`,
  );
  out.tables = tables.map((t) => t.name).join(',');
  return out;
}

let before: Record<string, string>;

/** INSERT … VALUES of some of ROWS, all at one fixed time */
function insertRows(database: string, rows: readonly (typeof ROWS)[number][], time: number): string {
  const values = rows
    .map(
      ([tenant, network, vni, src, dst, sport, dport, proto, bytes, packets, sampling]) =>
        `(toDateTime(${time}), '${tenant}', '${network}', ${vni}, IPv6StringToNum('${src}'), IPv6StringToNum('${dst}'), ${sport}, ${dport}, ${proto}, ${bytes}, ${packets}, ${sampling})`,
    )
    .join(', ');
  return `INSERT INTO ${database}.flows (time_received, tenant, network, vni, src_addr, dst_addr, src_port, dst_port, proto, bytes, packets, sampling_rate) VALUES ${values}`;
}

beforeAll(async () => {
  const database = db().database;
  const time = Math.floor(Date.now() / 1000) - 60;
  await db().command(insertRows(database, ROWS, time));
  await db2().command(
    insertRows(
      db2().database,
      ROWS.filter((r) => r[0] === 'acme'),
      time,
    ),
  );
  // direct inserts into flows reach the rollups through the backfill (`vxflow rollup`) since migration 5
  await backfillAllRollups(db());
  await backfillAllRollups(db2());
  // another table of the same database, that no tenant may read (empty in the twin)
  for (const d of [database, db2().database]) {
    await db().command(
      `CREATE TABLE ${d}.secret (tenant String, vni UInt32, network String) ENGINE = Memory`,
    );
  }
  await db().command(`INSERT INTO ${database}.secret VALUES ('globex', 6001, 'secret-net')`);
  ro = await connectClickHouse(testClickHouseConfig(database), { username: 'vxflow_ro' });
  const [row] = await ro.query<{ value: string }>(
    "SELECT value FROM system.settings WHERE name = 'readonly'",
  );
  roReadonly = row.value;
  before = await counts();
});

afterAll(async () => {
  await ro?.close();
});

type Outcome = { refused: SqlRefused } | { failed: SqlExecutionError } | { result: SqlResult };

async function run(
  q: string,
  tenant: string | null,
  limits = LIMITS,
  client?: ClickHouseClient,
  database = db().database,
): Promise<Outcome> {
  let text: string;
  try {
    text = guardSql(q, { database, tenant });
  } catch (err) {
    if (err instanceof SqlRefused) return { refused: err };
    throw err;
  }
  try {
    return { result: await runSql(client ?? ro.client, text, limits) };
  } catch (err) {
    if (err instanceof SqlExecutionError) return { failed: err };
    throw new Error(`${q}\n→ ${text}\n→ ${(err as Error).message}`);
  }
}

/**
 * Runs q for acme on both databases: whatever it reads beyond acme's rows (other tenants,
 * other tables) differs between them, so the answers must be the same.
 */
async function expectSameOnTwin(q: string): Promise<'refused' | 'failed' | 'ran'> {
  const o1 = await run(q, 'acme');
  if ('refused' in o1) return 'refused';
  expectOwnRowsOnly(o1, q);
  const o2 = await run(q, 'acme', LIMITS, undefined, db2().database);
  // names of computed columns may quote the SQL that ran, which names the database
  const names = (o: Outcome, database: string) =>
    'result' in o
      ? o.result.columns.map((c) => ({
          ...c,
          // 18.16 numbers scalar subqueries with a server-wide counter: _subquery574
          name: c.name
            .split(database)
            .join('DB')
            .replace(/_subquery\d+/g, '_subquery'),
        }))
      : [];
  const shape = (o: Outcome) =>
    'result' in o
      ? // without ORDER BY the order of rows is ClickHouse's choice
        {
          rows: o.result.rows.map((r) => JSON.stringify(r)).sort(),
          columns: names(o, o === o1 ? db().database : db2().database),
        }
      : 'failed' in o
        ? 'failed'
        : 'refused';
  expect(shape(o2), `${q}: the answer depends on data that is not acme's`).toEqual(shape(o1));
  return 'result' in o1 ? 'ran' : 'failed';
}

function expectOwnRowsOnly(o: Outcome, q: string) {
  if (!('result' in o)) return;
  const text = JSON.stringify(o.result.rows);
  for (const f of FOREIGN) expect(text.includes(f), `${q} returned ${text.slice(0, 300)}`).toBe(false);
}

/** A small random SQL generator (seeded): valid-looking queries full of references to other data. */
function randomQueries(database: string, count: number, seed: number): string[] {
  let state = seed >>> 0;
  const rnd = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const tables = [
    'flows',
    'flows_1m',
    'flows_1h',
    '"flows"',
    '`flows_5m`',
    `${database}.flows`,
    `${database}.secret`,
    `\`${database}\`.\`flows\``,
    'secret',
    'system.one',
    'FLOWS',
    'numbers(3)',
    `merge('${database}', '^flows$')`,
  ];
  const own = ['flows', 'flows_1m', 'flows_1h', '"flows"'];
  const table = () => (rnd() < 0.6 ? pick(own) : pick(tables));
  const cols = ['tenant', 'network', 'vni', 'bytes', 'dummy', 'number', 'flows.network', 'a.vni'];
  const fns = ['count', 'any', 'toString', 'groupArray', 'max', 'dictGet', 'hostName', 'joinGet', 'length'];
  const lits = ["'zz'", '1', '0'];
  const query = (d: number): string =>
    d > 2 || rnd() < 0.8 ? select(d) : `${select(d)} UNION ALL ${select(d + 1)}`;
  const source = (d: number): string => {
    const base = d < 3 && rnd() < 0.25 ? `(${query(d + 1)})` : table();
    return rnd() < 0.3 ? `${base} AS ${pick(['a', 'b', 'flows', 'secret'])}` : base;
  };
  const inRight = (d: number): string =>
    pick([
      () => table(),
      () => `(${table()} AS x)`,
      () => `((${table()}))`,
      () => `(${d < 3 ? query(d + 1) : 'SELECT 1'})`,
      () => '(1, 2)',
    ])();
  const expr = (d: number): string =>
    pick([
      () => pick(cols),
      () => pick(lits),
      () => `${pick(fns)}(${d < 3 ? expr(d + 1) : pick(cols)})`,
      () => `(${d < 3 ? query(d + 1) : 'SELECT 1'})`,
      () => `${pick(cols)} IN ${inRight(d)}`,
    ])();
  const pred = (d: number): string =>
    pick([
      () => `${pick(cols)} = ${pick(lits)}`,
      () => "tenant = 'globex' OR 1",
      () => `${pick(cols)} ${pick(['IN', 'NOT IN', 'GLOBAL IN'])} ${inRight(d)}`,
      () => (d < 3 ? `${pred(d + 1)} ${pick(['AND', 'OR'])} ${pred(d + 1)}` : '1'),
    ])();
  const select = (d: number): string => {
    const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => (rnd() < 0.15 ? '*' : expr(d)));
    let q = `SELECT ${items.join(', ')} FROM ${source(d)}`;
    if (rnd() < 0.3)
      q += ` ${pick(['ANY LEFT', 'ANY INNER', 'LEFT ANY', 'ALL INNER', 'CROSS'])} JOIN ${source(d)}${
        rnd() < 0.8
          ? pick([
              ' USING (vni)',
              ' USING (network)',
              ' USING (tenant, network)',
              ' USING (src_addr)',
              ' USING vni',
            ])
          : ''
      }`;
    if (rnd() < 0.6) q += ` WHERE ${pred(d)}`;
    if (rnd() < 0.1) q += ` ${pick(['SETTINGS max_threads = 1', 'FORMAT CSV', 'LIMIT 5', '; SELECT 1'])}`;
    return q;
  };
  return Array.from({ length: count }, () => query(0));
}

/** Random calls of the allowed functions on acme's columns: the answers may not depend on anything else. */
function randomCalls(count: number, seed: number, existing: Set<string>): string[] {
  let state = seed >>> 0;
  const rnd = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  // what changes from run to run on its own
  const volatile =
    /^(rand|now|today|yesterday|generateUUID|randConstant|blockSize|rowNumberInAllBlocks|runningAccumulate)/i;
  const fns = TENANT_FUNCTION_NAMES.filter((f) => !volatile.test(f) && existing.has(f));
  const atoms = [
    'bytes',
    'packets',
    'vni',
    'network',
    'tenant',
    'src_addr',
    'time_received',
    'sampling_rate',
    "'x'",
    "'10.0.0.1'",
    '1',
    '0',
    '-1',
    '3',
    '1000000',
    '[1, 2, 3]',
    "['a', 'b']",
    '(1, 2)',
    'NULL',
    'x -> x',
  ];
  const arg = (d: number): string => (d < 2 && rnd() < 0.35 ? call(d + 1) : pick(atoms));
  const call = (d: number): string => {
    const n = rnd() < 0.6 ? 1 : rnd() < 0.6 ? 2 : rnd() < 0.5 ? 0 : 3;
    const args = Array.from({ length: n }, () => arg(d)).join(', ');
    return rnd() < 0.1 ? `${pick(fns)}(${arg(d)})(${args})` : `${pick(fns)}(${args})`;
  };
  return Array.from({ length: count }, () => {
    const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => call(0)).join(', ');
    return rnd() < 0.5
      ? `SELECT ${items} FROM flows`
      : `SELECT ${items} FROM flows GROUP BY vni ORDER BY vni`;
  });
}

describe('SQL as a tenant on the real ClickHouse', () => {
  it('reads its own rows from flows and every rollup, u64 above 2^53 as strings', async () => {
    const o = await run('SELECT tenant, network, bytes FROM flows ORDER BY network, bytes', 'acme');
    if (!('result' in o)) throw new Error(JSON.stringify(o));
    expect(o.result.columns).toEqual([
      { name: 'tenant', type: 'String' },
      { name: 'network', type: 'String' },
      { name: 'bytes', type: 'UInt64' },
    ]);
    expect(o.result.rows).toEqual([
      ['acme', 'acme-db', BIG],
      ['acme', 'acme-web', 1000],
      ['acme', 'acme-web', 2000],
    ]);
    expect(o.result.truncated).toBe(false);
    expect(o.result.statistics.rows_read).toBeGreaterThan(0);
    for (const t of ['flows_1m', 'flows_5m', 'flows_1h']) {
      const r = await run(`SELECT count(), sum(packets) FROM ${t}`, 'acme');
      if (!('result' in r)) throw new Error(JSON.stringify(r));
      // rollups group rows with equal dimensions: 3 distinct flows of acme, 60 packets
      expect(r.result.rows[0][1]).toBe(60);
    }
    const g = await run('SELECT count(), sum(bytes) FROM flows', 'globex');
    expect('result' in g && g.result.rows).toEqual([[2, 15555555]]);
  });

  it('predicates on tenant cannot widen what it sees', async () => {
    for (const q of [
      "SELECT count() FROM flows WHERE tenant = 'globex' OR 1 = 1",
      "SELECT count() FROM flows PREWHERE tenant = 'globex' OR 1",
      "SELECT count() FROM (SELECT * FROM flows WHERE tenant != 'acme' OR 1)",
      "SELECT count() FROM flows AS a ANY INNER JOIN flows AS b USING (src_addr) WHERE b.tenant = 'globex' OR 1",
    ]) {
      const o = await run(q, 'acme');
      if (!('result' in o)) throw new Error(`${q}: ${JSON.stringify(o)}`);
      expect(o.result.rows[0][0], q).toBeLessThanOrEqual(3);
    }
    const none = await run("SELECT count() FROM flows WHERE tenant = 'globex'", 'acme');
    expect('result' in none && none.result.rows).toEqual([[0]]);
  });

  it('every escape attempt is refused or returns only its own rows', async () => {
    const summary: Record<string, number> = { refused: 0, failed: 0, ran: 0 };
    for (const a of ESCAPE_ATTEMPTS) {
      // qualified names aim at the database that exists here
      const q = a.q.replace(/\bvxflow\b/g, db().database);
      const o = await run(q, 'acme');
      if ('refused' in o) {
        summary.refused++;
        expect(a.expect, `${a.what}: ${a.q.slice(0, 100)} refused: ${o.refused.message}`).not.toBe('ok');
      } else if ('failed' in o) {
        summary.failed++;
        expect(o.failed.status).toBeGreaterThanOrEqual(400);
        expect(o.failed.status).toBeLessThan(500);
      } else {
        summary.ran++;
        expect(a.expect, `${a.what} ran`).toBe('ok');
        expectOwnRowsOnly(o, a.q);
        await expectSameOnTwin(q);
      }
    }
    expect(summary.ran).toBeGreaterThan(10);
    expect(await counts()).toEqual(before);
  });

  it('random queries full of references to other data: refused, or own rows only', async () => {
    const tally = { refused: 0, failed: 0, ran: 0 };
    for (const q of randomQueries(db().database, 800, SEED)) tally[await expectSameOnTwin(q)]++;
    // enough of them ran for the check to mean something
    expect(tally.ran).toBeGreaterThan(20);
    expect(await counts()).toEqual(before);
  }, 120_000);

  it('random calls of the allowed functions answer the same on the twin database', async () => {
    const tally = { refused: 0, failed: 0, ran: 0 };
    const existing = new Set(
      (await db().query<{ name: string }>('SELECT name FROM system.functions')).map((f) => f.name),
    );
    for (const q of randomCalls(250, SEED + 4, existing)) tally[await expectSameOnTwin(q)]++;
    expect(tally.ran).toBeGreaterThan(3);
    expect(await counts()).toEqual(before);
  }, 300_000);

  it('the same attempts as the readonly user directly, unguarded, prove the second wall where there is one', async () => {
    // without the guard, readonly still forbids every write
    for (const q of [
      'DROP TABLE flows',
      'TRUNCATE TABLE flows',
      'ALTER TABLE flows DELETE WHERE 1',
      'CREATE TABLE x (a UInt8) ENGINE = Memory',
    ]) {
      await expect(ro.command(q.replace(/flows/, `${db().database}.flows`))).rejects.toThrow(
        /readonly|Cannot/i,
      );
    }
    expect(await counts()).toEqual(before);
  });

  it('the deepest query of every construct the guard accepts does not harm the server', async () => {
    const units: [string, string][] = [
      ['(', ')'],
      ['abs(', ')'],
      ['NOT ', ''],
      ['- ', ''],
      ['vni IN (', ')'],
      ['(SELECT ', ')'],
      ['1 + ', ''],
      ['CAST(', ' AS UInt64)'],
      ['(vni NOT BETWEEN 0 AND ', ')'],
      ['[', ']'],
      ['if(1, 2, ', ')'],
      ['(CASE WHEN 1 THEN ', ' END)'],
      ['arrayMap(x -> ', ', [1])'],
    ];
    for (const [open, close] of units) {
      let deepest = '';
      for (let n = 1; n <= 120; n++) {
        const q = `SELECT ${open.repeat(n)}1${close.repeat(n)} FROM flows`;
        try {
          guardSql(q, { database: db().database, tenant: 'acme' });
          deepest = q;
        } catch {
          break;
        }
      }
      expect(deepest, open).not.toBe('');
      const o = await run(deepest, 'acme');
      // an answer or a 4xx from ClickHouse; never a dropped connection
      expect('result' in o || 'failed' in o, open).toBe(true);
    }
    expect(await ro.ping()).toBe(true);
  }, 120_000);

  it('the deepest query the guard accepts runs on the server', async () => {
    const deep = `SELECT ${'abs('.repeat(95)}count()${')'.repeat(95)} FROM flows`;
    const o = await run(deep, 'acme');
    expect('result' in o && o.result.rows).toEqual([[3]]);
    const chain = `SELECT count() FROM flows WHERE ${Array.from({ length: 90 }, (_, i) => `vni != ${i}`).join(' AND ')}`;
    const c = await run(chain, 'acme');
    expect('result' in c && c.result.rows).toEqual([[3]]);
    const arith = `SELECT 1${' + 1'.repeat(95)}`;
    const r = await run(arith, 'acme');
    expect('result' in r && r.result.rows).toEqual([[96]]);
  });
});

describe('what the guard writes means on ClickHouse what the user wrote', () => {
  it('every construct it emits runs on this ClickHouse', async () => {
    const cases: [string, unknown[][]][] = [
      ['SELECT count(), sum(bytes * sampling_rate) > 0, max(packets) FROM flows', [[3, 1, 30]]],
      [
        'SELECT network, count() AS n FROM flows WHERE proto = 6 AND dst_port IN (443, 5432) GROUP BY network ORDER BY network',
        [
          ['acme-db', 1],
          ['acme-web', 1],
        ],
      ],
      [
        "SELECT IPv6NumToString(src_addr) AS a FROM flows WHERE src_addr = IPv6StringToNum('::ffff:10.0.0.1')",
        [['::ffff:10.0.0.1']],
      ],
      [
        "SELECT countIf(network LIKE 'acme-%'), uniqExact(vni), quantile(0.5)(packets), topK(1)(network) FROM flows",
        [[3, 2, 20, ['acme-web']]],
      ],
      [
        "SELECT CASE WHEN packets > 15 THEN 'big' ELSE 'small' END AS k, count() FROM flows GROUP BY k ORDER BY k",
        [
          ['big', 2],
          ['small', 1],
        ],
      ],
      [
        'SELECT NOT (packets BETWEEN 15 AND 25), packets IS NULL, -packets, packets % 7, packets / 4 FROM flows ORDER BY packets LIMIT 1',
        [[1, 0, -10, 3, 2.5]],
      ],
      [
        "SELECT [1, 2][2], (1, 'x').2, arrayMap(x -> x * 2, [1, 2]), arrayFilter((x, y) -> x > y, [1, 5], [2, 2]), if(1 = 1 ? 1 : 0, 'y', 'n')",
        [[2, 'x', [2, 4], [5], 'y']],
      ],
      [
        "SELECT CAST(packets AS Nullable(String)), CAST(packets, 'Float64'), toTypeName(CAST(1 AS Decimal(10, 2))) FROM flows ORDER BY packets LIMIT 1",
        [['10', 10, 'Decimal(10, 2)']],
      ],
      [
        'SELECT count() FROM flows WHERE time_received > now() - INTERVAL 1 DAY AND EXTRACT(YEAR FROM time_received) > 2000',
        [[3]],
      ],
      [
        'SELECT network, packets FROM flows ORDER BY packets DESC LIMIT 1 BY network LIMIT 1, 5',
        [['acme-web', 20]],
      ],
      [
        'SELECT a.network, count(), max(b.vni) FROM flows AS a ANY LEFT JOIN flows_1m AS b USING (vni) GROUP BY a.network ORDER BY a.network',
        [
          ['acme-db', 1, 5002],
          ['acme-web', 2, 5001],
        ],
      ],
      [
        'SELECT count() FROM flows AS a ANY INNER JOIN (SELECT src_addr FROM flows) AS b USING (src_addr)',
        [[3]],
      ],
      ['SELECT count() FROM flows CROSS JOIN flows_1h', [[9]]],
      [
        'SELECT count() FROM flows WHERE src_addr IN (SELECT dst_addr FROM flows) AND vni GLOBAL IN (SELECT vni FROM flows_1h)',
        [[2]],
      ],
      ['SELECT (SELECT count() FROM flows_1h) AS n, n + 1', [[3, 4]]],
      ['WITH (SELECT max(packets) FROM flows) AS m SELECT count() FROM flows WHERE packets = m', [[1]]],
      [
        'SELECT network FROM flows WHERE vni = 5002 UNION ALL SELECT network FROM flows_1h WHERE vni = 5002',
        [['acme-db'], ['acme-db']],
      ],
      ['(SELECT 1) UNION ALL (SELECT 2 UNION ALL SELECT 3)', [[1], [2], [3]]],
      [
        'SELECT network, sum(packets) FROM flows_1m FINAL GROUP BY network WITH TOTALS ORDER BY network',
        [
          ['acme-db', 30],
          ['acme-web', 30],
        ],
      ],
      ['SELECT count() FROM flows PREWHERE proto = 6 WHERE vni = 5001 HAVING count() > 0', [[2]]],
      [
        'SELECT `network` AS `from`, "packets" AS `a b` FROM flows WHERE network = \'acme-db\'',
        [['acme-db', 30]],
      ],
      ["SELECT 'it''s', 'a\\'b', '\\x41\\n', length('\\0'), 'é'", [["it's", "a'b", 'A\n', 1, 'é']]],
      [
        'SELECT 0x10, 1e2, .5, inf > 0, isNaN(nan), true, false, 1 == 1, 1 <> 2, 1 != 1',
        [[16, 100, 0.5, 1, 1, 1, 0, 1, 1, 0]],
      ],
      ['SELECT DISTINCT network FROM flows ORDER BY network DESC NULLS LAST', [['acme-web'], ['acme-db']]],
      ['SELECT tupleElement((1, 2), 1), arrayElement([7], 1), tuple(1)', [[1, 7, [1]]]],
      [
        'SELECT sumIf(packets, proto = 6), sumArray([packets]), uniqIf(vni, 1), countIf(packets > 10) FROM flows',
        [[60, 60, 2, 2]],
      ],
      ['SELECT toStartOfFiveMinute(time_received) <= now() FROM flows LIMIT 1', [[1]]],
    ];
    for (const [q, want] of cases) {
      const o = await run(q, 'acme');
      if (!('result' in o)) {
        throw new Error(`${q}\n→ ${'refused' in o ? o.refused.message : o.failed.message}`);
      }
      expect(o.result.rows, q).toEqual(want);
    }
  });

  it('string literals and quoted names read the same as ClickHouse reads them', async () => {
    const piece = fc.constantFrom(
      'a',
      'Z',
      ' ',
      "''",
      "\\'",
      '\\\\',
      '\\n',
      '\\t',
      '\\0',
      '\\x41',
      '\\x7f',
      '\\x4',
      '\\q',
      '\\b',
      '"',
      '`',
      '""',
      '``',
      '\\"',
      '\\`',
      'é',
      '😀',
      '--',
      '/*',
      '*/',
      ';',
      '\n',
    );
    const samples = fc.sample(fc.array(piece, { minLength: 1, maxLength: 12 }), { numRuns: 60, seed: 42 });
    for (const parts of samples) {
      const body = parts.join('');
      for (const [lit, expr] of [
        [`'${body}'`, (l: string) => `SELECT hex(${l}) AS h`],
        [`\`${body}\``, (l: string) => `SELECT 1 AS ${l}`],
        [`"${body}"`, (l: string) => `SELECT 1 AS ${l}`],
      ] as const) {
        const q = expr(lit);
        let guarded: string;
        try {
          guarded = guardSql(q, { database: db().database, tenant: null });
        } catch (err) {
          if (err instanceof SqlRefused) continue;
          throw err;
        }
        const ours = await runSql(db().client, guarded, LIMITS);
        const theirs = await runSql(db().client, q, LIMITS).catch((e: Error) => e);
        expect(theirs, `${q} failed on ClickHouse but passed the guard as ${guarded}`).not.toBeInstanceOf(
          Error,
        );
        if (theirs instanceof Error) continue;
        expect([ours.columns[0].name, ours.rows], `${q} → ${guarded}`).toEqual([
          theirs.columns[0].name,
          theirs.rows,
        ]);
      }
    }
  });
});

describe('SQL as an admin', () => {
  it('reads every tenant and the unassigned rows, and system tables', async () => {
    const o = await run('SELECT tenant, count() FROM flows GROUP BY tenant ORDER BY tenant', null);
    expect('result' in o && o.result.rows).toEqual([
      ['', 1],
      ['acme', 3],
      ['globex', 2],
    ]);
    const s = await run(
      `SELECT count() FROM system.tables WHERE database = '${db().database}' AND name = 'flows'`,
      null,
    );
    expect('result' in s && s.result.rows).toEqual([[1]]);
  });

  it('other databases are refused', async () => {
    const o = await run('SELECT * FROM default.x', null);
    expect('refused' in o && o.refused.status).toBe(403);
  });
});

describe('limits and errors', () => {
  it('the row cap is enforced here: break mode returns whole blocks', async () => {
    const o = await run('SELECT number FROM system.numbers LIMIT 1000', null, {
      ...LIMITS,
      maxResultRows: 7,
    });
    if ('result' in o) {
      expect(o.result.rows).toHaveLength(7);
      expect(o.result.truncated).toBe(true);
    } else if ('failed' in o) {
      // a readonly=1 profile keeps its own overflow mode (throw): 413 naming the limit
      expect(o.failed.status).toBe(413);
      expect(o.failed.limit).toBe('max_result_rows');
    } else throw o.refused;
    const t = await run('SELECT * FROM flows', 'acme', { ...LIMITS, maxResultRows: 1 });
    expect('result' in t && [t.result.rows.length, t.result.truncated]).toEqual([1, true]);
  });

  it('more rows than the profile allows: 413 max_result_rows (throw) or truncated (break)', async () => {
    const o = await run('SELECT number FROM system.numbers LIMIT 200000', null, {
      ...LIMITS,
      maxResultRows: 1000,
    });
    if ('failed' in o) {
      expect(o.failed.status).toBe(413);
      expect(o.failed.limit).toBe('max_result_rows');
      expect(o.failed.message).toMatch(/^max_result_rows \(/);
    } else if ('result' in o) {
      expect(o.result.rows).toHaveLength(1000);
      expect(o.result.truncated).toBe(true);
    } else throw o.refused;
  });

  it('time: 408 naming max_execution_time', async () => {
    const started = Date.now();
    const o = await run('SELECT count() FROM system.numbers', null, { ...LIMITS, maxExecutionTime: 1 });
    expect('failed' in o && [o.failed.status, o.failed.limit]).toEqual([408, 'max_execution_time']);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('limits sent per query work for a user that may set them (408, 413 memory, 413 rows)', async () => {
    // the default user may change settings: the executor's mapping with its own limits
    const client = db().client;
    const time = await run(
      'SELECT count() FROM system.numbers',
      null,
      { ...LIMITS, maxExecutionTime: 1 },
      client,
    );
    expect('failed' in time && [time.failed.status, time.failed.message]).toEqual([
      408,
      'max_execution_time (1 s) exceeded',
    ]);
    const mem = await run(
      'SELECT groupArray(number) FROM numbers(50000000)',
      null,
      { ...LIMITS, maxMemoryUsage: 20_000_000 },
      client,
    );
    expect('failed' in mem && [mem.failed.status, mem.failed.limit]).toEqual([413, 'max_memory_usage']);
    if ('failed' in mem) expect(mem.failed.message).toMatch(/^max_memory_usage \(20000000 bytes\) exceeded/);
    const rows = await run(
      'SELECT number FROM numbers(100000)',
      null,
      { ...LIMITS, maxResultRows: 10 },
      client,
    );
    expect('result' in rows && [rows.result.rows.length, rows.result.truncated]).toEqual([10, true]);
  }, 30_000);

  it('ClickHouse errors come back as 400 with its message', async () => {
    const syntax = await runSql(ro.client, 'SELEC 1', LIMITS).catch((e) => e);
    expect(syntax).toBeInstanceOf(SqlExecutionError);
    expect(syntax.status).toBe(400);
    expect(syntax.message).toMatch(/Syntax error/);
    expect(syntax.message).not.toMatch(/Code: |e\.what|DB::Exception/);
    const unknown = await run('SELECT no_such_column FROM flows', 'acme');
    expect('failed' in unknown && unknown.failed.status).toBe(400);
    if ('failed' in unknown) expect(unknown.failed.message).toMatch(/no_such_column/);
    const type = await run("SELECT 1 + 'a' FROM flows", 'acme');
    expect('failed' in type && type.failed.status).toBe(400);
  });

  it('what readonly forbids comes back as 403', async () => {
    const o = await runSql(ro.client, 'SELECT * FROM numbers(3)', LIMITS).catch((e) => e);
    if (roReadonly === '1') {
      expect(o).toBeInstanceOf(SqlExecutionError);
      expect(o.status).toBe(403);
    } else expect(o.rows).toEqual([[0], [1], [2]]);
  });

  it('the data is intact after everything', async () => {
    expect(await counts()).toEqual(before);
  });
});
