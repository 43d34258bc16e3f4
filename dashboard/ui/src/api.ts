/**
 * The dashboard API as the UI calls it: same origin, the session cookie, JSON in and out.
 * A 401 anywhere sends the user to the login page; every other error becomes an ApiError
 * with the server's reason, shown where the request was made.
 */
import type { Unit } from './format.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      body: body !== undefined ? JSON.stringify(body) : null,
      signal: signal ?? null,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'the dashboard cannot be reached (is vxflow dashboard running?)');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the message
  }
  if (!res.ok) {
    const obj = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
    if (res.status === 401 && path !== '/api/v1/session') onUnauthorized();
    throw new ApiError(res.status, String(obj.error ?? (text.slice(0, 200) || res.statusText)), obj);
  }
  return json as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, signal);
export const post = <T>(path: string, body: unknown, signal?: AbortSignal) =>
  api<T>('POST', path, body, signal);

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

// ---- response shapes (dashboard/src/routes/*.ts is the truth) ----

export interface Identity {
  tokenId: string;
  name: string;
  role: 'admin' | 'tenant';
  tenant: string | null;
}

export interface SchemaColumn {
  name: string;
  kind: string;
  description: string;
  dimension: boolean;
  rollup: boolean;
}
export interface Schema {
  columns: SchemaColumn[];
  units: string[];
  filterKeywords: { keyword: string; description: string; example: string }[];
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
export interface SeriesResponse {
  table: string;
  interval: number;
  start: string;
  end: string;
  unit: Unit;
  totalUnit: string;
  dimensions: string[];
  t: string[];
  series: Series[];
  previous: { start: string; end: string; values: number[]; total: number } | null;
}

export interface TopRow {
  key: string[];
  total: number;
  rate: number;
  share: number;
}
export interface TopResponse {
  table: string;
  interval: number;
  unit: Unit;
  totalUnit: string;
  dimensions: string[];
  rows: TopRow[];
  other: TopRow;
  total: number;
}

export interface MatrixResponse {
  table: string;
  unit: Unit;
  totalUnit: string;
  by: string;
  labels: string[];
  cells: { src: string; dst: string; total: number; rate: number }[];
  total: number;
}

export interface Exporter {
  address: string;
  name: string;
  versions: number[];
  domains: number[];
  lastSeen: string | null;
  flowsPerSecond: number;
  health?: {
    firstSeen: string | null;
    templates: number;
    samplingRate: number;
    packets: number;
    records: number;
    lostPackets: number;
    lostRecords: number;
    errors: number;
    sequenceLoss: number;
  };
}

export interface InventoryPort {
  name: string;
  ip: string;
  mac?: string;
}
export interface InventorySubnet {
  name?: string;
  cidr: string;
  ports?: InventoryPort[];
}
export interface InventoryNetwork {
  name: string;
  vni?: number;
  vlan?: number;
  subnets: InventorySubnet[];
}
export interface InventoryTenant {
  name: string;
  networks: InventoryNetwork[];
}
export interface Inventory {
  version: number | null;
  updated: string | null;
  author: string;
  tenants: InventoryTenant[];
  exporters?: { address: string; name: string }[];
}

export type FilterCheck =
  | { valid: true; columns: string[]; rollup: boolean }
  | { valid: false; error: string; position: number; expected: string };

export interface SqlResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  statistics: { elapsed: number; rows_read: number; bytes_read: number };
  truncated: boolean;
}

export interface TrafficQuery {
  start: number;
  end: number;
  unit: Unit;
  dimensions: string[];
  filter?: string;
  limit?: number;
  tenant?: string;
}
