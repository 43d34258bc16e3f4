/**
 * One handle on ClickHouse for every part of vxflow: the embedded server when no URL is
 * configured, or the configured one. Hides what 18.16 does differently from current
 * releases (error codes only in the message text, no JSONCompactEachRow).
 */
import { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseConfig } from './config.ts';
import { startEmbedded } from './server.ts';
import { UserError } from '../../common/errors.ts';

/**
 * A configured URL, checked before use: `new URL('notaurl')` threw a TypeError with a
 * stack, and the collector took any string and spooled for ever. Throws a UserError naming it.
 */
export function parseClickHouseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(
      `clickhouse.url: ${JSON.stringify(url)} is not a URL`,
      'expected http://[user:password@]host:8123 (CLICKHOUSE_URL or clickhouse.url)',
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UserError(
      `clickhouse.url: ${JSON.stringify(url)} is not an http:// or https:// URL`,
      'expected http://[user:password@]host:8123 (CLICKHOUSE_URL or clickhouse.url)',
    );
  return parsed;
}

/** Errors that mean nothing answered at the URL (as opposed to ClickHouse refusing a query). */
const UNREACHABLE =
  /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNRESET|ETIMEDOUT)\b|Timeout error/;

export interface ClickHouse {
  url: string;
  database: string;
  /** server version, e.g. "18.16.1" */
  version: string;
  /** major.minor as a number (18.16), for feature checks */
  versionNumber: number;
  query<T = Record<string, unknown>>(sql: string, settings?: Record<string, string | number>): Promise<T[]>;
  command(sql: string): Promise<void>;
  /**
   * queryId: the insert's query_id (a second query with the id of one still running is
   * refused); format: the body's, RowBinary unless given (the collector's flows go as Native)
   */
  insertRowBinary(
    table: string,
    columns: string,
    body: Buffer | Readable,
    opts?: { queryId?: string; format?: 'RowBinary' | 'Native' },
  ): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
  client: ClickHouseClient;
}

export class ClickHouseQueryError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly sql: string,
  ) {
    super(message);
    this.name = 'ClickHouseQueryError';
  }
}

/** 18.16 puts the code only in the text: "Code: 60, e.displayText() = DB::Exception: …" */
export function errorCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
  const m = typeof e?.message === 'string' ? /Code: (\d+)/.exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

function wrap(err: unknown, sql: string): ClickHouseQueryError {
  const msg = (err as Error)?.message ?? String(err);
  const clean = msg.replace(/, e\.displayText\(\) = DB::Exception/, '').split('\n')[0];
  return new ClickHouseQueryError(clean, errorCode(err), sql);
}

export interface ConnectOptions {
  log?: (msg: string) => void;
  /** connect without creating or selecting the database (for migrations) */
  noDatabase?: boolean;
  /** ClickHouse user (default: from the URL, else `default`) */
  username?: string;
  requestTimeoutMs?: number;
}

export async function connectClickHouse(
  cfg: ClickHouseConfig,
  opts: ConnectOptions = {},
): Promise<ClickHouse> {
  let url = cfg.url;
  let stopEmbedded = async () => {};
  if (!url) {
    const srv = await startEmbedded({
      dataDir: cfg.dataDir,
      httpPort: cfg.httpPort,
      tcpPort: cfg.tcpPort,
      binary: cfg.binary || undefined,
      log: opts.log,
    });
    url = srv.url;
    stopEmbedded = srv.stop;
  }
  const parsed = parseClickHouseUrl(url);
  const username = opts.username ?? (decodeURIComponent(parsed.username) || 'default');
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const base = parsed.toString().replace(/\/$/, '');
  const client = createClient({
    url: base,
    username,
    password,
    request_timeout: opts.requestTimeoutMs ?? 60_000,
    compression: { request: false, response: false },
    log: { level: ClickHouseLogLevel.OFF },
    clickhouse_settings: {},
  });
  const database = cfg.database;
  const handle: ClickHouse = {
    url: base,
    database,
    version: '',
    versionNumber: 0,
    client,
    async query<T>(sql: string, settings?: Record<string, string | number>): Promise<T[]> {
      try {
        const rs = await client.query({
          query: sql,
          format: 'JSONEachRow',
          ...(settings ? { clickhouse_settings: settings as never } : {}),
        });
        return (await rs.json()) as T[];
      } catch (err) {
        throw wrap(err, sql);
      }
    },
    async command(sql: string): Promise<void> {
      try {
        await client.command({ query: sql });
      } catch (err) {
        throw wrap(err, sql);
      }
    },
    async insertRowBinary(table, columns, body, opts = {}): Promise<void> {
      const sql = `INSERT INTO ${table} (${columns}) FORMAT ${opts.format ?? 'RowBinary'}`;
      try {
        const res = await client.exec({
          query: sql,
          values: Buffer.isBuffer(body) ? Readable.from([body]) : body,
          ...(opts.queryId ? { query_id: opts.queryId } : {}),
        });
        // drain the (empty) response so the socket returns to the pool
        for await (const _ of res.stream) {
          /* nothing */
        }
      } catch (err) {
        throw wrap(err, sql);
      }
    },
    async ping(): Promise<boolean> {
      try {
        return (await client.ping()).success;
      } catch {
        return false;
      }
    },
    async close(): Promise<void> {
      await client.close();
      await stopEmbedded();
    },
  };
  try {
    const [row] = await handle.query<{ v: string }>('SELECT version() AS v');
    handle.version = row.v;
    const [maj, min] = row.v.split('.').map(Number);
    handle.versionNumber = maj + min / 100;
  } catch (err) {
    await client.close().catch(() => {});
    await stopEmbedded();
    const m = UNREACHABLE.exec((err as Error)?.message ?? '');
    if (m)
      throw new UserError(
        `cannot reach ClickHouse at ${base}: ${m[1] ?? 'timed out'}`,
        cfg.url ? 'is the server running? Check CLICKHOUSE_URL / clickhouse.url' : undefined,
      );
    throw err;
  }
  return handle;
}
