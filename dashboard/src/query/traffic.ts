/**
 * Traffic queries: time series grouped by schema dimensions with top-N and "Other", top
 * talkers, and conversation matrices. Counters are scaled by sampling_rate at query time
 * (rows keep what the exporter sent). Every query is confined to the caller's tenant
 * before any filter the caller wrote: `WHERE tenant = X AND (filter)`.
 */
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import type { Column } from '../../../protocol/src/schema/columns.ts';
import { badRequest } from '../errors.ts';
import { compileFilter, FilterError } from '../filter/index.ts';
import { columnByName, DIMENSION_NAMES, rawLiteral, textExpr } from './columns.ts';
import { bucketOn, chooseSource, intervalFor, type Source } from './source.ts';
import type { TimeRange } from './time-range.ts';
import { type Scope, scopedWhere } from './where.ts';

export type Unit = 'bps' | 'pps' | 'fps';
export const UNITS: readonly Unit[] = ['bps', 'pps', 'fps'];
export const TOTAL_UNIT: Record<Unit, string> = { bps: 'bytes', pps: 'packets', fps: 'flows' };

export interface QueryInfo {
  table: string;
  /** seconds per point (time series) or per row of the table read */
  interval: number;
}

function measure(unit: Unit, source: Source): string {
  if (unit === 'fps') return source.raw ? 'count()' : 'sum(flows)';
  const counter = unit === 'bps' ? 'bytes' : 'packets';
  // sampling_rate 0 means "not announced" where the collector had no default: count as 1
  return `sum(${counter} * greatest(sampling_rate, 1))`;
}

/** bits per byte for bps, else 1 */
const scale = (unit: Unit) => (unit === 'bps' ? 8 : 1);

export function validateDimensions(dimensions: readonly string[]): void {
  for (const d of dimensions) {
    if (!DIMENSION_NAMES.includes(d))
      throw badRequest(`unknown dimension ${JSON.stringify(d)}; known: ${DIMENSION_NAMES.join(', ')}`);
  }
  if (new Set(dimensions).size !== dimensions.length) throw badRequest('a dimension is named twice');
}

export function compileScopedFilter(filter: string): { sql: string; columns: ReadonlySet<string> } {
  try {
    return compileFilter(filter ?? '');
  } catch (err) {
    if (err instanceof FilterError)
      throw badRequest(`filter: ${err.message}`, { position: err.position, expected: err.expected });
    throw err;
  }
}

const dimensionColumns = (dimensions: readonly string[]): Column[] =>
  dimensions.map((d) => {
    const c = columnByName(d);
    if (!c) throw badRequest(`unknown dimension ${d}`);
    return c;
  });

/**
 * The top `limit` keys by the measure. Grouping is on the stored values (16-byte addresses,
 * numbers); only the few rows that come out are turned into text.
 */
async function topKeys(
  ch: ClickHouse,
  cols: Column[],
  table: string,
  where: string,
  m: string,
  limit: number,
): Promise<{ key: string[]; v: number }[]> {
  const raw = cols.map((c, i) => `${c.name} AS r${i}`).join(', ');
  const rlist = cols.map((_, i) => `r${i}`).join(', ');
  const rows = await ch.query<Record<string, string>>(
    `SELECT ${cols.map((c, i) => `${textExpr(c, `r${i}`)} AS k${i}`).join(', ')}, v FROM (SELECT ${raw}, ${m} AS v FROM ${table} WHERE ${where} GROUP BY ${rlist} ORDER BY v DESC, ${rlist} LIMIT ${limit})`,
  );
  return rows.map((r) => ({ key: cols.map((_, i) => String(r[`k${i}`])), v: Number(r.v) }));
}

export interface SeriesRequest {
  range: TimeRange;
  unit: Unit;
  dimensions: string[];
  filter: string;
  limit: number;
  points: number;
  previousPeriod: 'none' | 'day' | 'week';
}

export interface Series {
  name: string;
  key: string[];
  values: number[];
  total: number;
  average: number;
  p95: number;
  max: number;
}

export interface SeriesResponse extends QueryInfo {
  start: string;
  end: string;
  unit: Unit;
  totalUnit: string;
  dimensions: string[];
  t: string[];
  series: Series[];
  previous: { start: string; end: string; values: number[]; total: number } | null;
}

function stats(values: number[]): { average: number; p95: number; max: number } {
  if (values.length === 0) return { average: 0, p95: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    average: sum / values.length,
    p95: sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)],
    max: sorted[sorted.length - 1],
  };
}

const iso = (s: number) => new Date(s * 1000).toISOString();

export async function timeSeries(ch: ClickHouse, scope: Scope, req: SeriesRequest): Promise<SeriesResponse> {
  validateDimensions(req.dimensions);
  const filter = compileScopedFilter(req.filter);
  const wanted = intervalFor(req.range, req.points);
  const source = chooseSource(req.range, [...req.dimensions, ...filter.columns], wanted);
  const interval = bucketOn(source, wanted);
  const table = `${ch.database}.${source.table}`;
  const where = scopedWhere(scope, source.time, req.range, filter.sql);
  const cols = dimensionColumns(req.dimensions);
  const m = measure(req.unit, source);
  const bucket = `intDiv(toUInt32(${source.time}), ${interval}) * ${interval}`;

  const top = cols.length > 0 ? (await topKeys(ch, cols, table, where, m, req.limit)).map((r) => r.key) : [];
  // rows of the top keys keep their key; the rest fold into one "Other" group per bucket
  const hit =
    cols.length === 0 || top.length === 0
      ? '0'
      : cols.length === 1
        ? `${cols[0].name} IN (${top.map((k) => rawLiteral(cols[0], k[0])).join(', ')})`
        : `(${cols.map((c) => c.name).join(', ')}) IN (${top.map((k) => `(${k.map((v, i) => rawLiteral(cols[i], v)).join(', ')})`).join(', ')})`;
  const inner = cols
    .map((c, i) => `, if(hit, ${c.name}, defaultValueOfArgumentType(${c.name})) AS r${i}`)
    .join('');
  const outer = cols.map((c, i) => `, ${textExpr(c, `r${i}`)} AS k${i}`).join('');
  const groupKeys = cols.map((_, i) => `, r${i}`).join('');
  const rows = await ch.query<Record<string, string>>(
    `SELECT b, hit${outer}, v FROM (SELECT ${bucket} AS b, ${hit} AS hit${inner}, ${m} AS v FROM ${table} WHERE ${where} GROUP BY b, hit${groupKeys}) ORDER BY b`,
  );

  const first = Math.floor(req.range.start / interval) * interval;
  const n = Math.max(1, Math.ceil((req.range.end - first) / interval));
  const t = Array.from({ length: n }, (_, i) => iso(first + i * interval));
  const k = scale(req.unit);
  const bySeries = new Map<string, { key: string[]; sums: number[]; total: number }>();
  const order = [...top.map((key) => JSON.stringify(key))];
  for (const r of rows) {
    const key =
      cols.length === 0
        ? ['Total']
        : Number(r.hit) === 1
          ? cols.map((_, i) => String(r[`k${i}`]))
          : cols.map((_, i) => (i === 0 ? 'Other' : ''));
    const id = JSON.stringify(key);
    let s = bySeries.get(id);
    if (!s) {
      s = { key, sums: new Array(n).fill(0), total: 0 };
      bySeries.set(id, s);
      if (!order.includes(id)) order.push(id);
    }
    const idx = Math.floor((Number(r.b) - first) / interval);
    const v = Number(r.v);
    if (idx >= 0 && idx < n) s.sums[idx] += v;
    s.total += v;
  }
  const series: Series[] = [];
  for (const id of order) {
    const s = bySeries.get(id);
    if (!s) continue;
    const values = s.sums.map((v) => (v * k) / interval);
    series.push({
      name: s.key.every((x) => x === '') ? '(none)' : s.key.filter((x, i) => i === 0 || x !== '').join(' · '),
      key: s.key,
      values,
      total: s.total,
      ...stats(values),
    });
  }

  let previous: SeriesResponse['previous'] = null;
  if (req.previousPeriod !== 'none') {
    const shift = req.previousPeriod === 'day' ? 86_400 : 7 * 86_400;
    const prevRange = { start: req.range.start - shift, end: req.range.end - shift };
    const prevWhere = scopedWhere(scope, source.time, prevRange, filter.sql);
    const prevRows = await ch.query<{ b: string; v: string }>(
      `SELECT intDiv(toUInt32(${source.time}) + ${shift}, ${interval}) * ${interval} AS b, ${m} AS v FROM ${table} WHERE ${prevWhere} GROUP BY b ORDER BY b`,
    );
    const sums = new Array(n).fill(0);
    let total = 0;
    for (const r of prevRows) {
      const idx = Math.floor((Number(r.b) - first) / interval);
      if (idx >= 0 && idx < n) sums[idx] += Number(r.v);
      total += Number(r.v);
    }
    previous = {
      start: iso(prevRange.start),
      end: iso(prevRange.end),
      values: sums.map((v) => (v * k) / interval),
      total,
    };
  }

  return {
    table: source.table,
    interval,
    start: iso(req.range.start),
    end: iso(req.range.end),
    unit: req.unit,
    totalUnit: TOTAL_UNIT[req.unit],
    dimensions: req.dimensions,
    t,
    series,
    previous,
  };
}

export interface TopRequest {
  range: TimeRange;
  unit: Unit;
  dimensions: string[];
  filter: string;
  limit: number;
}

export interface TopRow {
  key: string[];
  /** counter sum over the range (bytes, packets or flows) */
  total: number;
  /** average rate over the range, in the unit */
  rate: number;
  /** share of the whole, 0..1 */
  share: number;
}

export interface TopResponse extends QueryInfo {
  unit: Unit;
  totalUnit: string;
  dimensions: string[];
  rows: TopRow[];
  other: TopRow;
  total: number;
}

export async function topN(ch: ClickHouse, scope: Scope, req: TopRequest): Promise<TopResponse> {
  if (req.dimensions.length === 0) throw badRequest('dimensions: name at least one dimension');
  validateDimensions(req.dimensions);
  const filter = compileScopedFilter(req.filter);
  const span = req.range.end - req.range.start;
  const source = chooseSource(req.range, [...req.dimensions, ...filter.columns], span);
  const table = `${ch.database}.${source.table}`;
  const where = scopedWhere(scope, source.time, req.range, filter.sql);
  const cols = dimensionColumns(req.dimensions);
  const m = measure(req.unit, source);
  const totalSource = chooseSource(req.range, filter.columns, span);
  const [rows, [all]] = await Promise.all([
    topKeys(ch, cols, table, where, m, req.limit),
    // the whole needs only the filter's columns: often a rollup answers it where the keys need the raw table
    ch.query<{ v: string }>(
      `SELECT ${measure(req.unit, totalSource)} AS v FROM ${ch.database}.${totalSource.table} WHERE ${scopedWhere(scope, totalSource.time, req.range, filter.sql)}`,
    ),
  ]);
  const total = Number(all?.v ?? 0);
  const k = scale(req.unit);
  const row = (key: string[], v: number): TopRow => ({
    key,
    total: v,
    rate: (v * k) / span,
    share: total > 0 ? v / total : 0,
  });
  const out = rows.map((r) => row(r.key, r.v));
  const shown = out.reduce((a, r) => a + r.total, 0);
  return {
    table: source.table,
    interval: source.resolution,
    unit: req.unit,
    totalUnit: TOTAL_UNIT[req.unit],
    dimensions: req.dimensions,
    rows: out,
    other: row(['Other'], total - shown),
    total,
  };
}

export const MATRIX_BY = {
  endpoint: ['src_endpoint', 'dst_endpoint'],
  subnet: ['src_subnet', 'dst_subnet'],
  address: ['src_addr', 'dst_addr'],
} as const;
export type MatrixBy = keyof typeof MATRIX_BY;

export interface MatrixResponse extends QueryInfo {
  unit: Unit;
  totalUnit: string;
  by: MatrixBy;
  /** every source and destination that appears, in order of traffic */
  labels: string[];
  cells: { src: string; dst: string; total: number; rate: number }[];
  total: number;
}

/** Who talks to whom inside the scope: the top `limit` pairs of endpoints, subnets or addresses. */
export async function matrix(
  ch: ClickHouse,
  scope: Scope,
  req: Omit<TopRequest, 'dimensions'> & { by: MatrixBy },
): Promise<MatrixResponse> {
  const top = await topN(ch, scope, { ...req, dimensions: [...MATRIX_BY[req.by]] });
  const weight = new Map<string, number>();
  for (const r of top.rows) {
    for (const label of r.key) weight.set(label, (weight.get(label) ?? 0) + r.total);
  }
  const labels = [...weight.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([l]) => l);
  return {
    table: top.table,
    interval: top.interval,
    unit: req.unit,
    totalUnit: top.totalUnit,
    by: req.by,
    labels,
    cells: top.rows.map((r) => ({ src: r.key[0], dst: r.key[1], total: r.total, rate: r.rate })),
    total: top.total,
  };
}
