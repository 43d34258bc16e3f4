/**
 * Malformed input at every route of the OpenAPI document, as admin and as a tenant:
 * whatever arrives, the answer is never a 500. Inputs are drawn from the document itself
 * (each route's properties with values of the right type, the wrong type, out of range,
 * near-valid filter and time text) and from arbitrary JSON.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { createTokenStore } from '../../dashboard/src/auth/tokens.ts';
import { DashboardConfig } from '../../dashboard/src/config.ts';
import { buildDashboardApp } from '../../dashboard/src/server.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import { loadFixture, T0, T1 } from './fixture.ts';

const db = useTestClickHouse();
let app: FastifyInstance;
const tokens: Record<string, string> = {};

interface Operation {
  method: string;
  path: string;
  body: Record<string, { type?: string; enum?: unknown[] }>;
  query: Record<string, unknown>;
  params: string[];
}

let operations: Operation[] = [];

beforeAll(async () => {
  await loadFixture(db());
  const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
  config.rateLimit.perMinute = 1_000_000;
  config.rateLimit.sqlPerMinute = 1_000_000;
  config.sqlLimits.maxExecutionTime = 5;
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
});
afterAll(async () => {
  await app?.close();
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

function input(op: Operation) {
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
  return fc.record({ body, query, params, who: fc.constantFrom('admin', 'tenant') });
}

describe('no input makes a 500', () => {
  it('covers the routes of the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThan(12);
  });

  it('every route, malformed and near-valid input, admin and tenant', async () => {
    const failures: string[] = [];
    /** routes that answered 2xx at least once: proof the inputs reach past validation */
    const reached = new Set<string>();
    for (const op of operations) {
      await fc
        .assert(
          fc.asyncProperty(input(op), async ({ body, query, params, who }) => {
            let path = op.path;
            for (const [k, v] of Object.entries(params))
              path = path.replace(`{${k}}`, encodeURIComponent(String(v)));
            const qs = new URLSearchParams(query as Record<string, string>).toString();
            const res = await app.inject({
              method: op.method as 'GET',
              url: qs ? `${path}?${qs}` : path,
              headers: { authorization: `Bearer ${tokens[who]}` },
              ...(op.method !== 'GET' && op.method !== 'DELETE'
                ? {
                    payload: JSON.stringify(body) ?? 'null',
                    headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': 'application/json' },
                  }
                : {}),
            });
            if (res.statusCode < 300) reached.add(`${op.method} ${op.path}`);
            if (res.statusCode >= 500 && !(op.path === '/healthz')) {
              failures.push(
                `${op.method} ${path}?${qs} ${JSON.stringify(body)} → ${res.statusCode} ${res.body}`,
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
    expect(reached.size).toBeGreaterThan(operations.length / 2);
  }, 600_000);
});
