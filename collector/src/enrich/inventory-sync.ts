/**
 * Keeps a collector's inventory in step with the one edited through the dashboard's API,
 * which lives in ClickHouse as numbered versions (storage/src/inventory-store.ts). The
 * rule for a collector that also has an inventory file: the newest edit wins. An edit of
 * the file is saved as a new version (so every other collector and dashboard sees it
 * too), a newer version in ClickHouse replaces what the file said, and at start the newer
 * of the two (file modification time against the version's save time) is in force.
 */
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import {
  latestInventory,
  latestInventoryVersion,
  saveInventory,
} from '../../../storage/src/inventory-store.ts';
import { parse as parseYaml } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import { type Inventory, InventoryFile, parseInventory } from './inventory.ts';

export interface InventorySync {
  /** applies the version in force now (or pushes the file if it is newer), then polls */
  start(file?: { text: string; mtimeMs: number; path: string }): Promise<void>;
  /** the file changed and parsed: save it as the newest version */
  fileChanged(text: string, path: string): Promise<void>;
  stop(): void;
  readonly version: number | null;
}

export interface InventorySyncOptions {
  ch: ClickHouse;
  pollMs: number;
  /** text: the document in force (JSON, which the YAML parser reads too), for the decode workers */
  onChange(inv: Inventory, text: string, source: string): void;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
}

/** YAML and the API's JSON describe the same document: compare them as parsed JSON. */
function sameDocument(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}

export function createInventorySync(opts: InventorySyncOptions): InventorySync {
  let version: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  async function apply(): Promise<void> {
    const stored = await latestInventory(opts.ch);
    if (!stored || stored.version === version) return;
    const res = parseInventory(stored.document);
    version = stored.version;
    if (!res.ok) {
      opts.log.warn(
        { version: stored.version, reason: res.reason },
        'inventory version in ClickHouse is invalid: keeping the previous one',
      );
      return;
    }
    opts.log.info(
      {
        version: stored.version,
        author: stored.author,
        tenants: res.value.tenants,
        subnets: res.value.subnets,
      },
      'inventory updated from ClickHouse',
    );
    opts.onChange(res.value, stored.document, `clickhouse version ${stored.version}`);
  }

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      const latest = await latestInventoryVersion(opts.ch);
      if (latest !== null && latest !== version) await apply();
    } catch (err) {
      // ClickHouse away: the inventory in force stays, the next poll tries again
      opts.log.warn({ err: (err as Error).message }, 'inventory poll failed');
    } finally {
      polling = false;
    }
  }

  async function push(text: string, path: string): Promise<void> {
    const res = parseInventory(text);
    if (!res.ok) return;
    const document = JSON.stringify(parseToJson(text));
    const stored = await latestInventory(opts.ch);
    if (stored && sameDocument(stored.document, document)) {
      version = stored.version;
      return;
    }
    const saved = await saveInventory(opts.ch, document, `file:${path}`);
    version = saved.version;
    opts.log.info(
      { version: saved.version, file: path },
      'inventory file saved to ClickHouse as the newest version',
    );
  }

  return {
    get version() {
      return version;
    },
    async start(file) {
      const stored = await latestInventory(opts.ch);
      if (file && (!stored || file.mtimeMs / 1000 >= stored.updated)) await push(file.text, file.path);
      else await apply();
      timer = setInterval(() => void poll(), opts.pollMs);
      timer.unref();
    },
    async fileChanged(text, path) {
      try {
        await push(text, path);
      } catch (err) {
        opts.log.warn(
          { err: (err as Error).message },
          'inventory file not saved to ClickHouse (it applies here only)',
        );
      }
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

/** The document as the API stores it: defaults filled in, so equal inventories compare equal. */
function parseToJson(text: string): unknown {
  return Value.Default(InventoryFile, Value.Clone(parseYaml(text) ?? {}));
}
