/**
 * DDL of the tables that hold the dashboard's shared state, so several dashboards on one
 * ClickHouse serve the same users (DESIGN.md, contracts): tokens, browser sessions, the
 * audit log and the inventory edited through the API. ClickHouse has no UPDATE that 18.16
 * and current releases share cheaply, so state that changes (a revoked token, an ended
 * session) is a new row with a higher `version` in a ReplacingMergeTree, read with FINAL.
 */

export function createTokensTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.tokens (
  id String,
  name String,
  role String,
  tenant String,
  hash String,
  created DateTime,
  expires DateTime,
  revoked UInt8,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id`;
}

/** Last use of a token, kept apart so that using a token never rewrites the token row. */
export function createTokenUsageTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.token_usage (
  id String,
  last_used DateTime
) ENGINE = ReplacingMergeTree(last_used)
ORDER BY id`;
}

export function createSessionsTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.sessions (
  hash String,
  token_id String,
  created DateTime,
  expires DateTime,
  revoked UInt8,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY hash`;
}

export function createAuditTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.audit (
  time DateTime,
  token_id String,
  token_name String,
  role String,
  tenant String,
  action String,
  detail String,
  status UInt16,
  client String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY time`;
}

/** Every saved version of the inventory document; the newest is the one in force. */
export function createInventoryTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.inventory (
  version UInt64,
  updated DateTime,
  author String,
  document String
) ENGINE = MergeTree
ORDER BY version`;
}
