/**
 * Who is asking: every /api/v1 route needs a token (`Authorization: Bearer …`) or the
 * session cookie, unless its route config says `auth: 'none'`; `auth: 'admin'` routes
 * refuse tenant tokens. The identity is resolved on the server for every request; nothing
 * the client sends besides the token or cookie decides the tenant.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DashboardDeps } from '../deps.ts';
import type { Identity } from './tokens.ts';

export const SESSION_COOKIE = 'vxflow_session';

export type AuthLevel = 'none' | 'any' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity | null;
  }
  interface FastifyContextConfig {
    auth?: AuthLevel;
  }
}

export function bearerToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : null;
}

export function authHook(deps: DashboardDeps) {
  return async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const level: AuthLevel = req.routeOptions.config?.auth ?? (req.url.startsWith('/api/') ? 'any' : 'none');
    req.identity = null;
    const bearer = bearerToken(req);
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (bearer) req.identity = await deps.tokens.authenticate(bearer);
    else if (cookie) req.identity = await deps.tokens.authenticateSession(cookie);
    if (level === 'none') return;
    if (!req.identity) {
      deps.metrics.authFailures.inc();
      const why = bearer
        ? 'the token is not valid (unknown, revoked or expired)'
        : cookie
          ? 'the session has ended; log in again'
          : 'a token is needed: Authorization: Bearer TOKEN, or log in with POST /api/v1/session';
      reply.header('www-authenticate', 'Bearer realm="vxflow"');
      await reply.code(401).send({ error: why });
      return;
    }
    if (level === 'admin' && req.identity.role !== 'admin') {
      await reply.code(403).send({ error: 'this needs an admin token' });
    }
  };
}
