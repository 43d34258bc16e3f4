import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffMs, jsonBody, renderBody, sign, slackBody, type WebhookEvent } from './webhook.ts';

const ev: WebhookEvent = {
  type: 'firing',
  eventId: 'e1',
  time: 1_800_000_000,
  rule: {
    id: 'abcd',
    name: 'SYN <flood> & co',
    tenant: 'acme',
    measure: 'syn_share',
    unit: 'share',
    condition: { type: 'threshold', op: 'above', value: 0.5 },
    groupBy: ['vni', 'dst_addr'],
    scope: { filter: 'proto tcp' },
  },
  groupKey: { vni: '5001', dst_addr: '10.0.0.5' },
  value: 0.97,
  threshold: 0.5,
  baseline: null,
  windowSeconds: 60,
  windowEnd: 1_800_000_000,
  startedAt: 1_800_000_000,
  resolvedAt: null,
};

describe('webhook bodies', () => {
  it('JSON version 1 with every documented field and a link to the view', () => {
    const b = jsonBody(ev, 'd1', 'https://dash.example/');
    expect(b).toMatchObject({
      version: 1,
      type: 'firing',
      eventId: 'e1',
      deliveryId: 'd1',
      rule: { id: 'abcd', tenant: 'acme', measure: 'syn_share' },
      scope: { tenant: 'acme', filter: 'proto tcp' },
      groupKey: { vni: '5001', dst_addr: '10.0.0.5' },
      value: 0.97,
      threshold: 0.5,
      window: { seconds: 60, start: '2027-01-15T07:59:00.000Z', end: '2027-01-15T08:00:00.000Z' },
      startedAt: '2027-01-15T08:00:00.000Z',
      resolvedAt: null,
    });
    const link = new URL((b.links as { dashboard: string }).dashboard.replace('#/', ''));
    expect(link.origin).toBe('https://dash.example');
    expect(link.searchParams.get('filter')).toBe('(proto tcp) and vni = 5001 and dst_addr = 10.0.0.5');
    expect(link.searchParams.get('tenant')).toBe('acme');
  });

  it('Slack: text and blocks, mrkdwn escaped', () => {
    const b = slackBody(ev, 'd1', 'https://dash.example');
    expect(String(b.text)).toContain(
      'Firing: SYN &lt;flood&gt; &amp; co (vni=5001, dst_addr=10.0.0.5) [acme]',
    );
    expect(JSON.stringify(b.blocks)).toContain('<https://dash.example/#/explore?');
    expect(JSON.parse(renderBody('slack', ev, 'd1', 'x'))).toHaveProperty('blocks');
  });
});

describe('signature and backoff', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256', () => {
    const body = '{"a":1}';
    expect(sign('k', 1700000000, body)).toBe(
      `v1=${createHmac('sha256', 'k').update(`1700000000.${body}`).digest('hex')}`,
    );
    expect(sign('k', 1700000001, body)).not.toBe(sign('k', 1700000000, body));
  });

  it('doubles from the base with ±50 % jitter, capped', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0.5)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 0.5)).toBe(4000);
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffMs(3, 1000, 60_000, () => 0.999)).toBe(5996);
    expect(backoffMs(20, 1000, 60_000, () => 0.999)).toBe(60_000);
  });
});
