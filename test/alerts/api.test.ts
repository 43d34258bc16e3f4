/**
 * The alert API: tenant isolation route by route (a tenant manages, tests and sees only its
 * own rules, alerts and deliveries, and its rules read only its own flows), validation, the
 * webhook target allowlist, "test against a past range" and "send test".
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenStore } from '../../dashboard/src/auth/tokens.ts';
import { createAlertStore } from '../../dashboard/src/alerts/store.ts';
import { loadFixture, T0 } from '../dashboard/fixture.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import { buildApp, type Receiver, startReceiver, testConfig, validSignature } from './helpers.ts';

const db = useTestClickHouse();
let app: FastifyInstance;
let strict: FastifyInstance;
let admin: string;
let acme: string;
let globex: string;
let rx: Receiver;
/** every body acme received, to prove globex's names and rules never reached it */
const acmeSaw: string[] = [];

beforeAll(async () => {
  await loadFixture(db());
  app = await buildApp(db(), testConfig());
  strict = await buildApp(db(), testConfig({ allowPrivateTargets: false }));
  const tokens = createTokenStore(db());
  admin = (await tokens.create({ role: 'admin' })).token;
  acme = (await tokens.create({ role: 'tenant', tenant: 'acme' })).token;
  globex = (await tokens.create({ role: 'tenant', tenant: 'globex' })).token;
  rx = await startReceiver();
});
afterAll(async () => {
  await app?.close();
  await strict?.close();
  await rx?.close();
});

async function call(
  token: string,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  on = app,
) {
  const res = await on.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  if (token === acme) acmeSaw.push(res.body);
  return { status: res.statusCode, json: res.body ? res.json() : null };
}

const spec = (over: Record<string, unknown> = {}) => ({
  name: 'traffic high',
  scope: {},
  measure: 'bps',
  condition: { type: 'threshold', op: 'above', value: 1 },
  windowSeconds: 3600,
  intervalSeconds: 60,
  targets: [] as { url: string; format?: string; secret?: string }[],
  ...over,
});

describe('rules belong to their tenant', () => {
  let acmeRule: string;
  let globexRule: string;

  it('a tenant makes rules for itself only', async () => {
    const mine = await call(acme, 'POST', '/api/v1/alerts/rules', spec({ targets: [{ url: rx.url }] }));
    expect(mine.status).toBe(201);
    expect(mine.json.tenant).toBe('acme');
    acmeRule = mine.json.id;
    const theirs = await call(globex, 'POST', '/api/v1/alerts/rules', spec({ name: 'globex secret rule' }));
    globexRule = theirs.json.id;
    expect((await call(acme, 'POST', '/api/v1/alerts/rules', spec({ tenant: 'globex' }))).status).toBe(403);
    expect((await call(acme, 'POST', '/api/v1/alerts/rules', spec({ tenant: null }))).status).toBe(403);
    const health = await call(acme, 'POST', '/api/v1/alerts/rules', spec({ measure: 'exporter_silence' }));
    expect(health.status).toBe(400);
    expect(health.json.error).toMatch(/admins only/);
  });

  it("another tenant's rule does not exist for it, on every route", async () => {
    const list = await call(acme, 'GET', '/api/v1/alerts/rules');
    expect(list.json.rules.map((r: { id: string }) => r.id)).toEqual([acmeRule]);
    const u = `/api/v1/alerts/rules/${globexRule}`;
    for (const [m, url, body] of [
      ['GET', u, undefined],
      ['PUT', u, spec()],
      ['DELETE', u, undefined],
      ['PATCH', u, { enabled: false }],
      ['POST', '/api/v1/alerts/test', { ruleId: globexRule }],
      ['POST', `${u}/send-test`, undefined],
    ] as const)
      expect((await call(acme, m, url, body)).status, `${m} ${url}`).toBe(404);
    for (const url of [
      '/api/v1/alerts/rules',
      '/api/v1/alerts/active',
      '/api/v1/alerts/history',
      '/api/v1/alerts/deliveries',
    ])
      expect((await call(acme, 'GET', `${url}?tenant=globex`)).status, url).toBe(403);
    // the admin sees both, and each tenant's alone on request
    const all = await call(admin, 'GET', '/api/v1/alerts/rules');
    expect(all.json.rules.map((r: { id: string }) => r.id).sort()).toEqual([acmeRule, globexRule].sort());
    const g = await call(admin, 'GET', '/api/v1/alerts/rules?tenant=globex');
    expect(g.json.rules.map((r: { id: string }) => r.id)).toEqual([globexRule]);
    // globex's rule is still there, unchanged
    expect((await call(globex, 'GET', u)).json.name).toBe('globex secret rule');
  });

  it('never shows a secret after the answer that generated it', async () => {
    const got = await call(acme, 'GET', `/api/v1/alerts/rules/${acmeRule}`);
    expect(got.json.targets).toEqual([{ url: rx.url, format: 'json', hasSecret: true }]);
    const put = await call(
      acme,
      'PUT',
      `/api/v1/alerts/rules/${acmeRule}`,
      spec({ name: 'renamed', targets: [{ url: rx.url }] }),
    );
    expect(put.status).toBe(200);
    expect(put.json.targets[0].secret).toBeUndefined(); // kept, not regenerated
    expect(put.json.name).toBe('renamed');
  });

  it("a tenant's rule reads its own flows only, whatever its filter says", async () => {
    // globex's flows are on VNI 6001; acme's rule asking for them sees nothing
    const body = {
      rule: spec({
        scope: { filter: 'vni 6001 or tenant globex' },
        windowSeconds: 3600,
        intervalSeconds: 3600,
      }),
      start: T0,
      end: T0 + 6 * 3600,
    };
    const a = await call(acme, 'POST', '/api/v1/alerts/test', body);
    expect(a.status).toBe(200);
    expect(a.json.events).toEqual([]);
    expect(a.json.summary).toBe('would not have fired');
    // the same rule as an admin's global rule fires at the first hour
    const g = await call(admin, 'POST', '/api/v1/alerts/test', body);
    expect(g.json.events[0]).toMatchObject({
      kind: 'firing',
      time: new Date((T0 + 3600) * 1000).toISOString(),
    });
    expect(g.json.summary).toMatch(/^would have fired at /);
    // a saved rule by id, disabled and enabled again
    const saved = await call(admin, 'POST', '/api/v1/alerts/rules', body.rule);
    const byId = await call(admin, 'POST', '/api/v1/alerts/test', {
      ruleId: saved.json.id,
      start: body.start,
      end: body.end,
    });
    expect(byId.json.events).toEqual(g.json.events);
    expect(
      (await call(admin, 'PATCH', `/api/v1/alerts/rules/${saved.json.id}`, { enabled: false })).json.enabled,
    ).toBe(false);
    expect(
      (await call(admin, 'PATCH', `/api/v1/alerts/rules/${saved.json.id}`, { enabled: true })).json.enabled,
    ).toBe(true);
    expect(
      (await call(admin, 'POST', '/api/v1/alerts/test', { ...body, ruleId: saved.json.id })).status,
    ).toBe(400);
    expect(
      (await call(acme, 'POST', '/api/v1/alerts/test', { ...body, rule: { ...body.rule, tenant: 'globex' } }))
        .status,
    ).toBe(403);
  });

  it('active alerts, history and deliveries of a tenant hold its own only', async () => {
    const store = createAlertStore(db());
    const now = Math.floor(Date.now() / 1000);
    const firing = (ruleId: string, tenant: string) => ({
      ruleId,
      key: '',
      tenant,
      state: 'firing' as const,
      seq: 1,
      history: '',
      since: now - 60,
      lastEval: now,
      lastValue: 5,
      threshold: 1,
      okStreak: 0,
      notified: now - 60,
      cooldownUntil: 0,
      eventId: `e-${tenant}`,
    });
    await store.saveStates([firing(acmeRule, 'acme'), firing(globexRule, 'globex')]);
    const ev = (ruleId: string, tenant: string) => ({
      eventId: `e-${tenant}`,
      ruleId,
      ruleName: tenant,
      tenant,
      key: '',
      kind: 'firing' as const,
      time: now - 60,
      started: now - 60,
      value: 5,
      threshold: 1,
      windowSeconds: 60,
      detail: {},
    });
    await store.insertEvents([ev(acmeRule, 'acme'), ev(globexRule, 'globex')]);
    const d = (tenant: string, ruleId: string) => ({
      id: `d-${tenant}`,
      eventId: `e-${tenant}`,
      ruleId,
      tenant,
      kind: 'firing',
      target: `http://127.0.0.1/${tenant}`,
      format: 'json' as const,
      body: '{}',
      status: 'delivered' as const,
      attempts: 1,
      statusCode: 200,
      error: '',
      created: now,
      nextAttempt: 0,
      updated: now,
    });
    await store.writeDeliveries([d('acme', acmeRule), d('globex', globexRule)]);
    const active = await call(acme, 'GET', '/api/v1/alerts/active');
    expect(active.json.alerts.map((a: { ruleId: string }) => a.ruleId)).toEqual([acmeRule]);
    const hist = await call(acme, 'GET', '/api/v1/alerts/history');
    expect(hist.json.events.map((e: { eventId: string }) => e.eventId)).toEqual(['e-acme']);
    const del = await call(acme, 'GET', '/api/v1/alerts/deliveries');
    expect(del.json.deliveries.map((x: { id: string }) => x.id)).toEqual(['d-acme']);
    const adminActive = await call(admin, 'GET', '/api/v1/alerts/active');
    expect(adminActive.json.alerts).toHaveLength(2);
    for (const body of acmeSaw) {
      expect(body).not.toContain('globex');
      // a 404 repeats the id acme itself asked for; nothing else may name globex's rule
      if (body !== JSON.stringify({ error: `no alert rule ${globexRule}` }))
        expect(body).not.toContain(globexRule);
    }
  });
});

describe('validation', () => {
  it('names what is wrong', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ scope: { filter: 'port https' } }, /scope\.filter: at 5/],
      [{ groupBy: ['dst_addr', 'dst_addr'] }, /named twice/],
      [{ activation: { matches: 3, of: 2 } }, /matches cannot exceed/],
      [{ intervalSeconds: 0 }, /intervalSeconds/],
      [{ measure: 'seq_loss', groupBy: ['vni'] }, /always per exporter/],
      [
        {
          condition: { type: 'baseline', op: 'above', method: 'same_time', periods: 3, factor: 2 },
          windowSeconds: 7,
        },
        /divides a day/,
      ],
      [{ scope: { exporter: 'not-an-ip' } }, /scope\.exporter/],
      [{ targets: [{ url: 'ftp://example.com/x' }] }, /only http/],
    ];
    for (const [over, want] of cases) {
      const res = await call(admin, 'POST', '/api/v1/alerts/rules', spec(over));
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect(res.json.error, JSON.stringify(over)).toMatch(want);
    }
  });

  it('refuses loopback, link-local, private and metadata targets unless allowed (metadata always)', async () => {
    for (const [url, why] of [
      ['http://127.0.0.1:9/x', /loopback/],
      ['http://[::1]/x', /loopback/],
      ['http://localhost/x', /loopback/],
      ['http://169.254.169.254/latest/meta-data', /cloud metadata/],
      ['http://[::ffff:169.254.169.254]/', /cloud metadata/],
      ['http://10.1.2.3/x', /private/],
      ['http://192.168.1.1/x', /private/],
      ['http://[fd00::1]/x', /private/],
      ['http://[fe80::1]/x', /link-local/],
      ['http://0.0.0.0/x', /unspecified/],
    ] as const) {
      const res = await call(admin, 'POST', '/api/v1/alerts/rules', spec({ targets: [{ url }] }), strict);
      expect(res.status, url).toBe(400);
      expect(res.json.error, url).toMatch(why);
    }
    const meta = await call(
      admin,
      'POST',
      '/api/v1/alerts/rules',
      spec({ targets: [{ url: 'http://169.254.169.254/' }] }),
    );
    expect(meta.status).toBe(400);
    expect(meta.json.error).toMatch(/cloud metadata/);
  });
});

describe('send test and built-ins', () => {
  it('sends a signed test webhook now, in JSON and Slack form, and logs it', async () => {
    const made = await call(
      admin,
      'POST',
      '/api/v1/alerts/rules',
      spec({
        name: 'to test',
        targets: [{ url: rx.url }, { url: `${rx.url}/slack`, format: 'slack', secret: 's'.repeat(20) }],
      }),
    );
    const secret = made.json.targets[0].secret;
    rx.received.length = 0;
    const res = await call(admin, 'POST', `/api/v1/alerts/rules/${made.json.id}/send-test`);
    expect(res.status).toBe(200);
    expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(['delivered', 'delivered']);
    expect(rx.received).toHaveLength(2);
    const json = rx.received.find((r) => r.json.version === 1)!;
    const slack = rx.received.find((r) => typeof r.json.text === 'string')!;
    expect(json.json).toMatchObject({ type: 'test', rule: { id: made.json.id, name: 'to test' } });
    expect(validSignature(secret, json)).toBe(true);
    expect(validSignature('s'.repeat(20), slack)).toBe(true);
    expect(String(slack.json.text)).toMatch(/Test: to test/);
    const log = await call(admin, 'GET', `/api/v1/alerts/deliveries?rule=${made.json.id}`);
    expect(log.json.deliveries.map((x: { kind: string; status: string }) => [x.kind, x.status])).toEqual([
      ['test', 'delivered'],
      ['test', 'delivered'],
    ]);
  });

  it('offers the built-in rules, exporter ones to admins only', async () => {
    const a = await call(admin, 'GET', '/api/v1/alerts/builtin');
    expect(Object.keys(a.json.rules).sort()).toEqual([
      'exporter-silent',
      'sequence-loss',
      'syn-flood',
      'tenant-surge',
    ]);
    const t = await call(acme, 'GET', '/api/v1/alerts/builtin');
    expect(Object.keys(t.json.rules).sort()).toEqual(['syn-flood', 'tenant-surge']);
    // each is ready to post as it is
    for (const [name, body] of Object.entries(t.json.rules)) {
      const res = await call(acme, 'POST', '/api/v1/alerts/rules', { ...(body as object), enabled: false });
      expect(res.status, name).toBe(201);
    }
    for (const [name, body] of Object.entries(a.json.rules)) {
      const res = await call(admin, 'POST', '/api/v1/alerts/rules', { ...(body as object), enabled: false });
      expect(res.status, name).toBe(201);
    }
  });
});
