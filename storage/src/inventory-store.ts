/**
 * The inventory as edited through the API, kept in ClickHouse so every collector and
 * dashboard sees the same one: each save is a new version of the whole document (JSON of
 * the inventory file's shape), the newest is in force, older ones are the history.
 */
import type { ClickHouse } from './clickhouse.ts';
import { dateTime, ident, sql } from './sql.ts';

export interface StoredInventory {
  version: number;
  /** Unix seconds */
  updated: number;
  author: string;
  document: string;
}

export class InventoryConflict extends Error {
  constructor(
    readonly expected: number | null,
    readonly actual: number | null,
  ) {
    super(
      `the inventory changed since version ${expected ?? 'none'} (now ${actual ?? 'none'}); reload it and apply the change again`,
    );
    this.name = 'InventoryConflict';
  }
}

export async function latestInventory(ch: ClickHouse): Promise<StoredInventory | null> {
  const [row] = await ch.query<{ version: string; updated: number; author: string; document: string }>(
    `SELECT version, toUnixTimestamp(updated) AS updated, author, document FROM ${ch.database}.inventory ORDER BY version DESC LIMIT 1`,
  );
  return row
    ? {
        version: Number(row.version),
        updated: Number(row.updated),
        author: row.author,
        document: row.document,
      }
    : null;
}

/** The newest version number only (what collectors poll). */
export async function latestInventoryVersion(ch: ClickHouse): Promise<number | null> {
  const [row] = await ch.query<{ v: string; n: string }>(
    `SELECT max(version) AS v, count() AS n FROM ${ch.database}.inventory`,
  );
  return row && Number(row.n) > 0 ? Number(row.v) : null;
}

/**
 * Saves a new version. With `expected` (the version the editor started from; null = there
 * was none), a save on top of someone else's newer one is refused with InventoryConflict.
 */
export async function saveInventory(
  ch: ClickHouse,
  document: string,
  author: string,
  expected?: number | null,
): Promise<StoredInventory> {
  const current = await latestInventoryVersion(ch);
  if (expected !== undefined && expected !== current) throw new InventoryConflict(expected, current);
  const now = Date.now();
  // versions are milliseconds, so two writers rarely pick the same one, and always above the last
  const version = Math.max((current ?? 0) + 1, now);
  await ch.command(
    sql`INSERT INTO ${ident(ch.database)}.inventory (version, updated, author, document) VALUES (${version}, ${dateTime(now)}, ${author}, ${document})`,
  );
  return { version, updated: Math.floor(now / 1000), author, document };
}

export async function inventoryHistory(
  ch: ClickHouse,
  limit = 20,
): Promise<Omit<StoredInventory, 'document'>[]> {
  const rows = await ch.query<{ version: string; updated: number; author: string }>(
    `SELECT version, toUnixTimestamp(updated) AS updated, author FROM ${ch.database}.inventory ORDER BY version DESC LIMIT ${Math.max(1, Math.min(1000, Math.floor(limit)))}`,
  );
  return rows.map((r) => ({ version: Number(r.version), updated: Number(r.updated), author: r.author }));
}
