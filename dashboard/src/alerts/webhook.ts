/**
 * Webhook bodies, signatures and the HTTP request.
 *
 * Body (format `json`, version 1; README "Alerts" documents it):
 *   { version: 1, type: firing|resolved|renotify|test, eventId, deliveryId, time,
 *     rule: {id, name, tenant, measure, unit, condition, groupBy}, scope: {tenant, …},
 *     groupKey: {dimension: value} | {}, value, threshold, baseline, window: {seconds, start, end},
 *     startedAt, resolvedAt, links: {dashboard, api} }
 * Format `slack`: `{ text, blocks }` as Slack's incoming webhooks (and Mattermost's) take it.
 *
 * Signature: `X-Vxflow-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
 * `X-Vxflow-Timestamp: <unix seconds>`, so a receiver can refuse replays of old bodies.
 * `X-Vxflow-Delivery` carries the delivery id: the same on every retry, so a receiver that
 * saw it already (a retry after a lost answer) can drop it.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkTarget } from './ssrf.ts';

export interface WebhookEvent {
  type: 'firing' | 'resolved' | 'renotify' | 'test';
  eventId: string;
  time: number;
  rule: {
    id: string;
    name: string;
    tenant: string | null;
    measure: string;
    unit: string;
    condition: unknown;
    groupBy: string[];
    scope: Record<string, unknown>;
  };
  groupKey: Record<string, string>;
  value: number;
  threshold: number;
  baseline: number | null;
  windowSeconds: number;
  windowEnd: number;
  startedAt: number;
  resolvedAt: number | null;
}

const iso = (s: number) => new Date(s * 1000).toISOString();

/** A dashboard link showing the traffic the alert is about, and the API query behind it. */
export function links(publicUrl: string, e: WebhookEvent): { dashboard: string; api: string } {
  const base = publicUrl.replace(/\/+$/, '');
  const from = Math.min(e.startedAt || e.windowEnd, e.windowEnd - e.windowSeconds) - 3600;
  const to = (e.resolvedAt ?? e.windowEnd) + 600;
  const quote = (v: string) => (/^[\w.:/-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`);
  const sc = e.rule.scope as { network?: string; vni?: number; exporter?: string; filter?: string };
  const parts = [
    ...(sc.network !== undefined ? [`network = ${quote(sc.network)}`] : []),
    ...(sc.vni !== undefined ? [`vni ${sc.vni}`] : []),
    ...(sc.exporter !== undefined ? [`exporter ${sc.exporter}`] : []),
    ...(sc.filter ? [`(${sc.filter})`] : []),
    ...Object.entries(e.groupKey).map(([k, v]) => `${k} = ${quote(v)}`),
  ];
  const filter = parts.join(' and ');
  const p = new URLSearchParams({ from: String(from), to: String(to) });
  if (['bps', 'pps', 'fps'].includes(e.rule.measure)) p.set('unit', e.rule.measure);
  if (filter) p.set('filter', filter);
  if (e.rule.tenant) p.set('tenant', e.rule.tenant);
  return {
    dashboard: `${base}/#/${e.rule.measure === 'seq_loss' || e.rule.measure === 'exporter_silence' ? 'exporters' : 'explore'}?${p}`,
    api: `${base}/api/v1/alerts/history?rule=${e.rule.id}&start=${from}&end=${to}`,
  };
}

export function jsonBody(e: WebhookEvent, deliveryId: string, publicUrl: string): Record<string, unknown> {
  return {
    version: 1,
    type: e.type,
    eventId: e.eventId,
    deliveryId,
    time: iso(e.time),
    rule: {
      id: e.rule.id,
      name: e.rule.name,
      tenant: e.rule.tenant,
      measure: e.rule.measure,
      unit: e.rule.unit,
      condition: e.rule.condition,
      groupBy: e.rule.groupBy,
    },
    scope: { tenant: e.rule.tenant, ...e.rule.scope },
    groupKey: e.groupKey,
    value: e.value,
    threshold: e.threshold,
    baseline: e.baseline,
    window: { seconds: e.windowSeconds, start: iso(e.windowEnd - e.windowSeconds), end: iso(e.windowEnd) },
    startedAt: iso(e.startedAt),
    resolvedAt: e.resolvedAt !== null ? iso(e.resolvedAt) : null,
    links: links(publicUrl, e),
  };
}

const fmt = (v: number) =>
  Math.abs(v) >= 1e9
    ? `${(v / 1e9).toPrecision(3)}G`
    : Math.abs(v) >= 1e6
      ? `${(v / 1e6).toPrecision(3)}M`
      : Math.abs(v) >= 1e3
        ? `${(v / 1e3).toPrecision(3)}k`
        : `${Number(v.toPrecision(3))}`;

/** Slack's `mrkdwn` needs &, < and > escaped. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackBody(e: WebhookEvent, deliveryId: string, publicUrl: string): Record<string, unknown> {
  const l = links(publicUrl, e);
  const icon =
    e.type === 'resolved'
      ? ':white_check_mark:'
      : e.type === 'test'
        ? ':information_source:'
        : ':rotating_light:';
  const key = Object.entries(e.groupKey)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const what = `${e.type === 'resolved' ? 'Resolved' : e.type === 'test' ? 'Test' : 'Firing'}: ${e.rule.name}${key ? ` (${key})` : ''}${e.rule.tenant ? ` [${e.rule.tenant}]` : ''}`;
  const detail = `${e.rule.measure} = ${fmt(e.value)} (${e.rule.unit}), threshold ${fmt(e.threshold)}${e.baseline !== null ? `, baseline ${fmt(e.baseline)}` : ''}, window ${e.windowSeconds} s, since ${iso(e.startedAt)}`;
  return {
    text: `${icon} ${esc(what)} — ${esc(detail)}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${esc(what)}*\n${esc(detail)}` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `<${l.dashboard}|Open in vxflow> · delivery ${deliveryId}` }],
      },
    ],
  };
}

export function renderBody(
  format: 'json' | 'slack',
  e: WebhookEvent,
  deliveryId: string,
  publicUrl: string,
): string {
  return JSON.stringify(
    format === 'slack' ? slackBody(e, deliveryId, publicUrl) : jsonBody(e, deliveryId, publicUrl),
  );
}

export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface SendResult {
  /** HTTP status, 0 when there was no answer */
  status: number;
  error: string;
  durationMs: number;
  /** worth another try (network error, timeout, 408, 429, 5xx) */
  retry: boolean;
}

/** One POST, to the checked address, bounded by `timeoutMs`; never throws. */
export async function post(
  target: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<SendResult> {
  const t0 = performance.now();
  const done = (status: number, error: string, retry: boolean): SendResult => ({
    status,
    error,
    retry,
    durationMs: performance.now() - t0,
  });
  let checked: Awaited<ReturnType<typeof checkTarget>>;
  try {
    checked = await checkTarget(target, opts.allowPrivate);
  } catch (err) {
    return done(0, (err as Error).message, false);
  }
  const pinned: LookupFunction = (_host, o, cb) => {
    if ((o as { all?: boolean }).all)
      (cb as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: checked.address, family: checked.family },
      ]);
    else cb(null, checked.address, checked.family);
  };
  const lib = checked.url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    const req = lib.request(
      checked.url,
      {
        method: 'POST',
        lookup: pinned,
        timeout: opts.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'vxflow-alerts/1',
          ...headers,
        },
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        resolve(
          done(
            status,
            ok ? '' : `HTTP ${status}`,
            !ok && (status >= 500 || status === 408 || status === 429),
          ),
        );
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`)));
    req.on('error', (err) => resolve(done(0, err.message, true)));
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}

/** The delay before attempt `attempt + 1`: exponential from `base`, capped, ±50 % jitter. */
export function backoffMs(attempt: number, base: number, max: number, random = Math.random): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.min(max, Math.round(exp * (0.5 + random())));
}
