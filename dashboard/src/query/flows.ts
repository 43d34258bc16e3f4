/**
 * Raw flow search: newest first, in pages. A cursor is an opaque string holding where the
 * last page ended (its last second and how many rows of that second were already sent)
 * and the query it belongs to; it is bound to the token that got it. The caller's scope
 * never comes from the cursor: it is applied from the token on every page.
 */
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import { COLUMNS } from '../../../protocol/src/schema/columns.ts';
import { badRequest } from '../errors.ts';
import { jsonExpr, jsonValue } from './columns.ts';
import type { TimeRange } from './time-range.ts';
import { compileScopedFilter } from './traffic.ts';
import { type Scope, scopedWhere } from './where.ts';

/** Ties within one second are broken by enough columns that distinct rows always order the same way. */
const ORDER =
  'time_received DESC, batch_id, src_addr, dst_addr, src_port, dst_port, proto, flow_start, flow_end, bytes, packets, exporter';

export interface FlowsRequest {
  range: TimeRange;
  filter: string;
  limit: number;
  cursor?: string;
}

interface CursorState {
  v: 1;
  tok: string;
  s: number;
  e: number;
  f: string;
  ten: string | null;
  /** the last second returned, and how many rows of it were returned */
  at: number;
  k: number;
}

export function encodeCursor(c: CursorState): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(text: string, tokenId: string): CursorState {
  let c: CursorState;
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as CursorState;
  } catch {
    throw badRequest('cursor: not a cursor this API gave out');
  }
  if (
    c?.v !== 1 ||
    typeof c.tok !== 'string' ||
    ![c.s, c.e, c.at, c.k].every((n) => Number.isSafeInteger(n) && n >= 0) ||
    typeof c.f !== 'string'
  )
    throw badRequest('cursor: not a cursor this API gave out');
  if (c.tok !== tokenId) throw badRequest('cursor: it belongs to another token');
  return c;
}

export function flowsSelect(ch: ClickHouse, scope: Scope, req: FlowsRequest, tokenId: string) {
  let range = req.range;
  let filterText = req.filter;
  let at: number | null = null;
  let skip = 0;
  if (req.cursor) {
    const c = decodeCursor(req.cursor, tokenId);
    range = { start: c.s, end: c.e };
    filterText = c.f;
    at = c.at;
    skip = c.k;
  }
  const filter = compileScopedFilter(filterText);
  const where = scopedWhere(
    scope,
    'time_received',
    range,
    filter.sql,
    at !== null ? [`time_received <= toDateTime(${at})`] : [],
  );
  const cols = COLUMNS.map((c) => `${jsonExpr(c)} AS ${c.name === 'time_received' ? '_t' : `c_${c.name}`}`);
  /** the page's rows, optionally only from `since` on (Unix seconds): the same rows when the page lies after it */
  const query = (limit: number, since?: number) =>
    `SELECT ${cols.join(', ')} FROM ${ch.database}.flows WHERE ${where}${since !== undefined ? ` AND time_received >= toDateTime(${since})` : ''} ORDER BY ${ORDER} LIMIT ${skip}, ${limit}`;
  /** the times of the newest `n` rows from `since` on: cheap (one column sorted) */
  const times = (n: number, since: number) =>
    `SELECT toUInt32(time_received) AS t FROM ${ch.database}.flows WHERE ${where} AND time_received >= toDateTime(${since}) ORDER BY time_received DESC LIMIT ${n}`;
  const upper = at ?? range.end - 1;
  const toJson = (r: Record<string, unknown>) => {
    const o: Record<string, unknown> = {};
    for (const c of COLUMNS) o[c.name] = jsonValue(c, r[c.name === 'time_received' ? '_t' : `c_${c.name}`]);
    return o;
  };
  const next = (page: Record<string, unknown>[], more: boolean): string | null => {
    if (!more || page.length === 0) return null;
    const last = Number(page[page.length - 1]._t);
    let k = 0;
    for (const r of page) if (Number(r._t) === last) k++;
    if (at !== null && last === at) k += skip;
    return encodeCursor({
      v: 1,
      tok: tokenId,
      s: range.start,
      e: range.end,
      f: filterText,
      ten: scope.tenant,
      at: last,
      k,
    });
  };
  return { query, times, toJson, next, range, upper, skip };
}

/** The first window searched back from the newest second; it grows ×8 until the page fills. */
const FIRST_WINDOW_S = 3600;

export async function searchFlows(
  ch: ClickHouse,
  scope: Scope,
  req: FlowsRequest,
  tokenId: string,
): Promise<{ flows: Record<string, unknown>[]; next: string | null }> {
  const q = flowsSelect(ch, scope, req, tokenId);
  // Sorting every matching row of a long range on all its columns is what made a search of
  // the newest 100 slow (seconds at 10 M rows). Instead: find, newest window first, the
  // oldest second the page reaches, sorting only the time; then read whole rows from that
  // second on, which gives exactly the rows the whole sort would have given.
  const want = q.skip + req.limit + 1;
  let since = q.range.start;
  for (let w = FIRST_WINDOW_S; ; w *= 8) {
    const from = Math.max(q.range.start, q.upper - w + 1);
    const t = await ch.query<{ t: number }>(q.times(want, from));
    if (t.length >= want) {
      since = Number(t[t.length - 1].t);
      break;
    }
    if (from === q.range.start) break;
  }
  const rows = await ch.query<Record<string, unknown>>(q.query(req.limit + 1, since));
  const more = rows.length > req.limit;
  const page = rows.slice(0, req.limit);
  return { flows: page.map(q.toJson), next: q.next(page, more) };
}

/** One CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
