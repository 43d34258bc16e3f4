/**
 * DDL of the alerting state (migration 4), shared by every dashboard on one ClickHouse.
 * ClickHouse has no transactions, so nothing here relies on read-modify-write being atomic:
 *
 * - `alert_rules`: every saved version of a rule (ReplacingMergeTree on `version`, read with
 *   FINAL, as the tokens are); a deletion is a version with `deleted = 1`.
 * - `alert_state`: the state of one (rule, group key) after an evaluation that changed it.
 *   Only the evaluator holding the lease (`alert_lease`) writes it, and it writes a whole new
 *   row each time (never a delta), so a repeated write is harmless.
 * - `alert_events`: firing / resolved / re-notify transitions. `event_id` is a hash of (rule,
 *   group key, transition kind, the key's transition number), so the same transition written
 *   twice (two evaluators in a lease hand-over, a retry after a timeout) is one row after FINAL.
 * - `alert_deliveries`: one row per (event, target) with its current status, `id` a hash of
 *   the two: a delivery is created once whoever creates it, and its status moves forward by
 *   new versions (pending → sending → delivered | failed).
 * - `alert_delivery_attempts`: the log of every HTTP attempt, with status code and error.
 * - `alert_lease`: who evaluates and delivers now: rows (owner, expires) with a version; the
 *   newest version wins. See dashboard/src/alerts/lease.ts for the protocol.
 */

export function createAlertRulesTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.alert_rules (
  id String,
  tenant String,
  name String,
  enabled UInt8,
  builtin String,
  definition String,
  created DateTime,
  updated DateTime,
  author String,
  deleted UInt8,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id`;
}

export function createAlertStateTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.alert_state (
  rule_id String,
  group_key String,
  tenant String,
  state String,
  seq UInt32,
  history String,
  since DateTime,
  last_eval DateTime,
  last_value Float64,
  threshold Float64,
  ok_streak UInt32,
  notified DateTime,
  cooldown_until DateTime,
  event_id String,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (rule_id, group_key)`;
}

export function createAlertEventsTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.alert_events (
  event_id String,
  rule_id String,
  rule_name String,
  tenant String,
  group_key String,
  kind String,
  time DateTime,
  started DateTime,
  value Float64,
  threshold Float64,
  window_seconds UInt32,
  detail String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (rule_id, event_id)`;
}

export function createAlertDeliveriesTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.alert_deliveries (
  id String,
  event_id String,
  rule_id String,
  tenant String,
  kind String,
  target String,
  format String,
  body String,
  status String,
  attempts UInt16,
  status_code UInt16,
  error String,
  created DateTime,
  next_attempt DateTime,
  updated DateTime,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id`;
}

export function createAlertDeliveryAttemptsTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.alert_delivery_attempts (
  delivery_id String,
  attempt UInt16,
  time DateTime,
  status_code UInt16,
  error String,
  duration_ms UInt32,
  owner String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (delivery_id, attempt, time)`;
}

export function createAlertLeaseTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.alert_lease (
  name String,
  owner String,
  expires_ms UInt64,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY name`;
}
