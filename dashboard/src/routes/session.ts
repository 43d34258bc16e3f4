/** Browser sessions made from a token, and who the caller is. */
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import { SESSION_COOKIE } from '../auth/hook.ts';
import type { App } from '../deps.ts';
import { errors, identityOf } from './common.ts';

export const IdentityBody = Type.Object({
  tokenId: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('tenant')]),
  tenant: Type.Union([Type.String(), Type.Null()]),
});

export function sessionRoutes(app: App, ctx: RouteContext): void {
  app.post(
    '/api/v1/session',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['session'],
        summary: 'log in: turn a token into an HttpOnly session cookie',
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ identity: IdentityBody, expires: Type.String() }),
          ...errors(400, 401, 429),
        },
      },
    },
    async (req, reply) => {
      const identity = await ctx.tokens.authenticate(req.body.token);
      if (!identity) {
        ctx.metrics.authFailures.inc();
        return reply.code(401).send({ error: 'the token is not valid (unknown, revoked or expired)' });
      }
      const { session, expires } = await ctx.tokens.createSession(identity, ctx.config.sessionHours);
      req.identity = identity;
      ctx.audit(req, 'session.create', '', 200);
      reply.setCookie(SESSION_COOKIE, session, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: ctx.config.secureCookies,
        expires,
      });
      return { identity, expires: expires.toISOString() };
    },
  );

  app.delete(
    '/api/v1/session',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['session'],
        summary: 'log out: end the session on the server (the cookie stops working everywhere)',
        response: { 204: Type.Null(), ...errors(400) },
      },
    },
    async (req, reply) => {
      const cookie = req.cookies[SESSION_COOKIE];
      if (cookie) {
        await ctx.tokens.endSession(cookie);
        if (req.identity) ctx.audit(req, 'session.end', '', 204);
      }
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/me',
    {
      schema: {
        tags: ['session'],
        summary: 'who the token or session belongs to',
        response: { 200: IdentityBody, ...errors(401) },
      },
    },
    async (req) => identityOf(req),
  );
}
