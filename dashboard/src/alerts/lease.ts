/**
 * The evaluator lease: of several dashboards on one ClickHouse, one evaluates rules and
 * delivers webhooks at a time. ClickHouse has no transactions or compare-and-set, so:
 *
 * 1. read the newest lease row (highest version; ties by owner);
 * 2. if another owner holds it and it has not expired, stand by;
 * 3. otherwise insert our own row (owner, expiry, a version above the one read), wait
 *    `settleMs` so that a competitor who read the same expired row has written too, and
 *    read again: whoever has the highest version is the holder, and every contender reads
 *    the same answer, because both inserts are visible by then.
 *
 * The holder renews when half the lease is left and stops acting when it could not renew
 * before expiry (a paused process cannot keep acting on an old lease). A clean stop writes
 * an expired row so another dashboard (or the same one restarted) takes over at once.
 * What the lease cannot rule out (an insert slower than `settleMs`, clocks apart by more than
 * the lease) is covered by idempotent writes: event and delivery ids are hashes of what
 * they describe, and a delivery is created only if no row has its id (condition.ts, engine.ts).
 */
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import { ident, sql } from '../../../storage/src/sql.ts';
import { nextVersion } from './store.ts';

export interface Lease {
  readonly owner: string;
  /** true when this process holds the lease now (renewing or taking it as needed) */
  hold(): Promise<boolean>;
  /** whether the lease is still ours at this moment, without asking ClickHouse */
  held(): boolean;
  release(): Promise<void>;
}

export function createLease(
  ch: ClickHouse,
  opts: { owner: string; ttlMs: number; settleMs?: number; name?: string; now?: () => number },
): Lease {
  const db = ident(ch.database);
  const name = opts.name ?? 'evaluator';
  const now = opts.now ?? Date.now;
  const settleMs = opts.settleMs ?? 500;
  let until = 0;

  async function newest(): Promise<{ owner: string; expires: number; version: number } | null> {
    const [r] = await ch.query<{ owner: string; expires_ms: string; version: string }>(
      sql`SELECT owner, expires_ms, version FROM ${db}.alert_lease WHERE name = ${name} ORDER BY version DESC, owner DESC LIMIT 1`,
    );
    return r ? { owner: r.owner, expires: Number(r.expires_ms), version: Number(r.version) } : null;
  }

  async function write(expires: number, above: number): Promise<void> {
    const version = Math.max(nextVersion(), above + 1);
    await ch.command(
      sql`INSERT INTO ${db}.alert_lease (name, owner, expires_ms, version) VALUES (${name}, ${opts.owner}, ${expires}, ${version})`,
    );
  }

  return {
    owner: opts.owner,
    held: () => now() < until,
    async hold() {
      const t = now();
      if (t < until - opts.ttlMs / 2) return true;
      const cur = await newest();
      if (cur && cur.owner !== opts.owner && cur.expires > t) {
        until = 0;
        return false;
      }
      const renewing = cur !== null && cur.owner === opts.owner && t < until;
      const expires = t + opts.ttlMs;
      await write(expires, cur?.version ?? 0);
      if (!renewing) await new Promise((r) => setTimeout(r, settleMs));
      const after = await newest();
      until = after && after.owner === opts.owner ? Math.min(after.expires, expires) : 0;
      return now() < until;
    },
    async release() {
      if (now() >= until) return;
      until = 0;
      const cur = await newest();
      if (cur && cur.owner === opts.owner) await write(0, cur.version);
    },
  };
}
