/** Schemas and helpers every route shares. */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Identity } from '../auth/tokens.ts';
import { forbidden } from '../errors.ts';
import type { Scope } from '../query/where.ts';

export const ErrorBody = Type.Object({ error: Type.String() }, { additionalProperties: true });

/** The error answers a route can give, for its OpenAPI document. */
export function errors<C extends number>(...codes: C[]): { [K in C]: typeof ErrorBody } {
  return Object.fromEntries(codes.map((c) => [c, ErrorBody])) as { [K in C]: typeof ErrorBody };
}

export const TimeParam = Type.Union([Type.String({ maxLength: 40 }), Type.Number({ minimum: 0 })], {
  description: 'ISO 8601 time or Unix seconds',
});

export const TenantParam = Type.String({
  maxLength: 128,
  description:
    "admins: confine to this tenant ('' = unassigned flows); tenants: only their own name is accepted",
});

export function identityOf(req: FastifyRequest): Identity {
  if (!req.identity) throw forbidden('no identity');
  return req.identity;
}

/**
 * The tenant a request is confined to. A tenant token is always confined to its own tenant;
 * naming another is refused without saying whether it exists.
 */
export function scopeOf(req: FastifyRequest, requested?: string): Scope {
  const who = identityOf(req);
  if (who.role === 'tenant') {
    if (requested !== undefined && requested !== who.tenant)
      throw forbidden('a tenant token sees only its own tenant');
    return { tenant: who.tenant };
  }
  return { tenant: requested ?? null };
}
