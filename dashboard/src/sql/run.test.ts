import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { SqlExecutionError } from './errors.ts';
import { cleanMessage, converter, mapClickHouseError, querySettings, runSql, type SqlLimits } from './run.ts';

const LIMITS: SqlLimits = {
  maxExecutionTime: 10,
  maxMemoryUsage: 2_000_000_000,
  maxResultRows: 3,
  maxResultBytes: 1_000_000,
};

describe('values', () => {
  it('64-bit integers: numbers when exact, strings above 2^53, nested types too', () => {
    const u = converter('UInt64');
    expect(u?.('9007199254740991')).toBe(9007199254740991);
    expect(u?.('9007199254740993')).toBe('9007199254740993');
    expect(u?.('18446744073709551615')).toBe('18446744073709551615');
    expect(converter('Int64')?.('-5')).toBe(-5);
    expect(converter('Nullable(UInt64)')?.(null)).toBe(null);
    expect(converter('Array(Array(UInt64))')?.([['1', '18446744073709551615']])).toEqual([
      [1, '18446744073709551615'],
    ]);
    expect(converter('Tuple(UInt64, String)')?.(['1', '2'])).toEqual([1, '2']);
    expect(converter('Tuple(a UInt64, b Array(Int64))')?.(['1', ['2']])).toEqual([1, [2]]);
    expect(converter('LowCardinality(Nullable(UInt64))')?.('7')).toBe(7);
    for (const t of [
      'UInt32',
      'String',
      'Float64',
      'Array(String)',
      'Decimal(18, 2)',
      'DateTime',
      'FixedString(16)',
    ]) {
      expect(converter(t), t).toBeUndefined();
    }
  });
});

describe('errors', () => {
  it('cleans the messages of 18.16 and of current releases', () => {
    expect(
      cleanMessage(
        'Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1: SELEC 1. Expected one of: SHOW, SELECT, e.what() = DB::Exception\n',
      ),
    ).toBe('Syntax error: failed at position 1: SELEC 1. Expected one of: SHOW, SELECT');
    expect(
      cleanMessage(
        "Code: 47. DB::Exception: Missing columns: 'x' while processing query. (UNKNOWN_IDENTIFIER) (version 24.3.1.1)",
      ),
    ).toBe("Missing columns: 'x' while processing query.");
    expect(cleanMessage("Unknown table expression identifier 'x' in scope SELECT 1 ")).toBe(
      "Unknown table expression identifier 'x' in scope SELECT 1",
    );
  });

  const ch = (code: number, text: string) =>
    new Error(`Code: ${code}, e.displayText() = DB::Exception: ${text}, e.what() = DB::Exception`);

  it('maps limits to 408/413 naming the limit, readonly to 403, load to 429, the rest to 400', () => {
    const m = (e: Error, sent?: Record<string, unknown>) => {
      const r = mapClickHouseError(e, LIMITS, sent) as SqlExecutionError;
      return [r.status, r.limit, r.message];
    };
    expect(m(ch(159, 'Timeout exceeded: elapsed 10.0 seconds, maximum: 10'))).toEqual([
      408,
      'max_execution_time',
      'max_execution_time (10 s) exceeded',
    ]);
    expect(m(ch(396, 'Limit for result exceeded, max rows: 3.00, current rows: 65.54 thousand'))[0]).toBe(
      413,
    );
    expect(m(ch(396, 'Limit for result exceeded, max rows: 3.00, current rows: 65.54 thousand'))[1]).toBe(
      'max_result_rows',
    );
    expect(m(ch(396, 'Limit for result exceeded, max bytes: 1.00 MiB, current bytes: 8.00 MiB'))[1]).toBe(
      'max_result_bytes',
    );
    expect(m(ch(158, 'Limit for rows to read exceeded'))[1]).toBe('max_result_rows');
    expect(m(ch(241, 'Memory limit (for query) exceeded: would use 4.00 MiB, maximum: 1.00 MiB'))).toEqual([
      413,
      'max_memory_usage',
      'max_memory_usage (2000000000 bytes) exceeded: Memory limit (for query) exceeded: would use 4.00 MiB, maximum: 1.00 MiB',
    ]);
    expect(m(ch(164, 'Table functions are forbidden in readonly mode'))).toEqual([
      403,
      'readonly',
      'Table functions are forbidden in readonly mode',
    ]);
    expect(m(ch(202, 'Too many simultaneous queries. Maximum: 100'))[0]).toBe(429);
    expect(m(ch(60, "Table test.x doesn't exist."))).toEqual([400, undefined, "Table test.x doesn't exist."]);
    // a limit that came from the profile (not sent): ClickHouse's value
    expect(m(ch(159, 'Timeout exceeded: elapsed 30.0 seconds, maximum: 30'), {})[2]).toBe(
      'max_execution_time (30 s) exceeded',
    );
    // errors that are not ClickHouse's stay as they are
    const net = new Error('connect ECONNREFUSED 127.0.0.1:8123');
    expect(mapClickHouseError(net, LIMITS)).toBe(net);
  });
});

/** A stand-in for the HTTP client: answers or fails per call, and records the settings sent. */
function fakeClient(answers: ((settings: Record<string, unknown>) => string | Error)[]) {
  const calls: Record<string, unknown>[] = [];
  const client = {
    async exec(p: { query: string; clickhouse_settings: Record<string, unknown> }) {
      calls.push(p.clickhouse_settings);
      const a = answers[Math.min(calls.length - 1, answers.length - 1)](p.clickhouse_settings);
      if (a instanceof Error) throw a;
      return { stream: Readable.from([Buffer.from(a)]), query_id: 'x' };
    },
    async command() {},
  };
  return { client: client as unknown as ClickHouseClient, calls };
}

const answer = (rows: unknown[][]) =>
  JSON.stringify({
    meta: [{ name: 'n', type: 'UInt64' }],
    data: rows,
    rows: rows.length,
    statistics: { elapsed: 0.001, rows_read: 10, bytes_read: 80 },
  });

describe('runSql', () => {
  it('sends the limits, caps rows itself and converts values', async () => {
    const { client, calls } = fakeClient([
      () => answer([['1'], ['2'], ['3'], ['4'], ['18446744073709551615']]),
    ]);
    const r = await runSql(client, 'SELECT 1', LIMITS);
    expect(r).toEqual({
      columns: [{ name: 'n', type: 'UInt64' }],
      rows: [[1], [2], [3]],
      statistics: { elapsed: 0.001, rows_read: 10, bytes_read: 80 },
      truncated: true,
    });
    expect(calls[0]).toEqual({ ...querySettings(LIMITS), wait_end_of_query: 1 });
  });

  it('drops only the settings a readonly=1 profile refuses, and remembers them for that client', async () => {
    const refuse = (name: string) =>
      new Error(
        `Code: 164, e.displayText() = DB::Exception: Cannot override setting (${name}) in readonly mode, e.what() = DB::Exception`,
      );
    const { client, calls } = fakeClient([
      (s) =>
        'result_overflow_mode' in s
          ? refuse('result_overflow_mode')
          : 'max_result_bytes' in s
            ? refuse('max_result_bytes')
            : answer([['1']]),
    ]);
    expect((await runSql(client, 'SELECT 1', LIMITS)).rows).toEqual([[1]]);
    expect(calls).toHaveLength(3);
    expect(Object.keys(calls[2]).sort()).toEqual(
      [
        'enable_optimize_predicate_expression',
        'max_execution_time',
        'max_memory_usage',
        'max_result_rows',
        'wait_end_of_query',
      ].sort(),
    );
    await runSql(client, 'SELECT 1', LIMITS);
    expect(calls).toHaveLength(4);
    expect(calls[3]).toEqual(calls[2]);
  });

  it('a server that takes wait_end_of_query for a setting and refuses it still answers', async () => {
    const { client, calls } = fakeClient([
      (s) =>
        'wait_end_of_query' in s
          ? new Error(
              "Code: 164. DB::Exception: Cannot modify 'wait_end_of_query' setting in readonly mode. (READONLY)",
            )
          : answer([['1']]),
    ]);
    expect((await runSql(client, 'SELECT 1', LIMITS)).rows).toEqual([[1]]);
    expect(calls).toHaveLength(2);
  });

  it('a refused setting the client added itself is not dropped from ours: the error stands', async () => {
    const { client, calls } = fakeClient([
      () =>
        new Error(
          'Code: 164, e.displayText() = DB::Exception: Cannot override setting (enable_http_compression) in readonly mode, e.what() = DB::Exception',
        ),
    ]);
    const err = await runSql(client, 'SELECT 1', LIMITS).catch((e) => e);
    expect([err.status, calls.length]).toEqual([403, 1]);
  });

  it("the HTTP client's own timeout is the time limit: 408", async () => {
    const { client } = fakeClient([() => new Error('Timeout error.')]);
    const err = await runSql(client, 'SELECT 1', LIMITS).catch((e) => e);
    expect([err.status, err.limit]).toEqual([408, 'max_execution_time']);
  });

  it('an error after the data started (unbuffered answer) is still mapped', async () => {
    const { client } = fakeClient([
      () =>
        '{"meta":[{"name":"n","type":"UInt64"}],"data":[["1"],Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 10.1 seconds, maximum: 10, e.what() = DB::Exception',
    ]);
    const err = await runSql(client, 'SELECT 1', LIMITS).catch((e) => e);
    expect(err).toBeInstanceOf(SqlExecutionError);
    expect([err.status, err.limit]).toEqual([408, 'max_execution_time']);
  });

  it('an answer larger than the byte bound is refused with 413 max_result_bytes', async () => {
    const big = answer(Array.from({ length: 200_000 }, (_, i) => [String(i)]));
    const { client } = fakeClient([() => big]);
    const err = await runSql(client, 'SELECT 1', { ...LIMITS, maxResultBytes: 1000 }).catch((e) => e);
    expect([err.status, err.limit]).toEqual([413, 'max_result_bytes']);
  });
});
