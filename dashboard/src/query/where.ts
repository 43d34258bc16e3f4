/**
 * The WHERE clause of every flow query, in one place because it carries tenant isolation:
 * a tenant's scope comes first, the time range next, and the user's filter is one
 * parenthesised expression ANDed after them, so it can only narrow what the scope allows.
 */
import { sql } from '../../../storage/src/sql.ts';
import type { TimeRange } from './time-range.ts';

/** who is asking: null tenant = an admin, who sees every tenant and unassigned flows */
export interface Scope {
  tenant: string | null;
}

export function scopedWhere(
  scope: Scope,
  timeColumn: string,
  range: TimeRange,
  filterSql: string,
  extra: readonly string[] = [],
): string {
  const parts: string[] = [];
  if (scope.tenant !== null) parts.push(sql`tenant = ${scope.tenant}`);
  parts.push(`${timeColumn} >= toDateTime(${range.start})`, `${timeColumn} < toDateTime(${range.end})`);
  parts.push(...extra);
  if (filterSql && filterSql !== '1') parts.push(`(${filterSql})`);
  return parts.join(' AND ');
}
