/**
 * The collector's inventory follows the versions in ClickHouse (what the dashboard's API
 * saves), and an inventory file's edits become versions: the newest edit wins.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Inventory } from '../../collector/src/enrich/inventory.ts';
import { createInventorySync } from '../../collector/src/enrich/inventory-sync.ts';
import { latestInventory, saveInventory } from '../../storage/src/inventory-store.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();
const quiet = { info() {}, warn() {} };

const doc = (tenant: string, vni: number) =>
  JSON.stringify({ tenants: [{ name: tenant, networks: [{ name: `${tenant}-net`, vni, subnets: [] }] }] });

function recorder() {
  const seen: { inv: Inventory; source: string }[] = [];
  return { seen, onChange: (inv: Inventory, _text: string, source: string) => seen.push({ inv, source }) };
}

describe('inventory sync', () => {
  it('applies the version in force at start, then each newer one within the poll interval', async () => {
    await saveInventory(db(), doc('acme', 5001), 'test');
    const r = recorder();
    const sync = createInventorySync({ ch: db(), pollMs: 100, onChange: r.onChange, log: quiet });
    await sync.start();
    try {
      expect(r.seen).toHaveLength(1);
      expect(r.seen[0].inv.byVni.get(5001)?.tenant.tenant).toBe('acme');
      await saveInventory(db(), doc('globex', 6001), 'api');
      for (let i = 0; i < 50 && r.seen.length < 2; i++) await sleep(50);
      expect(r.seen).toHaveLength(2);
      expect(r.seen[1].inv.byVni.get(6001)?.tenant.tenant).toBe('globex');
      expect(r.seen[1].inv.byVni.has(5001)).toBe(false);
      // an invalid version (written around the API) keeps the previous inventory
      await saveInventory(db(), '{"tenants": [{"name": 3}]}', 'broken');
      await sleep(300);
      expect(r.seen).toHaveLength(2);
    } finally {
      sync.stop();
    }
  });

  it('a file newer than the stored version is saved as the newest version; its edits too', async () => {
    await saveInventory(db(), doc('old', 7001), 'api');
    const r = recorder();
    const sync = createInventorySync({ ch: db(), pollMs: 60_000, onChange: r.onChange, log: quiet });
    const yaml = 'tenants:\n  - name: fromfile\n    networks:\n      - name: f\n        vni: 8001\n';
    await sync.start({ text: yaml, mtimeMs: Date.now() + 1000, path: '/etc/vxflow/inventory.yaml' });
    sync.stop();
    const stored = await latestInventory(db());
    expect(stored?.author).toBe('file:/etc/vxflow/inventory.yaml');
    expect(JSON.parse(stored?.document ?? '{}').tenants[0].name).toBe('fromfile');
    expect(sync.version).toBe(stored?.version);
    // the same file again saves nothing new
    await sync.fileChanged(yaml, '/etc/vxflow/inventory.yaml');
    expect((await latestInventory(db()))?.version).toBe(stored?.version);
    await sync.fileChanged(yaml.replace('8001', '8002'), '/etc/vxflow/inventory.yaml');
    expect(JSON.parse((await latestInventory(db()))?.document ?? '{}').tenants[0].networks[0].vni).toBe(8002);
  });

  it('a stored version newer than the file wins at start', async () => {
    await saveInventory(db(), doc('newer', 9001), 'api');
    const r = recorder();
    const sync = createInventorySync({ ch: db(), pollMs: 60_000, onChange: r.onChange, log: quiet });
    await sync.start({ text: 'tenants: []\n', mtimeMs: Date.now() - 3_600_000, path: 'old.yaml' });
    sync.stop();
    expect(r.seen.at(-1)?.inv.byVni.get(9001)?.tenant.tenant).toBe('newer');
  });
});
