/**
 * Runs guarded SQL on ClickHouse as the read-only user and returns columns, rows and
 * statistics (JSONCompact), with the limits sent per query and the row cap enforced here
 * (the `break` overflow mode stops after a whole block, so ClickHouse returns more).
 *
 * The read-only user's profile decides whether per-query settings are possible: readonly=2
 * accepts them; readonly=1 accepts a setting only at the profile's own value (measured on
 * 18.16: "Cannot override setting (x) in readonly mode", code 164, otherwise). On such a
 * refusal the query is sent again without that setting (the profile's value applies), one
 * setting at a time, and the refused ones are remembered per client. With a profile that
 * holds exactly querySettings(limits), every setting is accepted at the first attempt.
 *
 * ClickHouse answers every error with HTTP 500 (404 for an unknown table) and, on 18.16,
 * the code only in the text; errors are mapped here: limits to 408/413 naming the limit,
 * read-only violations to 403, too many queries to 429, anything else with a code to 400
 * with ClickHouse's message (first line, cleaned). Errors without a ClickHouse code
 * (connection refused, …) are rethrown as they are: they are not the user's.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString } from '../../../storage/src/sql.ts';
import { SqlExecutionError } from './errors.ts';

export interface SqlLimits {
  /** seconds */
  maxExecutionTime: number;
  /** bytes */
  maxMemoryUsage: number;
  maxResultRows: number;
  maxResultBytes: number;
}

export interface SqlResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  statistics: { elapsed: number; rows_read: number; bytes_read: number };
  /** more rows than maxResultRows (or bytes than maxResultBytes) were produced; the rest were dropped */
  truncated: boolean;
}

export interface RunOptions {
  /** default: vxflow-sql-<uuid> */
  queryId?: string;
  /** cancels the query (the HTTP request, and KILL QUERY on the server) */
  signal?: AbortSignal;
}

/**
 * Settings each client's user refused (readonly=1 refuses any value that differs from its
 * profile; a current ClickHouse with <constraints> refuses values outside them).
 */
const refusedSettings = new WeakMap<ClickHouseClient, Set<string>>();

/** Seconds the client waits beyond max_execution_time before it gives up and kills the query. */
const GRACE_SECONDS = 3;

/** The settings sent with every query. */
export function querySettings(limits: SqlLimits): Record<string, string | number> {
  return {
    max_execution_time: limits.maxExecutionTime,
    max_memory_usage: limits.maxMemoryUsage,
    max_result_rows: limits.maxResultRows,
    max_result_bytes: limits.maxResultBytes,
    result_overflow_mode: 'break',
    // the tenant wrapper is a subquery: push the user's WHERE into it (default 0 on 18.16)
    enable_optimize_predicate_expression: 1,
  };
}

export async function runSql(
  client: ClickHouseClient,
  guardedSql: string,
  limits: SqlLimits,
  opts: RunOptions = {},
): Promise<SqlResult> {
  let refused = refusedSettings.get(client);
  const all = {
    ...querySettings(limits),
    // an HTTP parameter rather than a setting: buffer the answer so that an error after the
    // first block comes back as an error status instead of text appended to the data
    wait_end_of_query: 1,
  };
  for (let tries = 0; ; tries++) {
    const settings = Object.fromEntries(Object.entries(all).filter(([k]) => !refused?.has(k)));
    try {
      return await attempt(client, guardedSql, limits, settings, opts.queryId ?? newQueryId(), opts.signal);
    } catch (err) {
      const name = err instanceof SqlExecutionError ? refusedSetting(err) : undefined;
      // not a refused setting, or one the client added (enable_http_compression…): not ours to drop
      if (name === undefined || (name !== '' && !(name in settings)) || tries >= Object.keys(all).length)
        throw err;
      // the user may not change this setting: its profile's value applies from now on
      if (!refused) {
        refused = new Set();
        refusedSettings.set(client, refused);
      }
      if (name !== '') refused.add(name);
      else for (const k of Object.keys(settings)) refused.add(k);
    }
  }
}

function newQueryId(): string {
  return `vxflow-sql-${randomUUID()}`;
}

/**
 * The setting named by a refusal to change it ('' when the message names none), or
 * undefined when the error is something else. 18.16: "Cannot override setting
 * (max_result_bytes) in readonly mode" (164); current releases: "Cannot modify
 * 'max_result_bytes' setting in readonly mode" (164), "Setting max_execution_time shouldn't
 * be greater than 10" (452, SETTING_CONSTRAINT_VIOLATION).
 */
function refusedSetting(err: SqlExecutionError): string | undefined {
  if (err.code !== 164 && err.code !== 452) return undefined;
  const m =
    /setting \(([A-Za-z_]+)\)/i.exec(err.message) ??
    /modify '([A-Za-z_]+)' setting/i.exec(err.message) ??
    /setting '?([A-Za-z_]+)'? should/i.exec(err.message);
  if (m) return m[1];
  if (err.code === 452 || /cannot (override|modify).*setting|setting.*readonly mode/i.test(err.message))
    return '';
  return undefined;
}

async function attempt(
  client: ClickHouseClient,
  guardedSql: string,
  limits: SqlLimits,
  sent: Record<string, string | number>,
  queryId: string,
  signal: AbortSignal | undefined,
): Promise<SqlResult> {
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      abort.abort();
    },
    (limits.maxExecutionTime + GRACE_SECONDS) * 1000,
  );
  const onAbort = () => abort.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  // the JSON text of the answer may be bigger than ClickHouse's in-memory result size
  const maxBodyBytes = limits.maxResultBytes * 4 + 1024 * 1024;
  let body: string;
  try {
    const res = await client.exec({
      query: `${guardedSql}\nFORMAT JSONCompact`,
      clickhouse_settings: sent as never,
      query_id: queryId,
      abort_signal: abort.signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBodyBytes) {
        abort.abort();
        res.stream.destroy();
        throw new SqlExecutionError(
          413,
          `max_result_bytes (${limits.maxResultBytes} bytes) exceeded: the answer is larger than ${maxBodyBytes} bytes of JSON`,
          'max_result_bytes',
        );
      }
      chunks.push(chunk);
    }
    body = Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof SqlExecutionError) throw err;
    // the HTTP client's own request_timeout ("Timeout error.") is the time limit too
    const clientTimeout = err instanceof Error && err.message === 'Timeout error.';
    if (abort.signal.aborted || clientTimeout) {
      void killQuery(client, queryId);
      if (timedOut || clientTimeout) {
        throw new SqlExecutionError(
          408,
          `max_execution_time (${limits.maxExecutionTime} s) exceeded`,
          'max_execution_time',
          159,
        );
      }
      throw new SqlExecutionError(400, 'the query was cancelled', undefined, 394);
    }
    throw mapClickHouseError(err, limits, sent);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  return parseAnswer(body, limits, sent);
}

async function killQuery(client: ClickHouseClient, queryId: string): Promise<void> {
  try {
    await client.command({ query: `KILL QUERY WHERE query_id = ${quoteString(queryId)} ASYNC` });
  } catch {
    // best effort: the server's own max_execution_time ends it anyway
  }
}

interface JsonCompact {
  meta: { name: string; type: string }[];
  data: unknown[][];
  rows: number;
  statistics?: { elapsed?: number; rows_read?: number | string; bytes_read?: number | string };
}

function parseAnswer(body: string, limits: SqlLimits, sent: Record<string, unknown>): SqlResult {
  let json: JsonCompact;
  try {
    json = JSON.parse(body) as JsonCompact;
  } catch {
    // an exception written after the data had started (the answer was not buffered)
    const m = /Code: (\d+)[\s\S]*$/.exec(body);
    if (m) throw mapClickHouseError(new Error(m[0]), limits, sent);
    throw new Error(`ClickHouse answered something that is not JSONCompact: ${body.slice(0, 200)}`);
  }
  const columns = json.meta.map((m) => ({ name: m.name, type: m.type }));
  const convert = columns.map((c) => converter(c.type));
  let rows = json.data;
  const truncated = rows.length > limits.maxResultRows;
  if (truncated) rows = rows.slice(0, limits.maxResultRows);
  if (convert.some((f) => f !== undefined)) {
    rows = rows.map((row) => row.map((v, i) => (convert[i] ? convert[i](v) : v)));
  }
  const st = json.statistics ?? {};
  return {
    columns,
    rows,
    statistics: {
      elapsed: Number(st.elapsed ?? 0),
      rows_read: Number(st.rows_read ?? 0),
      bytes_read: Number(st.bytes_read ?? 0),
    },
    truncated,
  };
}

// ---- values ----

type Convert = ((v: unknown) => unknown) | undefined;

/** 64-bit (and wider) integers come as strings: numbers when exact, strings above 2^53. */
function bigInteger(v: unknown): unknown {
  if (typeof v !== 'string' || !/^-?[0-9]+$/.test(v)) return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

/** splits "A, B(C, D), E" at top-level commas */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let quote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === "'") quote = false;
    } else if (c === "'") quote = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start).trim());
  return out;
}

/** A converter for a ClickHouse type, or undefined when its JSON values are kept as they are. */
export function converter(type: string, level = 0): Convert {
  if (level > 20) return undefined;
  const t = type.trim();
  if (/^U?Int(64|128|256)$/.test(t)) return bigInteger;
  const m = /^([A-Za-z]+)\((.*)\)$/s.exec(t);
  if (!m) return undefined;
  const [, outer, inner] = m;
  switch (outer) {
    case 'Nullable':
    case 'LowCardinality': {
      const f = converter(inner, level + 1);
      return f && ((v) => (v === null ? null : f(v)));
    }
    case 'Array': {
      const f = converter(inner, level + 1);
      return f && ((v) => (Array.isArray(v) ? v.map(f) : v));
    }
    case 'Tuple': {
      // elements may be named: Tuple(a UInt64, b String)
      const fs = splitArgs(inner).map((a) => {
        const named = /^[A-Za-z_][A-Za-z0-9_]*\s+([A-Za-z].*)$/s.exec(a);
        return converter(named && !/^[A-Za-z]+\(/.test(a) ? named[1] : a, level + 1);
      });
      if (fs.every((f) => f === undefined)) return undefined;
      return (v) => (Array.isArray(v) ? v.map((x, i) => (fs[i] ? fs[i](x) : x)) : v);
    }
    default:
      return undefined;
  }
}

// ---- errors ----

/** ClickHouse's message without the code prefix, exception class, version and stack. */
export function cleanMessage(message: string): string {
  let m = message.split('\n')[0].trim();
  m = m.replace(/^Code: \d+[.,]\s*/, '');
  m = m.replace(/^e\.displayText\(\) = /, '');
  m = m.replace(/^(DB::)?Exception:\s*/, '');
  m = m.replace(/, e\.what\(\) = DB::Exception$/, '');
  m = m.replace(/\s*\(version [^)]*\)\s*$/, '');
  m = m.replace(/\s*\([A-Z][A-Z0-9_]{2,}\)\s*$/, '');
  m = m.replace(/^(DB::)?Exception:\s*/, '');
  return m.trim();
}

function codeOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
  if (typeof e?.code === 'number') return e.code;
  const m = typeof e?.message === 'string' ? /Code: (\d+)/.exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

/** "maximum: 10" in ClickHouse's message, for limits that came from the profile */
function profileValue(message: string, fallback: number): string {
  const m =
    /maximum: ([0-9.]+(?: [A-Za-z]+)?)/.exec(message) ??
    /max (?:rows|bytes): ([0-9.]+(?: [A-Za-z]+)?)/.exec(message);
  return m ? m[1] : String(fallback);
}

/**
 * The error to answer for a failed query. `sent`: the settings the query carried; a limit
 * that was not sent came from the user's profile, and the message quotes ClickHouse's value.
 */
export function mapClickHouseError(
  err: unknown,
  limits: SqlLimits,
  sent: Record<string, unknown> = querySettings(limits),
): Error {
  const code = codeOf(err);
  const raw = err instanceof Error ? err.message : String(err);
  if (code === undefined) return err instanceof Error ? err : new Error(raw);
  const message = cleanMessage(raw);
  const v = (setting: string, ours: number) => (setting in sent ? String(ours) : profileValue(raw, ours));
  switch (code) {
    case 159: // TIMEOUT_EXCEEDED
    case 160: // TOO_SLOW (estimated time beyond the limit)
      return new SqlExecutionError(
        408,
        `max_execution_time (${v('max_execution_time', limits.maxExecutionTime)} s) exceeded${code === 160 ? ' (estimated)' : ''}`,
        'max_execution_time',
        code,
      );
    case 158: // TOO_MANY_ROWS
    case 307: // TOO_MANY_BYTES
    case 396: {
      // TOO_MANY_ROWS_OR_BYTES
      const bytes = /bytes/i.test(raw) && !/rows/i.test(raw);
      return bytes
        ? new SqlExecutionError(
            413,
            `max_result_bytes (${v('max_result_bytes', limits.maxResultBytes)}) exceeded: ${message}`,
            'max_result_bytes',
            code,
          )
        : new SqlExecutionError(
            413,
            `max_result_rows (${v('max_result_rows', limits.maxResultRows)}) exceeded: ${message}`,
            'max_result_rows',
            code,
          );
    }
    case 241: // MEMORY_LIMIT_EXCEEDED
      return new SqlExecutionError(
        413,
        `max_memory_usage (${v('max_memory_usage', limits.maxMemoryUsage)} bytes) exceeded: ${message}`,
        'max_memory_usage',
        code,
      );
    case 164: // READONLY
      return new SqlExecutionError(403, message, 'readonly', code);
    case 201: // QUOTA_EXPIRED
    case 202: // TOO_MANY_SIMULTANEOUS_QUERIES
      return new SqlExecutionError(429, message, code === 201 ? 'quota' : 'max_concurrent_queries', code);
    default:
      return new SqlExecutionError(400, message, undefined, code);
  }
}
