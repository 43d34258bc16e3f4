/**
 * Malformed input at every route of the OpenAPI document, as admin and as a tenant:
 * whatever arrives, the answer is never a 500. Inputs are drawn from the document itself
 * (each route's properties with values of the right type, the wrong type, out of range,
 * near-valid filter and time text), from one known-valid request per route with some of its
 * fields replaced (so the mutations reach past validation into the handlers), and from
 * arbitrary JSON. The known-valid request itself always runs first and must answer 2xx:
 * a route without one fails the test, so a new route cannot slip past the fuzz.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { createTokenStore } from '../../dashboard/src/auth/tokens.ts';
import { DashboardConfig } from '../../dashboard/src/config.ts';
import { buildDashboardApp } from '../../dashboard/src/server.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import { type Receiver, startReceiver } from '../alerts/helpers.ts';
import { loadFixture, T0, T1 } from './fixture.ts';

const db = useTestClickHouse();
let app: FastifyInstance;
const tokens: Record<string, string> = {};
let receiver: Receiver | undefined;

interface Operation {
  method: string;
  path: string;
  body: Record<string, { type?: string; enum?: unknown[] }>;
  query: Record<string, unknown>;
  params: string[];
}

let operations: Operation[] = [];

interface Request {
  who: 'admin' | 'tenant';
  body?: Record<string, unknown>;
  query?: Record<string, string>;
  params?: Record<string, string>;
}

/** resources the valid requests act on; destructive routes get their own */
const ids = { rule: '', ruleToDelete: '', tokenToDelete: '', receiver: '' };

const rule = (over: Record<string, unknown> = {}) => ({
  name: 'fuzz',
  scope: {},
  measure: 'bps',
  condition: { type: 'threshold', op: 'above', value: 1 },
  windowSeconds: 3600,
  intervalSeconds: 60,
  targets: [],
  ...over,
});

/**
 * One request per route that the route must accept (2xx), keyed "METHOD path" as in the
 * document. Made anew before each route, since the inventory's version moves with each save.
 */
async function validRequests(): Promise<Record<string, Request>> {
  const day = { start: T0, end: T1 };
  const auth = { authorization: `Bearer ${tokens.admin}` };
  const inventory = (await app.inject({ method: 'GET', url: '/api/v1/inventory', headers: auth })).json();
  const yaml = (await app.inject({ method: 'GET', url: '/api/v1/inventory?format=yaml', headers: auth }))
    .body;
  return {
    'GET /healthz': { who: 'admin' },
    'GET /metrics': { who: 'admin' },
    'GET /api/v1/me': { who: 'tenant' },
    'POST /api/v1/session': { who: 'tenant', body: { token: tokens.tenant } },
    'DELETE /api/v1/session': { who: 'tenant' },
    'GET /api/v1/tokens': { who: 'admin' },
    'POST /api/v1/tokens': { who: 'admin', body: { role: 'tenant', tenant: 'acme', name: 'fuzz' } },
    'DELETE /api/v1/tokens/{id}': { who: 'admin', params: { id: ids.tokenToDelete } },
    'GET /api/v1/schema': { who: 'tenant' },
    'POST /api/v1/filter/validate': { who: 'tenant', body: { filter: 'proto tcp and dst port 443' } },
    'GET /api/v1/tenants': { who: 'tenant', query: { start: String(T0), end: String(T1) } },
    'POST /api/v1/traffic/series': { who: 'tenant', body: { ...day, unit: 'bps', dimensions: ['vni'] } },
    'POST /api/v1/traffic/top': { who: 'tenant', body: { ...day, dimensions: ['dst_port'], limit: 5 } },
    'POST /api/v1/traffic/matrix': { who: 'tenant', body: { ...day, by: 'endpoint' } },
    'GET /api/v1/flows': { who: 'tenant', query: { start: String(T0), end: String(T1), limit: '10' } },
    'GET /api/v1/exporters': { who: 'admin' },
    'GET /api/v1/inventory': { who: 'tenant' },
    'PUT /api/v1/inventory': {
      who: 'admin',
      body: { version: inventory.version || null, tenants: inventory.tenants },
    },
    'POST /api/v1/inventory/import': { who: 'admin', body: { yaml } },
    'PUT /api/v1/inventory/tenants/{tenant}': {
      who: 'admin',
      params: { tenant: 'fuzz-made' },
      body: { networks: [] },
    },
    'DELETE /api/v1/inventory/tenants/{tenant}': { who: 'admin', params: { tenant: 'fuzz-gone' } },
    'GET /api/v1/inventory/history': { who: 'admin' },
    'POST /api/v1/sql': { who: 'tenant', body: { query: 'SELECT count() FROM flows' } },
    'GET /api/v1/alerts/rules': { who: 'tenant' },
    'GET /api/v1/alerts/builtin': { who: 'admin' },
    'POST /api/v1/alerts/rules': { who: 'tenant', body: rule() },
    'GET /api/v1/alerts/rules/{id}': { who: 'tenant', params: { id: ids.rule } },
    'PUT /api/v1/alerts/rules/{id}': {
      who: 'tenant',
      params: { id: ids.rule },
      body: rule({ targets: [{ url: ids.receiver }] }),
    },
    'PATCH /api/v1/alerts/rules/{id}': { who: 'tenant', params: { id: ids.rule }, body: { enabled: true } },
    'DELETE /api/v1/alerts/rules/{id}': { who: 'tenant', params: { id: ids.ruleToDelete } },
    'POST /api/v1/alerts/test': { who: 'tenant', body: { ruleId: ids.rule, ...day } },
    'POST /api/v1/alerts/rules/{id}/send-test': { who: 'tenant', params: { id: ids.rule } },
    'GET /api/v1/alerts/active': { who: 'tenant' },
    'GET /api/v1/alerts/history': { who: 'tenant' },
    'GET /api/v1/alerts/deliveries': { who: 'tenant' },
  };
}

beforeAll(async () => {
  await loadFixture(db());
  const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
  config.rateLimit.perMinute = 1_000_000;
  config.rateLimit.sqlPerMinute = 1_000_000;
  config.sqlLimits.maxExecutionTime = 5;
  // the valid send-test delivers to a receiver on loopback
  config.alerts.allowPrivateTargets = true;
  app = await buildDashboardApp({ ch: db(), config });
  const store = createTokenStore(db());
  tokens.admin = (await store.create({ role: 'admin' })).token;
  tokens.tenant = (await store.create({ role: 'tenant', tenant: 'acme' })).token;
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
  for (const [path, methods] of Object.entries(
    doc.paths as Record<string, Record<string, Record<string, unknown>>>,
  )) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []) as { in: string; name: string; schema: unknown }[];
      const body = (
        op.requestBody as { content?: Record<string, { schema?: { properties?: object } }> } | undefined
      )?.content?.['application/json']?.schema?.properties;
      operations.push({
        method: method.toUpperCase(),
        path,
        body: (body ?? {}) as Operation['body'],
        query: Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
        params: params.filter((p) => p.in === 'path').map((p) => p.name),
      });
    }
  }
  operations = operations.filter((o) => !o.path.startsWith('/docs'));
  receiver = await startReceiver();
  ids.receiver = receiver.url;
  const auth = (who: 'admin' | 'tenant') => ({ authorization: `Bearer ${tokens[who]}` });
  const made = async (payload: object) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/alerts/rules',
      headers: auth('tenant'),
      payload,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  ids.rule = await made(rule({ targets: [{ url: ids.receiver }] }));
  ids.ruleToDelete = await made(rule());
  ids.tokenToDelete = (await store.create({ role: 'tenant', tenant: 'acme' })).info.id;
  const gone = await app.inject({
    method: 'PUT',
    url: '/api/v1/inventory/tenants/fuzz-gone',
    headers: auth('admin'),
    payload: { networks: [] },
  });
  expect(gone.statusCode, gone.body).toBe(200);
});
afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

const nearFilter = fc
  .array(
    fc.constantFrom(
      'proto',
      'tcp',
      'port',
      '443',
      'and',
      'or',
      'not',
      '(',
      ')',
      'src',
      'dst',
      'net',
      '10.0.0.0/8',
      'host',
      '::1',
      'bytes',
      '>',
      '1M',
      "'",
      '"',
      'vni',
      'flags',
      'S',
      'tenant',
      'x',
    ),
    { maxLength: 12 },
  )
  .map((w) => w.join(' '));
const nearSql = fc
  .array(
    fc.constantFrom(
      'SELECT',
      '*',
      'count()',
      'FROM',
      'flows',
      'system.tables',
      'WHERE',
      '1',
      '=',
      "'a'",
      'UNION ALL',
      'JOIN',
      '(',
      ')',
      ';',
      '--',
      'numbers(10)',
      'SETTINGS',
      'FORMAT',
      'JSON',
      'LIMIT',
      'tenant',
    ),
    { minLength: 1, maxLength: 14 },
  )
  .map((w) => w.join(' '));
const time = fc.oneof(
  fc.integer({ min: T0 - 86_400, max: T1 + 86_400 }),
  fc.constantFrom(
    '2026-11-30T00:00:00Z',
    '2026-11-30',
    'yesterday',
    '',
    '-1',
    '99999999999',
    '2026-13-45T99:00:00Z',
  ),
);
const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);

function valueFor(name: string, schema: { enum?: unknown[] } | undefined): fc.Arbitrary<unknown> {
  const typed =
    name === 'filter'
      ? nearFilter
      : name === 'query'
        ? nearSql
        : name === 'start' || name === 'end' || name === 'expires'
          ? time
          : name === 'dimensions'
            ? fc.array(fc.constantFrom('tenant', 'src_addr', 'dst_port', 'vni', 'bytes', 'nope', ''), {
                maxLength: 5,
              })
            : name === 'limit' || name === 'points'
              ? fc.integer({ min: -5, max: 3000 })
              : name === 'token'
                ? fc.oneof(fc.string(), fc.constant(tokens.tenant), fc.constant('vxf_0123456789abcdef_x'))
                : schema?.enum
                  ? fc.constantFrom(...schema.enum)
                  : anyValue;
  return fc.oneof({ weight: 4, arbitrary: typed }, { weight: 1, arbitrary: anyValue });
}

/** the valid request with some of its fields dropped or replaced by typed or arbitrary values */
function nearValid(op: Operation, valid: Request): fc.Arbitrary<Request> {
  const mutate = (obj: Record<string, unknown>, schema: Record<string, unknown>) =>
    fc
      .record(
        Object.fromEntries(
          Object.keys({ ...schema, ...obj }).map((k) => [
            k,
            fc.oneof(
              { weight: 2, arbitrary: fc.constant(obj[k]) },
              { weight: 1, arbitrary: valueFor(k, schema[k] as { enum?: unknown[] }) },
            ),
          ]),
        ),
        { requiredKeys: [] },
      )
      .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
  return fc.record({
    who: fc.constantFrom(valid.who, 'admin', 'tenant'),
    body: mutate(valid.body ?? {}, op.body),
    query: mutate(valid.query ?? {}, op.query).map((q) =>
      Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)])),
    ),
    params: fc.constant(valid.params ?? {}),
  }) as fc.Arbitrary<Request>;
}

function arbitraryInput(op: Operation): fc.Arbitrary<Request> {
  const body = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record(Object.fromEntries(Object.entries(op.body).map(([k, s]) => [k, valueFor(k, s)])), {
        requiredKeys: [],
      }),
    },
    { weight: 1, arbitrary: fc.anything() },
  );
  const query = fc.record(
    Object.fromEntries(
      Object.keys(op.query).map((k) => [k, valueFor(k, op.query[k] as { enum?: unknown[] }).map(String)]),
    ),
    { requiredKeys: [] },
  );
  const params = fc.record(
    Object.fromEntries(op.params.map((p) => [p, fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{16}$/))])),
  );
  return fc.record({ body, query, params, who: fc.constantFrom('admin', 'tenant') }) as fc.Arbitrary<Request>;
}

const key = (op: Operation) => `${op.method} ${op.path}`;

async function send(op: Operation, { body, query, params, who }: Request) {
  let path = op.path;
  for (const [k, v] of Object.entries(params ?? {}))
    path = path.replace(`{${k}}`, encodeURIComponent(String(v)));
  const qs = new URLSearchParams((query ?? {}) as Record<string, string>).toString();
  const url = qs ? `${path}?${qs}` : path;
  const withBody = op.method !== 'GET' && op.method !== 'DELETE' && body !== undefined;
  const res = await app.inject({
    method: op.method as 'GET',
    url,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      ...(withBody ? { 'content-type': 'application/json' } : {}),
    },
    ...(withBody ? { payload: JSON.stringify(body) ?? 'null' } : {}),
  });
  return { url, status: res.statusCode, body: res.body };
}

describe('no input makes a 500', () => {
  it('covers the routes of the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThan(12);
  });

  it('every route has a valid request, and it answers 2xx', async () => {
    const valid = await validRequests();
    const missing = operations.filter((op) => !valid[key(op)]).map(key);
    expect(missing, 'routes without a valid request in validRequests()').toEqual([]);
    const stale = Object.keys(valid).filter((k) => !operations.some((op) => key(op) === k));
    expect(stale, 'validRequests() entries for routes the document does not have').toEqual([]);
    const refused: string[] = [];
    for (const op of operations) {
      const res = await send(op, (await validRequests())[key(op)] as Request);
      if (res.status >= 300) refused.push(`${key(op)} → ${res.status} ${res.body.slice(0, 200)}`);
    }
    expect(refused).toEqual([]);
  });

  it('every route, malformed and near-valid input, admin and tenant', async () => {
    const valid = await validRequests();
    const failures: string[] = [];
    for (const op of operations) {
      const near = valid[key(op)];
      const arbitrary = near
        ? fc.oneof(
            { weight: 3, arbitrary: nearValid(op, near) },
            { weight: 2, arbitrary: arbitraryInput(op) },
          )
        : arbitraryInput(op);
      await fc
        .assert(
          fc.asyncProperty(arbitrary, async (req) => {
            const res = await send(op, req);
            if (res.status >= 500 && op.path !== '/healthz') {
              failures.push(
                `${op.method} ${res.url} ${JSON.stringify(req.body)} → ${res.status} ${res.body}`,
              );
              return false;
            }
            return true;
          }),
          { numRuns: 40 },
        )
        .catch(() => {});
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
