import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../storage/src/server.ts';
import { launchChromium } from '../ui/harness.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vxflow-demo-'));
const database = `demo_${process.pid}`;
const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'];

afterAll(async () => {
  await fetch(
    `${inject('clickhouseUrl')}/?query=${encodeURIComponent(`DROP DATABASE IF EXISTS ${database}`)}`,
    {
      method: 'POST',
    },
  );
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves with stdout once `pattern` is in it (rejects when the process exits first). */
function waitFor(
  child: ChildProcessWithoutNullStreams,
  out: () => string,
  pattern: RegExp,
  ms: number,
): Promise<string> {
  return new Promise((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`no ${pattern} within ${ms} ms; stdout so far:\n${out()}`)),
      ms,
    );
    const check = () => {
      if (pattern.test(out())) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        res(out());
      }
    };
    child.stdout.on('data', check);
    child.once('exit', () => rej(new Error(`the demo exited before ${pattern}:\n${out()}`)));
    check();
  });
}

describe('vxflow demo (what npm start runs)', () => {
  it('prints the dashboard and a sign-in link first; the browser sees live tenants on the overview within 30 s; one heartbeat line per interval; totals per tenant at the end', async () => {
    const port = await freePort();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_')));
    const child = spawn(
      process.execPath,
      [
        join(root, 'bin/vxflow.js'),
        'demo',
        '--duration',
        '45',
        '--interval',
        '5',
        '--rate',
        '400',
        '--port',
        String(port),
        '--dashboard',
        '127.0.0.1:0',
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
    const exited = new Promise<number | null>((res) => child.on('exit', res));

    await waitFor(child, () => out, /^sign in .*\n/m, 60_000);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^dashboard\s+http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[1]).toMatch(/^admin token\s+vxf_[0-9a-f]{16}_\S{43}$/);
    expect(lines[2]).toMatch(/^tenant token\s+vxf_[0-9a-f]{16}_\S{43}\s+\(tenant \w+\)$/);
    const link = /^sign in\s+(\S+)$/m.exec(out)?.[1] ?? '';
    const adminToken = lines[1].split(/\s+/)[2];
    expect(link).toContain(`#login=${adminToken}`);

    const browser = await launchChromium();
    const errors: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const opened = Date.now();
      await page.goto(link);
      await page.locator('header.top [data-identity="admin"]').waitFor({ timeout: 15_000 });
      expect(page.url()).not.toContain(adminToken);
      expect(page.url()).toContain('#/overview');
      // live tenants in the top-tenants card; the view the link opens refreshes every 10 s
      let seen: string[] = [];
      while (Date.now() - opened < 30_000) {
        seen = await page
          .locator('#top-tenants tbody tr td:first-child')
          .allTextContents()
          .catch(() => []);
        if (seen.some((t) => TENANTS.includes(t))) break;
        await page.waitForTimeout(1000);
      }
      const waited = Date.now() - opened;
      expect(
        seen.filter((t) => TENANTS.includes(t)).length,
        `after ${waited} ms: ${seen.join(', ')}`,
      ).toBeGreaterThan(0);
      expect(waited).toBeLessThan(30_000);
      expect(await page.locator('#traffic canvas').count()).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }

    const code = await exited;
    expect(code, err).toBe(0);
    // the heartbeat: one line each interval
    expect(out).toMatch(
      /^\d\d:\d\d:\d\d {2}[\d,]+ flows stored \(\d+\/s\), .*, 6 tenants, \d+ overlay networks$/m,
    );
    expect(out).toContain('totals of this run');
    // six simulated tenants, every one of them attributed (no unassigned row)
    for (const tenant of TENANTS) expect(out).toContain(`'${tenant}'`);
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
    // the dashboard stopped with the demo
    const me = await fetch(`${lines[0].split(/\s+/)[1]}/api/v1/me`, {
      headers: { authorization: `Bearer ${adminToken}` },
    }).catch(() => null);
    expect(me).toBeNull();
  }, 150_000);
});
