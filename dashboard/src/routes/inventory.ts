/**
 * The tenant inventory (tenants → networks with VNI or VLAN → subnets → ports). Everyone
 * reads it within their scope: a tenant sees its own tenant only. Admins replace it whole
 * (optimistically locked on the version they read), edit one tenant, or import YAML; every
 * save is a version in ClickHouse, and collectors pick the newest up within seconds.
 */
import { Type } from '@sinclair/typebox';
import { stringify as toYaml } from 'yaml';
import type { InventoryFile } from '../../../collector/src/enrich/inventory.ts';
import {
  InventoryConflict,
  inventoryHistory,
  latestInventory,
  saveInventory,
} from '../../../storage/src/inventory-store.ts';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';
import { ApiError, badRequest, notFound } from '../errors.ts';
import { checkInventory, checkInventoryYaml } from '../inventory/validate.ts';
import { errors, identityOf } from './common.ts';

const Port = Type.Object({ name: Type.String(), ip: Type.String(), mac: Type.Optional(Type.String()) });
const Subnet = Type.Object({
  name: Type.Optional(Type.String()),
  cidr: Type.String(),
  ports: Type.Optional(Type.Array(Port)),
});
const Network = Type.Object({
  name: Type.String(),
  vni: Type.Optional(Type.Integer()),
  vlan: Type.Optional(Type.Integer()),
  subnets: Type.Array(Subnet),
});
const Tenant = Type.Object({ name: Type.String(), networks: Type.Array(Network) });
const Exporter = Type.Object({ address: Type.String(), name: Type.String() });
const InventoryBody = Type.Object({
  version: Type.Union([Type.Number(), Type.Null()], {
    description: 'the version in force; null when none was saved yet',
  }),
  updated: Type.Union([Type.String(), Type.Null()]),
  author: Type.String(),
  tenants: Type.Array(Tenant),
  exporters: Type.Optional(Type.Array(Exporter)),
});

async function current(
  ctx: RouteContext,
): Promise<{ version: number | null; updated: string | null; author: string; doc: InventoryFile }> {
  const stored = await latestInventory(ctx.ch);
  if (!stored) return { version: null, updated: null, author: '', doc: { tenants: [] } };
  return {
    version: stored.version,
    updated: new Date(stored.updated * 1000).toISOString(),
    author: stored.author,
    doc: JSON.parse(stored.document) as InventoryFile,
  };
}

export function inventoryRoutes(app: App, ctx: RouteContext): void {
  async function save(
    req: Parameters<typeof identityOf>[0],
    raw: unknown,
    expected: number | null | undefined,
  ) {
    const checked = checkInventory(raw);
    if (!checked.ok) throw badRequest(`inventory: ${checked.reason}`);
    const who = identityOf(req);
    try {
      const saved = await saveInventory(
        ctx.ch,
        JSON.stringify(checked.value),
        `token:${who.tokenId}${who.name ? ` (${who.name})` : ''}`,
        expected,
      );
      ctx.audit(req, 'inventory.update', `version ${saved.version}`, 200);
      return { version: saved.version, tenants: checked.value.tenants.length };
    } catch (err) {
      if (err instanceof InventoryConflict) throw new ApiError(409, err.message, { version: err.actual });
      throw err;
    }
  }

  app.get(
    '/api/v1/inventory',
    {
      schema: {
        tags: ['inventory'],
        summary: 'the inventory in force (a tenant sees only its own tenant); ?format=yaml for the file form',
        querystring: Type.Object(
          {
            format: Type.Optional(
              Type.Union([Type.Literal('json'), Type.Literal('yaml')], { default: 'json' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: InventoryBody, ...errors(401, 429) },
      },
    },
    async (req, reply) => {
      const who = identityOf(req);
      const cur = await current(ctx);
      const tenants =
        who.role === 'tenant' ? cur.doc.tenants.filter((t) => t.name === who.tenant) : cur.doc.tenants;
      const body = {
        version: cur.version,
        updated: cur.updated,
        author: who.role === 'admin' ? cur.author : '',
        tenants,
        ...(who.role === 'admin' && cur.doc.exporters ? { exporters: cur.doc.exporters } : {}),
      };
      if (req.query.format === 'yaml') {
        reply.header('content-type', 'application/yaml; charset=utf-8');
        return reply.send(
          toYaml({ tenants, ...(body.exporters ? { exporters: body.exporters } : {}) }) as never,
        );
      }
      return body;
    },
  );

  app.put(
    '/api/v1/inventory',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['inventory'],
        summary: 'replace the inventory (admins); `version` must be the one you read (409 when it changed)',
        body: Type.Object(
          {
            version: Type.Union([Type.Null(), Type.Integer({ minimum: 1 })], {
              description:
                'the version you read (null when there was none): a save on top of a newer one is a 409',
            }),
            tenants: Type.Array(Type.Unknown(), { maxItems: 100_000 }),
            exporters: Type.Optional(Type.Array(Type.Unknown())),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ version: Type.Number(), tenants: Type.Integer() }),
          ...errors(400, 401, 403, 409, 429),
        },
      },
    },
    async (req) => {
      const { version, ...doc } = req.body;
      return save(req, doc, version);
    },
  );

  app.post(
    '/api/v1/inventory/import',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['inventory'],
        summary: 'import the YAML inventory file (admins): it becomes the newest version',
        body: Type.Object(
          {
            yaml: Type.String({ maxLength: 16 << 20 }),
            version: Type.Optional(
              Type.Union([Type.Null(), Type.Integer({ minimum: 1 })], {
                description: 'when given, the version you read: a save on top of a newer one is a 409',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ version: Type.Number(), tenants: Type.Integer() }),
          ...errors(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const checked = checkInventoryYaml(req.body.yaml);
      if (!checked.ok) throw badRequest(`inventory: ${checked.reason}`);
      return save(req, checked.value, req.body.version);
    },
  );

  app.put(
    '/api/v1/inventory/tenants/:tenant',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['inventory'],
        summary: "create or replace one tenant's networks (admins)",
        params: Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 128 }) }),
        body: Type.Object(
          { networks: Type.Array(Type.Unknown(), { maxItems: 10_000 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ version: Type.Number(), tenants: Type.Integer() }),
          ...errors(400, 401, 403, 409, 429),
        },
      },
    },
    async (req) => {
      const cur = await current(ctx);
      const name = req.params.tenant;
      const tenant = { name, networks: req.body.networks };
      const tenants = cur.doc.tenants.some((t) => t.name === name)
        ? cur.doc.tenants.map((t) => (t.name === name ? tenant : t))
        : [...cur.doc.tenants, tenant];
      return save(req, { ...cur.doc, tenants }, cur.version);
    },
  );

  app.delete(
    '/api/v1/inventory/tenants/:tenant',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['inventory'],
        summary: 'remove a tenant from the inventory (admins); its stored flows stay',
        params: Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: {
          200: Type.Object({ version: Type.Number(), tenants: Type.Integer() }),
          ...errors(401, 403, 404, 409, 429),
        },
      },
    },
    async (req) => {
      const cur = await current(ctx);
      if (!cur.doc.tenants.some((t) => t.name === req.params.tenant))
        throw notFound(`no tenant ${req.params.tenant} in the inventory`);
      return save(
        req,
        { ...cur.doc, tenants: cur.doc.tenants.filter((t) => t.name !== req.params.tenant) },
        cur.version,
      );
    },
  );

  app.get(
    '/api/v1/inventory/history',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['inventory'],
        summary: 'saved versions, newest first (admins)',
        response: {
          200: Type.Object({
            versions: Type.Array(
              Type.Object({ version: Type.Number(), updated: Type.String(), author: Type.String() }),
            ),
          }),
          ...errors(401, 403, 429),
        },
      },
    },
    async () => ({
      versions: (await inventoryHistory(ctx.ch)).map((v) => ({
        ...v,
        updated: new Date(v.updated * 1000).toISOString(),
      })),
    }),
  );
}
