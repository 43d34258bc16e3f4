/** Admin routes for tokens: the same operations as `vxflow token …`. */
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { TokenError } from '../auth/tokens.ts';
import type { App } from '../deps.ts';
import { badRequest, notFound } from '../errors.ts';
import { parseTime } from '../query/time-range.ts';
import { errors } from './common.ts';

export const TokenInfoBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('tenant')]),
  tenant: Type.Union([Type.String(), Type.Null()]),
  created: Type.String(),
  expires: Type.Union([Type.String(), Type.Null()]),
  lastUsed: Type.Union([Type.String(), Type.Null()]),
  revoked: Type.Boolean(),
});

export function tokenRoutes(app: App, ctx: RouteContext): void {
  app.get(
    '/api/v1/tokens',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'list tokens (admins)',
        querystring: Type.Object(
          { revoked: Type.Optional(Type.Boolean({ default: false })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ tokens: Type.Array(TokenInfoBody) }), ...errors(400, 401, 403) },
      },
    },
    async (req) => ({ tokens: await ctx.tokens.list({ includeRevoked: req.query.revoked ?? false }) }),
  );

  app.post(
    '/api/v1/tokens',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'create a token (admins); the token itself is shown only in this answer',
        body: Type.Object(
          {
            role: Type.Union([Type.Literal('admin'), Type.Literal('tenant')]),
            tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            name: Type.Optional(Type.String({ maxLength: 128 })),
            expires: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Number({ minimum: 0 })])),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ token: Type.String(), info: TokenInfoBody }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (req, reply) => {
      const { role, tenant, name, expires } = req.body;
      try {
        const made = await ctx.tokens.create({
          role,
          ...(tenant !== undefined ? { tenant } : {}),
          ...(name !== undefined ? { name } : {}),
          ...(expires !== undefined ? { expires: new Date(parseTime('expires', expires) * 1000) } : {}),
        });
        ctx.audit(
          req,
          'token.create',
          `${made.info.id} ${role}${tenant ? ` ${tenant}` : ''} ${name ?? ''}`,
          201,
        );
        return reply.code(201).send(made);
      } catch (err) {
        if (err instanceof TokenError) throw badRequest(err.message);
        throw err;
      }
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'revoke a token (admins): it and its sessions stop working within 5 s on every dashboard',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      if (!(await ctx.tokens.revoke(req.params.id))) throw notFound(`no active token ${req.params.id}`);
      ctx.audit(req, 'token.revoke', req.params.id, 204);
      return reply.code(204).send(null);
    },
  );
}
