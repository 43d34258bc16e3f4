import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteString } from '../../../storage/src/sql.ts';
import { emitName, query as emitQuery } from './emit.ts';
import { SqlRefused } from './errors.ts';
import { MAX_DEPTH, parseSql } from './parse.ts';
import { tokenize } from './tokenize.ts';

const kinds = (text: string) => tokenize(text).map((t) => [t.kind, t.value]);

function refusal(f: () => unknown): { status: number; message: string } | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof SqlRefused) return { status: err.status, message: err.message };
    throw err;
  }
  return undefined;
}

describe('tokenize: ClickHouse lexical rules', () => {
  it('strings: backslash escapes, doubled quotes, \\xHH, unknown escapes mean the character', () => {
    expect(kinds("'a\\'b''c\\\\d\\n\\t\\0\\x41\\q'")).toEqual([
      ['string', "a'b'c\\d\n\t\0Aq"],
      ['eof', ''],
    ]);
    expect(kinds("''")).toEqual([
      ['string', ''],
      ['eof', ''],
    ]);
    expect(refusal(() => tokenize("'abc"))?.message).toBe('at 0: string literal is not closed');
    expect(refusal(() => tokenize("'abc\\'"))?.message).toBe('at 0: string literal is not closed');
    expect(refusal(() => tokenize("'\\xff'"))?.status).toBe(400);
  });

  it('quoted identifiers: "double" and `back` quotes with the same escapes', () => {
    expect(kinds('"a""b" `c``d` `e\\`f` "g\\x41"')).toEqual([
      ['qident', 'a"b'],
      ['qident', 'c`d'],
      ['qident', 'e`f'],
      ['qident', 'gA'],
      ['eof', ''],
    ]);
    expect(refusal(() => tokenize('``'))?.message).toBe('at 0: empty quoted identifier');
  });

  it('comments: -- to the end of the line, /* */ not nested (refused when ambiguous)', () => {
    expect(kinds('a -- b\nc /* d */ e --')).toEqual([
      ['ident', 'a'],
      ['ident', 'c'],
      ['ident', 'e'],
      ['eof', ''],
    ]);
    expect(kinds('a --\r b')).toEqual([
      ['ident', 'a'],
      ['eof', ''],
    ]);
    expect(refusal(() => tokenize('/* a /* b */ c */'))?.message).toBe(
      'at 0: nested /* comments are not supported',
    );
    expect(refusal(() => tokenize('/* a'))?.message).toBe('at 0: comment /* is not closed');
    // a comment between letters splits them
    expect(kinds('SEL/**/ECT')).toEqual([
      ['ident', 'SEL'],
      ['ident', 'ECT'],
      ['eof', ''],
    ]);
  });

  it('numbers: integers, fractions, exponents, hex, binary; tuple access t.1.2', () => {
    expect(kinds('1 1.5 .5 1. 1e3 1E-3 2.5e+10 0x1F 0b101')).toEqual([
      ...['1', '1.5', '.5', '1.', '1e3', '1E-3', '2.5e+10', '0x1F', '0b101'].map((v) => ['number', v]),
      ['eof', ''],
    ]);
    expect(kinds('t.1.2')).toEqual([
      ['ident', 't'],
      ['op', '.'],
      ['number', '1'],
      ['op', '.'],
      ['number', '2'],
      ['eof', ''],
    ]);
    expect(kinds('f(x).1')).toContainEqual(['number', '1']);
    expect(refusal(() => tokenize('123abc'))?.status).toBe(400);
    expect(refusal(() => tokenize('0x'))?.status).toBe(400);
  });

  it('operators, longest first', () => {
    expect(kinds('a<=b<>c!=d==e||f->g;').map(([, v]) => v)).toEqual([
      'a',
      '<=',
      'b',
      '<>',
      'c',
      '!=',
      'd',
      '==',
      'e',
      '||',
      'f',
      '->',
      'g',
      ';',
      '',
    ]);
  });

  it('refuses characters outside printable ASCII outside strings, names and comments', () => {
    for (const [text, what] of [
      ['SELECT\u00a01', 'U+00A0'],
      ['SELECT 1\u0000', 'U+0000'],
      ['ｓｅｌｅｃｔ', 'U+FF53'],
      ['fl\u043ews', 'U+043E'],
      ['a\u200bb', 'U+200B'],
      ['$$x$$', "'$'"],
      ['{x:UInt8}', "'{'"],
      ['@x', "'@'"],
      ['#x', "'#'"],
      ['😀', 'U+1F600'],
    ]) {
      expect(refusal(() => tokenize(text))?.message, text).toContain(what);
    }
    // but anything goes inside strings, quoted names and comments
    expect(kinds("'ｆ\u0000😀' `\u043e` /* \u00a0 */")).toEqual([
      ['string', 'ｆ\u0000😀'],
      ['qident', '\u043e'],
      ['eof', ''],
    ]);
  });

  it('string values survive quoteString and the tokenizer unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        const wellFormed = Buffer.from(s, 'utf8').toString('utf8');
        const [t] = tokenize(quoteString(wellFormed));
        return t.kind === 'string' && t.value === wellFormed;
      }),
      { numRuns: 500 },
    );
  });
});

describe('parse and emit', () => {
  const roundTrip = (q: string) => emitQuery(parseSql(q));

  it('parenthesises every operator, keeps the precedence of ClickHouse', () => {
    expect(roundTrip('SELECT 1 + 2 * 3 - 4 / 5 % 6')).toBe('SELECT ((1 + (2 * 3)) - ((4 / 5) % 6))');
    expect(roundTrip('SELECT a OR b AND NOT c = d')).toBe('SELECT (a OR (b AND (NOT (c = d))))');
    expect(roundTrip("SELECT a || 'x' = 'y' AND b BETWEEN 1 + 1 AND 3")).toBe(
      "SELECT (((a || 'x') = 'y') AND (b BETWEEN (1 + 1) AND 3))",
    );
    expect(roundTrip('SELECT a ? b : c ? d : e')).toBe('SELECT (a ? b : (c ? d : e))');
    // an empty IN list stays one (fast-check found `tuple()`, which reads back as a call)
    expect(roundTrip('SELECT co IN ()')).toBe('SELECT (co IN ())');
    expect(roundTrip(roundTrip('SELECT co NOT IN ()'))).toBe('SELECT (co NOT IN ())');
    expect(roundTrip('SELECT -a - -1, - - 2')).toBe('SELECT ((- a) - (- 1)), (- (- 2))');
    expect(roundTrip("SELECT x NOT IN (1, 2), y GLOBAL NOT IN (SELECT 1), z IN (3), w NOT LIKE 'a%'")).toBe(
      "SELECT (x NOT IN (1, 2)), (y GLOBAL NOT IN (SELECT 1)), (z IN (3)), (w NOT LIKE 'a%')",
    );
    expect(roundTrip('SELECT a IS NOT NULL, b IS NULL, NULL')).toBe(
      'SELECT (a IS NOT NULL), (b IS NULL), NULL',
    );
  });

  it('never writes -- or /* by putting tokens side by side', () => {
    expect(roundTrip('SELECT 1--1\n-1')).toBe('SELECT (1 - 1)');
    expect(roundTrip('SELECT a-(-b), a/(-b)')).toBe('SELECT (a - (- b)), (a / (- b))');
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('1', 'a', '-', '/', '*', '(', ')', ' ', '+', "'-'", '--x\n'), {
          maxLength: 30,
        }),
        (parts) => {
          let sql: string;
          try {
            sql = roundTrip(`SELECT ${parts.join('')}`);
          } catch (err) {
            if (err instanceof SqlRefused) return;
            throw err;
          }
          // outside string literals there is no comment opener
          const outside = sql.replace(/'(?:[^'\\]|\\.)*'/g, "''");
          expect(outside).not.toMatch(/--|\/\*/);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('names: plain when plain, backquoted with escapes otherwise', () => {
    expect(emitName('bytes')).toBe('bytes');
    expect(emitName('from')).toBe('`from`');
    expect(emitName('null')).toBe('`null`');
    expect(emitName('a b')).toBe('`a b`');
    expect(emitName('a`b\\c\n')).toBe('`a\\`b\\\\c\\x0a`');
    expect(tokenize(emitName('a`b\\c\n\u0001'))[0]).toMatchObject({
      kind: 'qident',
      value: 'a`b\\c\n\u0001',
    });
  });

  it('clauses in ClickHouse order, LIMIT forms, JOIN forms', () => {
    expect(
      roundTrip(
        "WITH 1 AS one SELECT DISTINCT a FROM t AS x GLOBAL ANY LEFT JOIN u USING a PREWHERE b WHERE c GROUP BY a WITH TOTALS HAVING d ORDER BY a DESC NULLS LAST, b COLLATE 'en' LIMIT 2 BY a LIMIT 5 OFFSET 10",
      ),
    ).toBe(
      "WITH 1 AS one SELECT DISTINCT a FROM t AS x GLOBAL ANY LEFT JOIN u USING (a) PREWHERE b WHERE c GROUP BY a WITH TOTALS HAVING d ORDER BY a DESC NULLS LAST, b COLLATE 'en' LIMIT 2 BY a LIMIT 10, 5",
    );
    expect(roundTrip('SELECT 1 FROM a LEFT ANY JOIN b ON a.x = b.x CROSS JOIN c, d')).toBe(
      'SELECT 1 FROM a ANY LEFT JOIN b ON (a.x = b.x) CROSS JOIN c CROSS JOIN d',
    );
    expect(roundTrip('SELECT a x, b AS `y z`, c "w" FROM t final')).toBe(
      'SELECT a AS x, b AS `y z`, c AS w FROM t FINAL',
    );
    expect(roundTrip('(SELECT 1) UNION ALL SELECT 2 UNION ALL (SELECT 3 UNION ALL SELECT 4)')).toBe(
      '(SELECT 1) UNION ALL SELECT 2 UNION ALL (SELECT 3 UNION ALL SELECT 4)',
    );
  });

  it('special forms: CASE, CAST, INTERVAL, EXTRACT, lambdas, parametric aggregates, arrays, tuples', () => {
    expect(roundTrip("SELECT CASE x WHEN 1 THEN 'a' WHEN 2 THEN 'b' END")).toBe(
      "SELECT (CASE x WHEN 1 THEN 'a' WHEN 2 THEN 'b' END)",
    );
    expect(roundTrip("SELECT CAST(x AS Tuple(a UInt8, b DateTime('UTC'))), CAST(x, 'String')")).toBe(
      "SELECT CAST(x AS Tuple(a UInt8, b DateTime('UTC'))), CAST(x, 'String')",
    );
    expect(roundTrip('SELECT now() - INTERVAL 5 MINUTE, EXTRACT(YEAR FROM d)')).toBe(
      'SELECT (now() - toIntervalMinute(5)), EXTRACT(YEAR FROM d)',
    );
    expect(roundTrip('SELECT arrayMap((a, b) -> a + b, x, y), arrayFilter(v -> v > 1, x)')).toBe(
      'SELECT arrayMap((a, b) -> (a + b), x, y), arrayFilter(v -> (v > 1), x)',
    );
    expect(roundTrip('SELECT quantilesIf(0.5, 0.9)(x, y > 0), count(DISTINCT z), count(*), t.*')).toBe(
      'SELECT quantilesIf(0.5, 0.9)(x, (y > 0)), count(DISTINCT z), count(*), t.*',
    );
    expect(roundTrip('SELECT [], [1, [2]], (), (1, 2), (1), a[1][2], t.1.2')).toBe(
      'SELECT [], [1, [2]], tuple(), (1, 2), 1, arrayElement(arrayElement(a, 1), 2), tupleElement(tupleElement(t, 1), 2)',
    );
    expect(roundTrip('SELECT inf, -nan, true, false, any(x), left(s, 2)')).toBe(
      'SELECT inf, (- nan), 1, 0, any(x), left(s, 2)',
    );
  });

  it('refuses what it does not read, with the position', () => {
    const cases: [string, string][] = [
      ['SELECT', 'at 6: expected an expression, got end of query'],
      ['SELECT 1 FROM', 'at 13: expected a table name or a subquery, got end of query'],
      ['SELECT 1 2', "at 9: expected end of query, got '2'"],
      ['SELECT f(', 'at 9: expected an expression, got end of query'],
      ['SELECT x::String', 'the :: cast is not supported; use CAST(x AS T)'],
      ['SELECT count() OVER ()', 'window functions (OVER) are not supported'],
      ["SELECT DATE '2020-01-01'", "DATE 'literal' is not supported; use toDate()/toDateTime()"],
      ['SELECT * FROM t ARRAY JOIN a', 'ARRAY JOIN is not supported; use arrayJoin()'],
      ['SELECT * FROM t LEFT ARRAY JOIN a', 'ARRAY JOIN is not supported; use arrayJoin()'],
      ['SELECT 1 EXCEPT SELECT 2', 'EXCEPT is not supported; only UNION ALL is'],
      ['SELECT 1 ORDER BY 1 WITH FILL', 'WITH FILL is not supported'],
      ['SELECT 1 LIMIT -1', "at 15: expected a whole number, got '-'"],
      ['SELECT 1 OFFSET 1', 'OFFSET without LIMIT is not supported; write LIMIT n OFFSET m'],
      ['WITH 1 SELECT 1', "at 7: expected AS name after a WITH expression, got 'SELECT'"],
      ['SELECT a.b(1)', 'at 7: qualified function names are not supported'],
    ];
    for (const [q, message] of cases)
      expect(
        refusal(() => parseSql(q)),
        q,
      ).toEqual({ status: 400, message });
  });

  it(`bounds the depth of the tree at ${MAX_DEPTH}, however it is built`, () => {
    for (const build of [
      (n: number) => `SELECT ${'('.repeat(n)}1${')'.repeat(n)}`,
      (n: number) => `SELECT 1${' + 1'.repeat(n)}`,
      (n: number) => `SELECT ${'NOT '.repeat(n)}1`,
      (n: number) => `SELECT ${'['.repeat(n)}1${']'.repeat(n)}`,
      (n: number) => `SELECT ${'f('.repeat(n)}1${')'.repeat(n)}`,
      (n: number) => `SELECT ${'(SELECT '.repeat(n)}1${')'.repeat(n)}`,
      (n: number) => `${'SELECT * FROM ('.repeat(n)}SELECT 1${')'.repeat(n)}`,
      (n: number) => `SELECT 1${' IN (1)'.repeat(n)}`,
      (n: number) => `SELECT a${'[1]'.repeat(n)}`,
      (n: number) => `SELECT ${'CASE WHEN 1 THEN '.repeat(n)}1${' END'.repeat(n)}`,
    ]) {
      expect(
        refusal(() => parseSql(build(5))),
        build(5),
      ).toBeUndefined();
      expect(refusal(() => parseSql(build(MAX_DEPTH + 1)))?.message, build(3)).toBe(
        `query is nested more than ${MAX_DEPTH} levels deep`,
      );
      expect(refusal(() => parseSql(build(5000)))?.status).toBe(400);
    }
  });

  it('the SQL it writes nests parentheses at most about twice the tree depth', () => {
    const parenDepth = (sql: string) => {
      let d = 0;
      let max = 0;
      for (const t of tokenize(sql)) {
        if (t.kind === 'op' && t.value === '(') max = Math.max(max, ++d);
        if (t.kind === 'op' && t.value === ')') d--;
      }
      return max;
    };
    let worst = 0;
    const units: [string, string][] = [
      ['(', ')'],
      ['f(', ')'],
      ['NOT ', ''],
      ['- ', ''],
      ['x IN (', ')'],
      ['(SELECT ', ')'],
      ['a + ', ''],
      ['CAST(', ' AS UInt8)'],
      ['(x AS y) + ', ''],
      ['(x NOT BETWEEN 0 AND ', ')'],
      ['[', ']'],
      ['if(1, 2, ', ')'],
    ];
    for (const [open, close] of units) {
      for (let n = 1; n <= MAX_DEPTH + 2; n++) {
        let sql: string;
        try {
          sql = emitQuery(parseSql(`SELECT ${open.repeat(n)}1${close.repeat(n)}`));
        } catch (err) {
          if (err instanceof SqlRefused) break;
          throw err;
        }
        worst = Math.max(worst, parenDepth(sql));
      }
    }
    expect(worst).toBeGreaterThan(MAX_DEPTH / 2);
    // measured on 18.16: 300 levels run, about 1,000 crash the server
    expect(worst).toBeLessThanOrEqual(2 * MAX_DEPTH + 10);
  });
});
