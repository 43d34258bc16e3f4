/**
 * The tenant inventory loader against careless input (issue 9, item 7): unknown keys are
 * refused like in the main configuration, overlapping subnets of different tenants are
 * reported, and an empty file written while the collector runs does not replace the
 * inventory (every later flow lost its tenant). Before: `netwrks:` loaded silently, overlaps
 * said nothing, and the empty file was taken as "no tenants".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../collector/src/enrich/inventory.ts';
import { watchInventory } from '../../collector/src/enrich/inventory-watcher.ts';
import { tempDir, waitFor } from './harness.ts';

const GOOD =
  'tenants:\n  - name: red\n    networks:\n      - name: n\n        vni: 5\n        subnets: [{ cidr: 10.0.0.0/16 }]\n';

describe('inventory hardening', () => {
  it('refuses unknown keys, naming them', () => {
    const r = parseInventory('tenants:\n  - name: red\n    netwrks: []\n');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('/tenants/0');
      expect(r.reason).toContain('unknown key');
      expect(r.reason).toContain('networks');
    }
  });

  it('reports subnets of different tenants that overlap', () => {
    const r = parseInventory(
      'tenants:\n' +
        '  - { name: red, networks: [{ name: a, subnets: [{ cidr: 10.0.0.0/16 }] }] }\n' +
        '  - { name: blue, networks: [{ name: b, subnets: [{ cidr: 10.0.5.0/24 }] }] }\n' +
        // the same overlay subnet in two tenants is normal (the VNI tells them apart)
        '  - { name: green, networks: [{ name: g, vni: 7, subnets: [{ cidr: 192.168.0.0/24 }] }] }\n' +
        '  - { name: pink, networks: [{ name: p, vni: 8, subnets: [{ cidr: 192.168.0.0/24 }] }] }\n',
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toContain('10.0.5.0/24 (blue) lies inside 10.0.0.0/16 (red)');
    }
  });

  it('keeps the inventory when the file is emptied while running, and takes the next real one', async () => {
    const dir = tempDir('inv-empty');
    const file = join(dir.path, 'inventory.yaml');
    writeFileSync(file, GOOD);
    const changes: number[] = [];
    const errors: string[] = [];
    const w = watchInventory({
      file,
      checkMs: 100,
      onChange: (inv) => changes.push(inv.tenants),
      log: { info: () => {}, warn: () => {}, error: (_o, msg) => errors.push(msg) },
    });
    try {
      writeFileSync(file, '');
      await waitFor(
        'the empty file refused',
        () => errors.length,
        (n) => n > 0,
      );
      expect(changes).toEqual([]);
      writeFileSync(file, `${GOOD}  - name: blue\n`);
      await waitFor(
        'the next file taken',
        () => changes.length,
        (n) => n > 0,
      );
      expect(changes).toEqual([2]);
    } finally {
      w.stop();
      dir.remove();
    }
  });
});
