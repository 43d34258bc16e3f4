/**
 * Tokens and browser sessions, stored hashed in ClickHouse so every dashboard on the same
 * server (and `vxflow token` on the command line) shares them. A token reads
 * `vxf_<id>_<secret>`: the id finds the row, the SHA-256 of the whole token is compared in
 * constant time. Lookups are cached for `cacheMs` (5 s), which bounds how long a revoked
 * token or an ended session still works on another dashboard; on the dashboard that
 * revoked it, the cache is dropped at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import { dateTime, ident, sql } from '../../../storage/src/sql.ts';

export type Role = 'admin' | 'tenant';

export interface Identity {
  tokenId: string;
  name: string;
  role: Role;
  /** the tenant a tenant token is confined to; null for admins */
  tenant: string | null;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  tenant: string | null;
  created: string;
  expires: string | null;
  lastUsed: string | null;
  revoked: boolean;
}

export interface TokenStore {
  create(opts: {
    role: Role;
    tenant?: string;
    name?: string;
    expires?: Date;
  }): Promise<{ info: TokenInfo; token: string }>;
  list(opts?: { includeRevoked?: boolean }): Promise<TokenInfo[]>;
  get(id: string): Promise<TokenInfo | null>;
  /** true when the token existed and was not revoked already */
  revoke(id: string): Promise<boolean>;
  authenticate(token: string): Promise<Identity | null>;
  createSession(identity: Identity, hours: number): Promise<{ session: string; expires: Date }>;
  authenticateSession(session: string): Promise<Identity | null>;
  endSession(session: string): Promise<void>;
}

const TOKEN_RE = /^vxf_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const SESSION_RE = /^[A-Za-z0-9_-]{43}$/;
const TENANT_NAME_RE = /^[^\x00-\x1f\x7f]{1,128}$/;

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const iso = (unix: number) => new Date(unix * 1000).toISOString();

interface TokenRow {
  id: string;
  name: string;
  role: string;
  tenant: string;
  hash: string;
  created: number;
  expires: number;
  revoked: number;
  last_used: number | null;
}

export function createTokenStore(
  ch: ClickHouse,
  opts: { cacheMs?: number; now?: () => number } = {},
): TokenStore {
  const cacheMs = opts.cacheMs ?? 5000;
  const now = opts.now ?? Date.now;
  const db = ident(ch.database);
  const dbName = ch.database;
  let lastVersion = 0;
  /** strictly increasing across calls in this process; ms × 1000 keeps other processes' order */
  const version = () => {
    lastVersion = Math.max(lastVersion + 1, now() * 1000);
    return lastVersion;
  };
  const tokenCache = new Map<string, { at: number; row: TokenRow | null }>();
  const sessionCache = new Map<string, { at: number; tokenId: string | null; expires: number }>();
  const touched = new Map<string, number>();

  const toInfo = (r: TokenRow): TokenInfo => ({
    id: r.id,
    name: r.name,
    role: r.role as Role,
    tenant: r.role === 'tenant' ? r.tenant : null,
    created: iso(Number(r.created)),
    expires: Number(r.expires) > 0 ? iso(Number(r.expires)) : null,
    lastUsed: r.last_used && Number(r.last_used) > 0 ? iso(Number(r.last_used)) : null,
    revoked: Number(r.revoked) === 1,
  });

  async function rows(where: string): Promise<TokenRow[]> {
    return ch.query<TokenRow>(
      `SELECT t.id AS id, t.name AS name, t.role AS role, t.tenant AS tenant, t.hash AS hash,
              toUnixTimestamp(t.created) AS created, toUnixTimestamp(t.expires) AS expires, t.revoked AS revoked,
              toUnixTimestamp(u.last_used) AS last_used
       FROM (SELECT * FROM ${dbName}.tokens FINAL WHERE ${where}) AS t
       LEFT JOIN (SELECT id, max(last_used) AS last_used FROM ${dbName}.token_usage GROUP BY id) AS u USING id
       ORDER BY created, id`,
    );
  }

  async function tokenById(id: string, fresh = false): Promise<TokenRow | null> {
    const hit = tokenCache.get(id);
    if (!fresh && hit && now() - hit.at < cacheMs) return hit.row;
    const [row] = await rows(sql`id = ${id}`);
    tokenCache.set(id, { at: now(), row: row ?? null });
    return row ?? null;
  }

  const usable = (r: TokenRow | null): r is TokenRow =>
    r !== null && Number(r.revoked) === 0 && (Number(r.expires) === 0 || Number(r.expires) * 1000 > now());

  const identityOf = (r: TokenRow): Identity => ({
    tokenId: r.id,
    name: r.name,
    role: r.role as Role,
    tenant: r.role === 'tenant' ? r.tenant : null,
  });

  function touch(id: string): void {
    const t = now();
    if ((touched.get(id) ?? 0) > t - 60_000) return;
    touched.set(id, t);
    // last-used is informative: a failed write must never fail the request that used the token
    ch.command(sql`INSERT INTO ${db}.token_usage (id, last_used) VALUES (${id}, ${dateTime(t)})`).catch(
      () => {
        touched.delete(id);
      },
    );
  }

  async function insertToken(r: Omit<TokenRow, 'last_used'>): Promise<void> {
    await ch.command(
      sql`INSERT INTO ${db}.tokens (id, name, role, tenant, hash, created, expires, revoked, version) VALUES (${r.id}, ${r.name}, ${r.role}, ${r.tenant}, ${r.hash}, ${dateTime(r.created * 1000)}, ${dateTime(r.expires * 1000)}, ${r.revoked}, ${version()})`,
    );
  }

  return {
    async create({ role, tenant, name, expires }) {
      if (role !== 'admin' && role !== 'tenant')
        throw new TokenError(`role must be admin or tenant, got ${role}`);
      if (role === 'tenant' && (!tenant || !TENANT_NAME_RE.test(tenant)))
        throw new TokenError('a tenant token needs a tenant name (1 to 128 printable characters)');
      if (role === 'admin' && tenant) throw new TokenError('an admin token has no tenant');
      const label = name ?? '';
      if (label.length > 128 || !/^[^\x00-\x1f\x7f]*$/.test(label))
        throw new TokenError('a token name is at most 128 printable characters');
      if (expires && (Number.isNaN(expires.getTime()) || expires.getTime() <= now()))
        throw new TokenError('the expiry must be a time in the future');
      const id = randomBytes(8).toString('hex');
      const token = `vxf_${id}_${randomBytes(32).toString('base64url')}`;
      const row = {
        id,
        name: label,
        role,
        tenant: role === 'tenant' ? (tenant as string) : '',
        hash: sha256(token),
        created: Math.floor(now() / 1000),
        expires: expires ? Math.floor(expires.getTime() / 1000) : 0,
        revoked: 0,
      };
      await insertToken(row);
      return { info: toInfo({ ...row, last_used: null }), token };
    },

    async list({ includeRevoked = false } = {}) {
      const all = (await rows('1')).map(toInfo);
      return includeRevoked ? all : all.filter((t) => !t.revoked);
    },

    async get(id) {
      if (!/^[0-9a-f]{16}$/.test(id)) return null;
      const row = await tokenById(id, true);
      return row ? toInfo(row) : null;
    },

    async revoke(id) {
      if (!/^[0-9a-f]{16}$/.test(id)) return false;
      const row = await tokenById(id, true);
      if (!row || Number(row.revoked) === 1) return false;
      await insertToken({ ...row, created: Number(row.created), expires: Number(row.expires), revoked: 1 });
      tokenCache.delete(id);
      return true;
    },

    async authenticate(token) {
      const m = typeof token === 'string' ? TOKEN_RE.exec(token) : null;
      if (!m) return null;
      const row = await tokenById(m[1]);
      if (!usable(row)) return null;
      const given = Buffer.from(sha256(token), 'hex');
      const stored = Buffer.from(row.hash, 'hex');
      if (given.length !== stored.length || !timingSafeEqual(given, stored)) return null;
      touch(row.id);
      return identityOf(row);
    },

    async createSession(identity, hours) {
      const session = randomBytes(32).toString('base64url');
      const expires = new Date(now() + hours * 3_600_000);
      await ch.command(
        sql`INSERT INTO ${db}.sessions (hash, token_id, created, expires, revoked, version) VALUES (${sha256(session)}, ${identity.tokenId}, ${dateTime(now())}, ${dateTime(expires)}, 0, ${version()})`,
      );
      return { session, expires };
    },

    async authenticateSession(session) {
      if (typeof session !== 'string' || !SESSION_RE.test(session)) return null;
      const hash = sha256(session);
      let hit = sessionCache.get(hash);
      if (!hit || now() - hit.at >= cacheMs) {
        const [row] = await ch.query<{ token_id: string; expires: number; revoked: number }>(
          sql`SELECT token_id, toUnixTimestamp(expires) AS expires, revoked FROM ${db}.sessions FINAL WHERE hash = ${hash}`,
        );
        hit = {
          at: now(),
          tokenId: row && Number(row.revoked) === 0 ? row.token_id : null,
          expires: row ? Number(row.expires) * 1000 : 0,
        };
        sessionCache.set(hash, hit);
      }
      if (!hit.tokenId || hit.expires <= now()) return null;
      const row = await tokenById(hit.tokenId);
      if (!usable(row)) return null;
      touch(row.id);
      return identityOf(row);
    },

    async endSession(session) {
      if (typeof session !== 'string' || !SESSION_RE.test(session)) return;
      const hash = sha256(session);
      const [row] = await ch.query<{ token_id: string; created: number; expires: number }>(
        sql`SELECT token_id, toUnixTimestamp(created) AS created, toUnixTimestamp(expires) AS expires FROM ${db}.sessions FINAL WHERE hash = ${hash}`,
      );
      sessionCache.delete(hash);
      if (!row) return;
      await ch.command(
        sql`INSERT INTO ${db}.sessions (hash, token_id, created, expires, revoked, version) VALUES (${hash}, ${row.token_id}, ${dateTime(Number(row.created) * 1000)}, ${dateTime(Number(row.expires) * 1000)}, 1, ${version()})`,
      );
    },
  };
}
