/**
 * The whole view lives in the URL's hash: `#/page/arg?from=now-6h&to=now&unit=pps&…`, so a
 * view can be shared, bookmarked and reloaded. Defaults are left out of the URL. The hash
 * (never sent to the server) also carries the one-time `#login=TOKEN` link of the demo.
 */
import type { Unit } from './format.ts';

export interface Route {
  page: string;
  arg: string;
  params: URLSearchParams;
}

export const DEFAULTS: Record<string, string> = {
  from: 'now-1h',
  to: 'now',
  unit: 'bps',
  refresh: '0',
};

export function parseHash(hash = location.hash): Route {
  const h = hash.replace(/^#/, '');
  const [path, query = ''] = h.split('?', 2);
  const parts = path.replace(/^\/+/, '').split('/');
  return {
    page: parts[0] || '',
    arg: parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : '',
    params: new URLSearchParams(query),
  };
}

export function formatHash(r: { page: string; arg?: string; params?: URLSearchParams }): string {
  const p = new URLSearchParams();
  for (const [k, v] of r.params ?? []) if (DEFAULTS[k] !== v && v !== '') p.set(k, v);
  const q = p.toString();
  return `#/${r.page}${r.arg ? `/${encodeURIComponent(r.arg)}` : ''}${q ? `?${q}` : ''}`;
}

export function param(r: Route, name: string): string {
  return r.params.get(name) ?? DEFAULTS[name] ?? '';
}

/** the params that follow the user from page to page: time range, unit, refresh */
export function carried(r: Route): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of ['from', 'to', 'unit', 'refresh']) {
    const v = r.params.get(k);
    if (v !== null) p.set(k, v);
  }
  return p;
}

export function link(page: string, arg: string, from: Route, extra: Record<string, string> = {}): string {
  const p = carried(from);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return formatHash({ page, arg, params: p });
}

export function unitOf(r: Route): Unit {
  const u = param(r, 'unit');
  return u === 'pps' || u === 'fps' ? u : 'bps';
}

const REL = /^now(?:-(\d+)([smhdw]))?$/;
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** 'now', 'now-6h', Unix seconds or an ISO time → Unix seconds (null when unreadable) */
export function resolveTime(v: string, now = Date.now()): number | null {
  const m = REL.exec(v);
  if (m) return Math.floor(now / 1000) - (m[1] ? Number(m[1]) * SECONDS[m[2]] : 0);
  if (/^\d{9,11}$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

export interface Range {
  start: number;
  end: number;
  /** the range ends now (auto-refresh makes sense) */
  live: boolean;
}

/**
 * The range in Unix seconds. A range relative to now is aligned to a whole minute (5 minutes
 * past 3 h, an hour past 2 days), its end rounded up so the newest flows are in: the API
 * answers from a rollup only when its bucket divides both ends, and a rollup is many times
 * faster than the raw table.
 */
export function rangeOf(r: Route, now = Date.now()): Range {
  const to = param(r, 'to');
  const from = param(r, 'from');
  let end = resolveTime(to, now) ?? Math.floor(now / 1000);
  let start = resolveTime(from, now) ?? end - 3600;
  if (start >= end) start = end - 3600;
  const live = REL.test(to);
  if (live && REL.test(from)) {
    const span = end - start;
    const grain = span <= 3 * 3600 ? 60 : span <= 2 * 86_400 ? 300 : 3600;
    end = Math.ceil(end / grain) * grain;
    start = end - Math.ceil(span / grain) * grain;
  }
  return { start, end, live };
}

/** Points for a chart of the range: about one a minute up to 120, so an hour reads from the per-minute rollup. */
export function pointsFor(range: { start: number; end: number }): number {
  const span = range.end - range.start;
  if (span < 1800) return 90;
  return Math.min(120, Math.max(30, Math.floor(span / 60)));
}

export const PRESETS: { label: string; from: string }[] = [
  { label: '15m', from: 'now-15m' },
  { label: '1h', from: 'now-1h' },
  { label: '6h', from: 'now-6h' },
  { label: '24h', from: 'now-24h' },
  { label: '7d', from: 'now-7d' },
  { label: '30d', from: 'now-30d' },
];

/** how the range reads in the picker's button */
export function describeRange(r: Route): string {
  const from = param(r, 'from');
  const to = param(r, 'to');
  const preset = PRESETS.find((p) => p.from === from);
  if (preset && to === 'now') return `Last ${preset.label}`;
  return '';
}
