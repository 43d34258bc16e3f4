/**
 * The dashboard API against a real ClickHouse loaded with known flows: exact totals in
 * each unit from the rollups and from the raw table, and tenant isolation attacked route
 * by route with a second tenant's token.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { createTokenStore } from '../../dashboard/src/auth/tokens.ts';
import { DashboardConfig } from '../../dashboard/src/config.ts';
import { buildDashboardApp } from '../../dashboard/src/server.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import {
  EXPORTER_SAMPLED,
  EXPORTER_UNSAMPLED,
  EXPORTER_V6,
  expected,
  FLOWS,
  loadFixture,
  T0,
  T1,
} from './fixture.ts';

const db = useTestClickHouse();
let app: FastifyInstance;
let admin: string;
let acme: string;
let globex: string;
/** every body a tenant token received, to prove no other tenant's name ever reached it */
const acmeSaw: string[] = [];

beforeAll(async () => {
  await loadFixture(db());
  const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
  config.rateLimit.perMinute = 100_000;
  app = await buildDashboardApp({ ch: db(), config });
  const tokens = createTokenStore(db());
  admin = (await tokens.create({ role: 'admin', name: 'ops' })).token;
  acme = (await tokens.create({ role: 'tenant', tenant: 'acme', name: 'acme-ci' })).token;
  globex = (await tokens.create({ role: 'tenant', tenant: 'globex' })).token;
});
afterAll(async () => {
  await app?.close();
});

async function call(
  token: string | null,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  if (token === acme) acmeSaw.push(res.body);
  return res;
}

const day = { start: T0, end: T1 };

describe('authentication', () => {
  it('refuses no token, a malformed token and an unknown one with 401 and a reason', async () => {
    for (const t of [null, 'nonsense', `vxf_0123456789abcdef_${'A'.repeat(43)}`]) {
      const res = await call(t, 'GET', '/api/v1/me');
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toMatch(/token/);
    }
  });

  it('knows who is asking', async () => {
    expect((await call(admin, 'GET', '/api/v1/me')).json()).toMatchObject({
      role: 'admin',
      tenant: null,
      name: 'ops',
    });
    expect((await call(acme, 'GET', '/api/v1/me')).json()).toMatchObject({ role: 'tenant', tenant: 'acme' });
  });

  it('a session cookie works like the token, and stops working after logout', async () => {
    const login = await call(null, 'POST', '/api/v1/session', { token: acme });
    expect(login.statusCode).toBe(200);
    const cookie = login.cookies.find((c) => c.name === 'vxflow_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    const h = { cookie: `vxflow_session=${cookie?.value}` };
    expect((await call(null, 'GET', '/api/v1/me', undefined, h)).json()).toMatchObject({ tenant: 'acme' });
    expect((await call(null, 'DELETE', '/api/v1/session', undefined, h)).statusCode).toBe(204);
    expect((await call(null, 'GET', '/api/v1/me', undefined, h)).statusCode).toBe(401);
    expect((await call(null, 'POST', '/api/v1/session', { token: 'wrong' })).statusCode).toBe(401);
  });

  it('admins create and revoke tokens; a revoked token and its sessions get 401; tenants may not manage tokens', async () => {
    const made = await call(admin, 'POST', '/api/v1/tokens', {
      role: 'tenant',
      tenant: 'acme',
      name: 'temp',
    });
    expect(made.statusCode).toBe(201);
    const { token, info } = made.json();
    const session = (await call(null, 'POST', '/api/v1/session', { token })).cookies[0].value;
    expect((await call(token, 'GET', '/api/v1/me')).statusCode).toBe(200);
    const listed = (await call(admin, 'GET', '/api/v1/tokens')).json().tokens;
    expect(listed.map((t: { id: string }) => t.id)).toContain(info.id);
    expect(JSON.stringify(listed)).not.toContain(token);
    expect((await call(acme, 'GET', '/api/v1/tokens')).statusCode).toBe(403);
    expect((await call(acme, 'POST', '/api/v1/tokens', { role: 'admin' })).statusCode).toBe(403);
    expect((await call(admin, 'DELETE', `/api/v1/tokens/${info.id}`)).statusCode).toBe(204);
    expect((await call(token, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect(
      (await call(null, 'GET', '/api/v1/me', undefined, { cookie: `vxflow_session=${session}` })).statusCode,
    ).toBe(401);
    expect((await call(admin, 'DELETE', `/api/v1/tokens/${info.id}`)).statusCode).toBe(404);
  });
});

describe('traffic totals are exact, from the rollups and from the raw table', () => {
  const units = [
    ['bps', 'bytes'],
    ['pps', 'packets'],
    ['fps', 'flows'],
  ] as const;

  for (const [unit, counter] of units) {
    it(`${unit}: 24 h on whole hours reads flows_1h and sums to the loaded ${counter}`, async () => {
      const res = await call(admin, 'POST', '/api/v1/traffic/series', {
        ...day,
        unit,
        dimensions: ['tenant'],
        points: 24,
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.table).toBe('flows_1h');
      expect(body.interval).toBe(3600);
      expect(body.t).toHaveLength(24);
      const byTenant = Object.fromEntries(
        body.series.map((s: { key: string[]; total: number }) => [s.key[0], s.total]),
      );
      expect(byTenant).toEqual({
        acme: expected((f) => f.tenant === 'acme')[counter],
        globex: expected((f) => f.tenant === 'globex')[counter],
        '': expected((f) => f.tenant === '')[counter],
      });
      // rates: each point is the counter over the hour, in the unit
      const s = body.series.find((x: { key: string[] }) => x.key[0] === 'acme');
      const sum = s.values.reduce((a: number, b: number) => a + b, 0);
      expect(sum * 3600).toBeCloseTo(
        expected((f) => f.tenant === 'acme')[counter] * (unit === 'bps' ? 8 : 1),
        3,
      );
      expect(s.max).toBeGreaterThanOrEqual(s.p95);
      expect(s.p95).toBeGreaterThanOrEqual(s.average * 0.5);
    });
  }

  it('a port filter needs the raw table and gives the same kind of exact total', async () => {
    const res = await call(admin, 'POST', '/api/v1/traffic/series', {
      ...day,
      unit: 'bps',
      filter: 'src port 40000',
    });
    const body = res.json();
    expect(body.table).toBe('flows');
    expect(body.series[0].total).toBe(expected((f) => f.src_port === 40000).bytes);
  });

  it('a range that does not fall on whole hours reads a finer table, still exact', async () => {
    const range = { start: T0 + 1800, end: T0 + 5 * 3600 + 600 };
    const res = await call(admin, 'POST', '/api/v1/traffic/series', { ...range, unit: 'pps' });
    const body = res.json();
    expect(['flows_5m', 'flows_1m']).toContain(body.table);
    expect(body.series[0].total).toBe(expected(() => true, range).packets);
    const raw = await call(admin, 'POST', '/api/v1/traffic/series', {
      start: T0 + 1,
      end: T0 + 7201,
      unit: 'pps',
    });
    expect(raw.json().table).toBe('flows');
    expect(raw.json().series[0].total).toBe(expected(() => true, { start: T0 + 1, end: T0 + 7201 }).packets);
  });

  it('top-N folds the rest into Other, and the series still add up', async () => {
    const res = await call(admin, 'POST', '/api/v1/traffic/series', {
      ...day,
      dimensions: ['network'],
      limit: 2,
    });
    const body = res.json();
    expect(body.series.map((s: { name: string }) => s.name)).toContain('Other');
    const total = body.series.reduce((a: number, s: { total: number }) => a + s.total, 0);
    expect(total).toBe(expected(() => true).bytes);
  });

  it('previous period: the same range a day earlier (empty here) comes back beside it', async () => {
    const res = await call(admin, 'POST', '/api/v1/traffic/series', {
      ...day,
      previousPeriod: 'day',
      points: 24,
    });
    const body = res.json();
    expect(body.previous.values).toHaveLength(24);
    expect(body.previous.total).toBe(0);
    const shifted = await call(admin, 'POST', '/api/v1/traffic/series', {
      start: T1,
      end: T1 + 86_400,
      previousPeriod: 'day',
      points: 24,
    });
    expect(shifted.json().previous.total).toBe(expected(() => true).bytes);
  });

  it('top talkers and conversations, with shares', async () => {
    const res = await call(admin, 'POST', '/api/v1/traffic/top', {
      ...day,
      dimensions: ['src_addr', 'dst_addr'],
      limit: 3,
    });
    const body = res.json();
    expect(body.table).toBe('flows');
    expect(body.rows).toHaveLength(3);
    expect(body.rows[0].total + body.rows[1].total + body.rows[2].total + body.other.total).toBe(body.total);
    expect(body.total).toBe(expected(() => true).bytes);
    const sharesum = body.rows.reduce((a: number, r: { share: number }) => a + r.share, 0) + body.other.share;
    expect(sharesum).toBeCloseTo(1, 9);
  });

  it('the VM-to-VM matrix of a tenant names its endpoints and their exact totals', async () => {
    const res = await call(acme, 'POST', '/api/v1/traffic/matrix', { ...day, by: 'endpoint' });
    const body = res.json();
    const cell = body.cells.find(
      (c: { src: string; dst: string }) => c.src === 'acme-web-1' && c.dst === 'acme-db-1',
    );
    expect(cell.total).toBe(
      expected((f) => f.src_endpoint === 'acme-web-1' && f.dst_endpoint === 'acme-db-1').bytes,
    );
    expect(body.labels).toEqual(expect.arrayContaining(['acme-web-1', 'acme-db-1', 'acme-web-2']));
  });
});

describe('tenant isolation, route by route', () => {
  it('series: a tenant sees only itself, however it groups or filters', async () => {
    const res = await call(acme, 'POST', '/api/v1/traffic/series', { ...day, dimensions: ['tenant'] });
    expect(res.json().series.map((s: { key: string[] }) => s.key[0])).toEqual(['acme']);
    expect(res.json().series[0].total).toBe(expected((f) => f.tenant === 'acme').bytes);
    for (const filter of [
      'tenant globex',
      'tenant globex or tenant acme',
      'vni 6001',
      'not tenant acme',
      "tenant = ''",
    ]) {
      const r = await call(acme, 'POST', '/api/v1/traffic/series', { ...day, filter });
      expect(r.statusCode, `${filter}: ${r.body}`).toBe(200);
      const got = r.json().series.reduce((a: number, s: { total: number }) => a + s.total, 0);
      const own = expected((f) => f.tenant === 'acme').bytes;
      expect(got, filter).toBeLessThanOrEqual(own);
      if (filter.includes('globex') && !filter.includes('acme')) expect(got, filter).toBe(0);
    }
  });

  it('naming another tenant is refused, naming none is confined', async () => {
    for (const url of ['/api/v1/traffic/series', '/api/v1/traffic/top', '/api/v1/traffic/matrix']) {
      expect((await call(acme, 'POST', url, { ...day, tenant: 'globex' })).statusCode).toBe(403);
      expect((await call(acme, 'POST', url, { ...day, tenant: '' })).statusCode).toBe(403);
    }
    expect((await call(acme, 'GET', `/api/v1/flows?start=${T0}&end=${T1}&tenant=globex`)).statusCode).toBe(
      403,
    );
  });

  it('top talkers with overlapping addresses count only the tenant’s own flows', async () => {
    const res = await call(acme, 'POST', '/api/v1/traffic/top', {
      ...day,
      dimensions: ['src_addr'],
      filter: 'src host 10.0.0.1',
    });
    expect(res.json().total).toBe(expected((f) => f.tenant === 'acme' && f.src_addr === '10.0.0.1').bytes);
  });

  it('tenants: a tenant sees itself only; admins see every tenant and the unassigned', async () => {
    expect(
      (await call(acme, 'GET', `/api/v1/tenants?start=${T0}&end=${T1}`))
        .json()
        .tenants.map((t: { name: string }) => t.name),
    ).toEqual(['acme']);
    const all = (await call(admin, 'GET', `/api/v1/tenants?start=${T0}&end=${T1}`))
      .json()
      .tenants.map((t: { name: string }) => t.name);
    expect(all.sort()).toEqual(['', 'acme', 'globex']);
  });

  it('flows: paging returns each of the tenant’s flows exactly once, and only those', async () => {
    const seen: Record<string, unknown>[] = [];
    let url = `/api/v1/flows?start=${T0}&end=${T1}&limit=13`;
    for (let i = 0; i < 100; i++) {
      const res = await call(acme, 'GET', url);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      seen.push(...body.flows);
      if (!body.next) break;
      url = `/api/v1/flows?cursor=${encodeURIComponent(body.next)}&limit=13`;
    }
    const own = FLOWS.filter((f) => f.tenant === 'acme');
    expect(seen).toHaveLength(own.length);
    expect(new Set(seen.map((f) => JSON.stringify(f))).size).toBe(own.length);
    expect(seen.every((f) => f.tenant === 'acme')).toBe(true);
    expect(seen[0]).toMatchObject({
      tenant: 'acme',
      exporter: expect.any(String),
      time_received: expect.stringMatching(/Z$/),
    });
  });

  it('flows: a cursor belongs to the token that got it', async () => {
    const first = (await call(admin, 'GET', `/api/v1/flows?start=${T0}&end=${T1}&limit=2`)).json();
    const stolen = await call(acme, 'GET', `/api/v1/flows?cursor=${encodeURIComponent(first.next)}`);
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json().error).toMatch(/another token/);
    expect((await call(acme, 'GET', '/api/v1/flows?cursor=garbage')).statusCode).toBe(400);
  });

  it('flows: CSV streams a header and exactly the tenant’s rows', async () => {
    const res = await call(acme, 'GET', `/api/v1/flows?start=${T0}&end=${T1}&format=csv&limit=100000`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    const lines = res.body.trimEnd().split('\r\n');
    expect(lines[0].split(',')).toContain('tenant');
    expect(lines).toHaveLength(1 + FLOWS.filter((f) => f.tenant === 'acme').length);
  });

  it('exporters: a tenant sees only those its flows came from, without health counters', async () => {
    const res = await call(globex, 'GET', '/api/v1/exporters');
    const ex = res.json().exporters;
    expect(ex.map((e: { address: string }) => e.address).sort()).toEqual([]);
    // the exporters table is filled by the collector; here we add rows as it would
    await db().command(
      `INSERT INTO ${db().database}.exporters (exporter, name, version, observation_domain, templates, sampling_rate, packets, records, lost_packets, lost_records, errors, first_seen, last_seen)
       VALUES (IPv6StringToNum('::ffff:${EXPORTER_UNSAMPLED}'), 'leaf-1', 9, 0, 2, 1, 100, 900, 1, 0, 0, now(), now()),
              (IPv6StringToNum('::ffff:${EXPORTER_SAMPLED}'), 'leaf-2', 9, 0, 2, 100, 50, 400, 0, 0, 0, now(), now()),
              (IPv6StringToNum('${EXPORTER_V6}'), 'leaf-3', 10, 7, 1, 1, 10, 40, 0, 0, 0, now(), now())`,
    );
    const mine = (await call(globex, 'GET', '/api/v1/exporters')).json().exporters;
    expect(mine.map((e: { address: string }) => e.address).sort()).toEqual(
      [EXPORTER_UNSAMPLED, EXPORTER_SAMPLED].sort(),
    );
    expect(mine.every((e: object) => !('health' in e))).toBe(true);
    const acmeEx = (await call(acme, 'GET', '/api/v1/exporters')).json().exporters;
    expect(acmeEx.map((e: { address: string }) => e.address)).toContain(EXPORTER_V6);
    const all = (await call(admin, 'GET', '/api/v1/exporters')).json().exporters;
    expect(all).toHaveLength(3);
    expect(all.find((e: { address: string }) => e.address === EXPORTER_UNSAMPLED).health).toMatchObject({
      packets: 100,
      lostPackets: 1,
      sequenceLoss: 1 / 101,
    });
  });

  it('SQL: whatever a tenant writes, it reads only its own rows', async () => {
    const res = await call(acme, 'POST', '/api/v1/sql', {
      query: 'SELECT tenant, count() AS n FROM flows GROUP BY tenant',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().rows).toEqual([
      ['acme', String(FLOWS.filter((f) => f.tenant === 'acme').length)].map((v, i) =>
        i === 1 ? expect.anything() : v,
      ),
    ]);
    const sys = await call(acme, 'POST', '/api/v1/sql', { query: 'SELECT * FROM system.tables' });
    expect(sys.statusCode).toBe(403);
    const adm = await call(admin, 'POST', '/api/v1/sql', { query: 'SELECT count() FROM flows' });
    expect(adm.statusCode, adm.body).toBe(200);
    expect(Number(adm.json().rows[0][0])).toBe(FLOWS.length);
  });

  it('no answer a tenant received names another tenant', () => {
    expect(acmeSaw.length).toBeGreaterThan(10);
    for (const body of acmeSaw) expect(body).not.toMatch(/globex/);
  });
});

describe('inventory', () => {
  const acmeTenant = {
    name: 'acme',
    networks: [
      {
        name: 'acme-web',
        vni: 5001,
        subnets: [
          { name: 'acme-web-net', cidr: '10.0.0.0/24', ports: [{ name: 'acme-web-1', ip: '10.0.0.1' }] },
        ],
      },
    ],
  };
  const globexTenant = {
    name: 'globex',
    networks: [{ name: 'globex-web', vni: 6001, subnets: [{ name: 'globex-net', cidr: '10.0.0.0/16' }] }],
  };

  it('admins save versions; tenants read only their own tenant; a stale version is a 409', async () => {
    const empty = (await call(admin, 'GET', '/api/v1/inventory')).json();
    expect(empty).toMatchObject({ version: null, tenants: [] });
    const saved = await call(admin, 'PUT', '/api/v1/inventory', {
      version: null,
      tenants: [acmeTenant, globexTenant],
    });
    expect(saved.statusCode, saved.body).toBe(200);
    const v1 = saved.json().version;
    const mine = (await call(acme, 'GET', '/api/v1/inventory')).json();
    expect(mine.tenants.map((t: { name: string }) => t.name)).toEqual(['acme']);
    expect(mine.version).toBe(v1);
    const stale = await call(admin, 'PUT', '/api/v1/inventory', { version: null, tenants: [] });
    expect(stale.statusCode).toBe(409);
    expect((await call(acme, 'PUT', '/api/v1/inventory', { version: v1, tenants: [] })).statusCode).toBe(403);
    expect((await call(acme, 'PUT', '/api/v1/inventory/tenants/acme', { networks: [] })).statusCode).toBe(
      403,
    );
  });

  it('refuses a VNI claimed twice and overlapping subnets within one VNI, with the place named', async () => {
    const { version } = (await call(admin, 'GET', '/api/v1/inventory')).json();
    const twice = await call(admin, 'PUT', '/api/v1/inventory', {
      version,
      tenants: [acmeTenant, { ...globexTenant, networks: [{ ...globexTenant.networks[0], vni: 5001 }] }],
    });
    expect(twice.statusCode).toBe(400);
    expect(twice.json().error).toMatch(/VNI 5001/);
    const overlap = await call(admin, 'PUT', '/api/v1/inventory/tenants/acme', {
      networks: [
        { name: 'acme-web', vni: 5001, subnets: [{ cidr: '10.0.0.0/24' }, { cidr: '10.0.0.128/25' }] },
      ],
    });
    expect(overlap.statusCode).toBe(400);
    expect(overlap.json().error).toMatch(/overlaps/);
  });

  it('one tenant edited alone; YAML export and import round-trip', async () => {
    const edit = await call(admin, 'PUT', '/api/v1/inventory/tenants/initech', {
      networks: [{ name: 'initech-flat', vlan: 100, subnets: [{ cidr: '192.168.7.0/24' }] }],
    });
    expect(edit.statusCode, edit.body).toBe(200);
    expect(edit.json().tenants).toBe(3);
    const yaml = (await call(admin, 'GET', '/api/v1/inventory?format=yaml')).body;
    expect(yaml).toContain('initech-flat');
    const back = await call(admin, 'POST', '/api/v1/inventory/import', { yaml });
    expect(back.statusCode, back.body).toBe(200);
    expect(
      (await call(admin, 'GET', '/api/v1/inventory/history')).json().versions.length,
    ).toBeGreaterThanOrEqual(3);
    const bad = await call(admin, 'POST', '/api/v1/inventory/import', {
      yaml: 'tenants: [{name: x, netwrks: []}]\nfoo: 1',
    });
    expect(bad.statusCode).toBe(400);
    expect((await call(admin, 'DELETE', '/api/v1/inventory/tenants/initech')).statusCode).toBe(200);
    expect((await call(admin, 'DELETE', '/api/v1/inventory/tenants/initech')).statusCode).toBe(404);
  });
});

describe('rate limits and the audit log', () => {
  it('a token over its rate gets 429 with when to retry; another token is not affected', async () => {
    const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
    config.rateLimit.perMinute = 3;
    const limited = await buildDashboardApp({ ch: db(), config });
    try {
      const get = (t: string) =>
        limited.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${t}` } });
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await get(acme)).statusCode);
      expect(codes).toEqual([200, 200, 200, 429]);
      const over = await get(acme);
      expect(over.json().error).toMatch(/rate limit: at most 3 requests per minute/);
      expect((await get(globex)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('records who ran which SQL and exported what', async () => {
    await call(globex, 'POST', '/api/v1/sql', { query: 'SELECT 42 AS audit_probe' });
    await call(globex, 'GET', `/api/v1/flows?start=${T0}&end=${T1}&format=csv&limit=1`);
    let rows: { action: string; detail: string; tenant: string; status: number }[] = [];
    for (let i = 0; i < 50 && rows.length < 2; i++) {
      rows = await db().query(
        `SELECT action, detail, tenant, status FROM ${db().database}.audit WHERE tenant = 'globex' ORDER BY time`,
      );
      if (rows.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'sql', detail: 'SELECT 42 AS audit_probe', status: 200 }),
        expect.objectContaining({ action: 'export', detail: expect.stringContaining('"format":"csv"') }),
      ]),
    );
  });
});

describe('bad input is a 4xx with a reason', () => {
  it.each([
    ['POST', '/api/v1/traffic/series', { start: 'yesterday' }],
    ['POST', '/api/v1/traffic/series', { start: T1, end: T0 }],
    ['POST', '/api/v1/traffic/series', { dimensions: ['nope'] }],
    ['POST', '/api/v1/traffic/series', { unit: 'furlongs' }],
    ['POST', '/api/v1/traffic/series', { filter: 'dst port https' }],
    ['POST', '/api/v1/traffic/top', { dimensions: [] }],
    ['POST', '/api/v1/sql', { query: '' }],
    ['GET', '/api/v1/flows?limit=0', undefined],
    ['GET', '/api/v1/nothing', undefined],
  ] as const)('%s %s %j', async (method, url, body) => {
    const res = await call(admin, method, url, body);
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(typeof res.json().error).toBe('string');
  });

  it('a filter error says where and what was expected', async () => {
    const res = await call(admin, 'POST', '/api/v1/filter/validate', {
      filter: 'proto tcp and dst port https',
    });
    expect(res.json()).toMatchObject({ valid: false, position: expect.any(Number) });
    expect(res.json().error).toMatch(/port/);
  });
});
