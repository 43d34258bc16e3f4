/** The audit log: who ran which SQL, exported what, and changed tokens or the inventory. */
import type { FastifyRequest } from 'fastify';
import type { ClickHouse } from '../../storage/src/clickhouse.ts';
import { dateTime, ident, sql } from '../../storage/src/sql.ts';

export type AuditAction =
  | 'sql'
  | 'export'
  | 'session.create'
  | 'session.end'
  | 'token.create'
  | 'token.revoke'
  | 'inventory.update'
  | 'alert.rule.create'
  | 'alert.rule.update'
  | 'alert.rule.enable'
  | 'alert.rule.disable'
  | 'alert.rule.delete'
  | 'alert.send-test';

export function createAuditLog(ch: ClickHouse, onError: (err: unknown) => void) {
  const db = ident(ch.database);
  return function audit(req: FastifyRequest, action: AuditAction, detail: string, status: number): void {
    const who = req.identity;
    // the log never fails a request: a write error is logged, the answer goes out
    ch.command(
      sql`INSERT INTO ${db}.audit (time, token_id, token_name, role, tenant, action, detail, status, client) VALUES (${dateTime(Date.now())}, ${who?.tokenId ?? ''}, ${who?.name ?? ''}, ${who?.role ?? ''}, ${who?.tenant ?? ''}, ${action}, ${detail.slice(0, 65536)}, ${status}, ${req.ip})`,
    ).catch(onError);
  };
}
export type AuditLog = ReturnType<typeof createAuditLog>;
