import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../storage/src/server.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vxflow-demo-'));
const database = `demo_${process.pid}`;

afterAll(async () => {
  await fetch(
    `${inject('clickhouseUrl')}/?query=${encodeURIComponent(`DROP DATABASE IF EXISTS ${database}`)}`,
    {
      method: 'POST',
    },
  );
  rmSync(dir, { recursive: true, force: true });
});

describe('vxflow demo (what npm start runs)', () => {
  it('runs the simulated cloud through exporter and collector into ClickHouse, per tenant', async () => {
    const port = await freePort();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_')));
    const child = spawn(
      process.execPath,
      [
        join(root, 'bin/vxflow.js'),
        'demo',
        '--duration',
        '12',
        '--interval',
        '6',
        '--rate',
        '400',
        '--port',
        String(port),
      ],
      {
        cwd: dir,
        env: {
          ...clean,
          CLICKHOUSE_URL: inject('clickhouseUrl'),
          VXFLOW_CLICKHOUSE_DATABASE: database,
          VXFLOW_COLLECTOR_METRICS_LISTEN: '',
        },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code, err).toBe(0);
    expect(out).toContain('traffic since the demo started');
    // six simulated tenants, every one of them attributed (no unassigned row)
    for (const tenant of ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'])
      expect(out).toContain(`'${tenant}'`);
    expect(out).not.toContain('(unassigned)');
    const r = await fetch(
      `${inject('clickhouseUrl')}/?query=${encodeURIComponent(
        `SELECT uniqExact(tenant), uniqExact(vni), count() FROM ${database}.flows FORMAT TSV`,
      )}`,
    );
    const [tenants, vnis, flows] = (await r.text()).trim().split('\t').map(Number);
    expect(tenants).toBe(6);
    expect(vnis).toBeGreaterThanOrEqual(6);
    expect(flows).toBeGreaterThan(500);
  }, 90_000);
});
