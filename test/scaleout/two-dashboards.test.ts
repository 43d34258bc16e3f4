/**
 * Two dashboards behind a load balancer (issue 14): two dashboard apps, each with its own
 * ClickHouse connection, on one database of known flows. A request may reach either, so
 * everything a user holds must work on both: the same answers, a session made on one used
 * on the other, a logout or a token revoked on one refused by the other (within the token
 * cache's 5 s), tenant isolation on both, and an alert rule made on one evaluated by both
 * dashboards' evaluators yet firing once.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Evaluator } from '../../dashboard/src/alerts/engine.ts';
import { createTokenStore } from '../../dashboard/src/auth/tokens.ts';
import { type ClickHouse, connectClickHouse } from '../../storage/src/clickhouse.ts';
import {
  buildApp,
  evaluator,
  type Receiver,
  sleep,
  startReceiver,
  startTraffic,
  testConfig,
} from '../alerts/helpers.ts';
import { waitFor } from '../collector/harness.ts';
import { expected, loadFixture, T0, T1 } from '../dashboard/fixture.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();
const config = testConfig();
let chB: ClickHouse;
let dashA: FastifyInstance;
let dashB: FastifyInstance;
let admin: string;
let acme: string;

beforeAll(async () => {
  await loadFixture(db());
  chB = await connectClickHouse(testClickHouseConfig(db().database));
  dashA = await buildApp(db(), config);
  dashB = await buildApp(chB, config);
  const tokens = createTokenStore(db());
  admin = (await tokens.create({ role: 'admin', name: 'ops' })).token;
  acme = (await tokens.create({ role: 'tenant', tenant: 'acme', name: 'acme' })).token;
});
afterAll(async () => {
  await dashA?.close();
  await dashB?.close();
  await chB?.close();
});

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
async function call(
  app: FastifyInstance,
  method: Method,
  url: string,
  auth: { token?: string; cookie?: string },
  body?: unknown,
) {
  const res = await app.inject({
    method,
    url,
    headers: {
      ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
      ...(auth.cookie ? { cookie: `vxflow_session=${auth.cookie}` } : {}),
    },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  return { status: res.statusCode, body: res.body, json: () => res.json(), cookies: res.cookies };
}

const day = { start: T0, end: T1 };
/** requests whose answers depend only on the stored data */
const REQUESTS: [Method, string, unknown?][] = [
  ['GET', '/api/v1/me'],
  ['POST', '/api/v1/traffic/series', { ...day, unit: 'bps', filter: 'src port 40000' }],
  ['POST', '/api/v1/traffic/series', { ...day, unit: 'fps', filter: 'proto 6', dimensions: ['vni'] }],
  ['GET', `/api/v1/flows?start=${T0}&end=${T1}&limit=20`],
  [
    'POST',
    '/api/v1/sql',
    { query: 'SELECT tenant, count() AS n, sum(bytes) AS b FROM flows GROUP BY tenant ORDER BY tenant' },
  ],
];

describe('two dashboards on one ClickHouse', () => {
  it('answer the same requests the same way, for an admin and for a tenant, and a tenant sees only its own on both', async () => {
    for (const token of [admin, acme]) {
      for (const [method, url, body] of REQUESTS) {
        const a = await call(dashA, method, url, { token }, body);
        const b = await call(dashB, method, url, { token }, body);
        expect(a.status, `${method} ${url}: ${a.body}`).toBe(200);
        expect(b.status, `${method} ${url}`).toBe(200);
        // the SQL answer carries timings; the rest is compared whole
        const strip = (r: { json: () => Record<string, unknown> }) => ({
          ...r.json(),
          statistics: undefined,
        });
        expect(strip(b)).toEqual(strip(a));
        if (token === acme) expect(a.body).not.toContain('globex');
      }
    }
    const total = await call(
      dashB,
      'POST',
      '/api/v1/traffic/series',
      { token: admin },
      {
        ...day,
        unit: 'bps',
        filter: 'src port 40000',
      },
    );
    expect(total.json().series[0].total).toBe(expected((f) => f.src_port === 40000).bytes);
    const mine = await call(
      dashB,
      'POST',
      '/api/v1/sql',
      { token: acme },
      { query: 'SELECT DISTINCT tenant FROM flows' },
    );
    expect(mine.json().rows).toEqual([['acme']]);
  });

  it('a session made on one works on the other, and a logout on either ends it on both', async () => {
    const login = await call(dashA, 'POST', '/api/v1/session', {}, { token: acme });
    expect(login.status).toBe(200);
    const cookie = login.cookies.find((c) => c.name === 'vxflow_session')?.value ?? '';
    expect(cookie).not.toBe('');
    expect((await call(dashB, 'GET', '/api/v1/me', { cookie })).json()).toMatchObject({ tenant: 'acme' });
    expect((await call(dashB, 'DELETE', '/api/v1/session', { cookie })).status).toBe(204);
    const t0 = Date.now();
    await waitFor(
      'the session ended on the other dashboard',
      async () => (await call(dashA, 'GET', '/api/v1/me', { cookie })).status,
      (s) => s === 401,
      10_000,
    );
    expect(Date.now() - t0).toBeLessThanOrEqual(6000);
  });

  it('a token made on one works on the other; revoked on one, the other refuses it within 5 s', async () => {
    const made = await call(
      dashA,
      'POST',
      '/api/v1/tokens',
      { token: admin },
      { role: 'tenant', tenant: 'globex' },
    );
    expect(made.status, made.body).toBe(201);
    const { token, info } = made.json() as { token: string; info: { id: string } };
    expect((await call(dashB, 'GET', '/api/v1/me', { token })).json()).toMatchObject({ tenant: 'globex' });
    expect((await call(dashA, 'DELETE', `/api/v1/tokens/${info.id}`, { token: admin })).status).toBe(204);
    expect((await call(dashA, 'GET', '/api/v1/me', { token })).status).toBe(401);
    const t0 = Date.now();
    await waitFor(
      'the revoked token refused by the other dashboard',
      async () => (await call(dashB, 'GET', '/api/v1/me', { token })).status,
      (s) => s === 401,
      10_000,
    );
    expect(Date.now() - t0).toBeLessThanOrEqual(6000);
  });

  it("an alert rule made on one is listed by the other, and both dashboards' evaluators fire it once", async () => {
    const traffic = await startTraffic(db());
    const evaluators: Evaluator[] = [];
    let rx: Receiver | undefined;
    try {
      rx = await startReceiver();
      traffic.rates.set(5001, 4);
      const made = await call(
        dashA,
        'POST',
        '/api/v1/alerts/rules',
        { token: admin },
        {
          name: 'two dashboards',
          tenant: 'acme',
          scope: { vni: 5001 },
          measure: 'fps',
          condition: { type: 'threshold', op: 'above', value: 25 },
          windowSeconds: 2,
          intervalSeconds: 1,
          resolve: { after: 2 },
          targets: [{ url: rx.url, format: 'json' }],
        },
      );
      expect(made.status, made.body).toBe(201);
      const id = made.json().id as string;
      const listed = await call(dashB, 'GET', '/api/v1/alerts/rules', { token: acme });
      expect(listed.json().rules.map((r: { id: string }) => r.id)).toContain(id);

      evaluators.push(evaluator(db(), config, 'dashboard-a'), evaluator(chB, config, 'dashboard-b'));
      for (const e of evaluators) e.start();
      traffic.rates.set(5001, 80);
      const firing = () => (rx?.received ?? []).filter((x) => x.json.type === 'firing');
      await waitFor(
        'the firing webhook',
        () => firing().length,
        (n) => n >= 1,
        // the collector, the evaluators and ClickHouse share two loaded cores with other tests
        60_000,
      );
      await sleep(4000); // both evaluators keep running while it stays above
      expect(firing()).toHaveLength(1);
      expect(evaluators.filter((e) => e.isLeader())).toHaveLength(1);
      const active = await call(dashB, 'GET', '/api/v1/alerts/active', { token: acme });
      expect(active.json().alerts.map((x: { ruleId: string }) => x.ruleId)).toContain(id);
      await call(dashB, 'PATCH', `/api/v1/alerts/rules/${id}`, { token: admin }, { enabled: false });
    } finally {
      for (const e of evaluators) await e.stop().catch(() => {});
      await traffic.stop();
      await rx?.close();
    }
  }, 120_000);
});
