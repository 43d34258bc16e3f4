/**
 * The web UI in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core)
 * against a real dashboard and ClickHouse loaded with the API tests' known flows: logging in
 * as admin and as a tenant, every page rendered with its charts drawn and its numbers equal
 * to the fixture's, nothing of another tenant reaching a tenant's page or its responses,
 * filter errors at their position, the SQL console, views restored from the URL, no console
 * errors. Every page is saved to test/ui/screenshots/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rate, volume } from '../../dashboard/ui/src/format.ts';
import { expected, T0, T1 } from '../dashboard/fixture.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import {
  canvasInk,
  launchChromium,
  type PageGlobals,
  settled,
  startUiDashboard,
  type UiDashboard,
} from './harness.ts';

const root = resolve(import.meta.dirname, '../..');
const shots = join(import.meta.dirname, 'screenshots');
const RANGE = `from=${new Date(T0 * 1000).toISOString().replace('.000', '')}&to=${new Date(T1 * 1000).toISOString().replace('.000', '')}`;

const db = useTestClickHouse();
let ui: UiDashboard;
let browser: Browser;

beforeAll(async () => {
  // npm test builds the UI first; this makes `npx vitest run test/ui` work alone too (fast when built)
  execFileSync(process.execPath, [join(root, 'bin/build.js'), '--quiet'], { cwd: root, stdio: 'inherit' });
  mkdirSync(shots, { recursive: true });
  ui = await startUiDashboard(db());
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
});

interface Session {
  context: BrowserContext;
  page: Page;
  /** console errors and uncaught exceptions */
  errors: string[];
  /** bodies of every /api/ response the page received */
  bodies: string[];
}

async function session(width = 1280, height = 900): Promise<Session> {
  const context = await browser.newContext({
    viewport: { width, height },
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  const page = await context.newPage();
  const errors: string[] = [];
  const bodies: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('response', async (res) => {
    if (!res.url().includes('/api/')) return;
    try {
      bodies.push(await res.text());
    } catch {
      // a body that was not kept (a download, a redirect)
    }
  });
  return { context, page, errors, bodies };
}

async function loginWithForm(s: Session, token: string): Promise<void> {
  await s.page.goto(`${ui.url}/`);
  await s.page.locator('#token').fill(token);
  await s.page.getByRole('button', { name: 'Sign in' }).click();
  await s.page.locator('header.top [data-identity]').waitFor();
}

/** Waits until no card is loading and returns how many canvases have ink on them. */
async function settle(page: Page): Promise<void> {
  await page.waitForFunction(settled, undefined, { timeout: 20_000 });
}

async function canvases(page: Page): Promise<{ total: number; drawn: number }> {
  return page.evaluate(canvasInk);
}

async function visit(s: Session, hash: string, shot: string, opts: { errors?: boolean } = {}): Promise<void> {
  await s.page.goto(`${ui.url}/${hash}${hash.includes('?') ? '&' : '?'}${RANGE}`);
  await settle(s.page);
  if (!opts.errors)
    expect(
      await s.page.locator('.state.error').count(),
      `${hash}: ${await s.page.locator('.state.error').allTextContents()}`,
    ).toBe(0);
  await s.page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
}

const dataValue = async (page: Page, selector: string) =>
  Number(await page.locator(selector).first().getAttribute('data-value'));

const all = expected(() => true);
const acmeTotals = expected((f) => f.tenant === 'acme');
const globexTotals = expected((f) => f.tenant === 'globex');
const unassigned = expected((f) => f.tenant === '');

describe('admin', () => {
  let s: Session;
  beforeAll(async () => {
    s = await session();
    await loginWithForm(s, ui.tokens.admin);
  });
  afterAll(async () => {
    await s?.context.close();
  });

  it('signs in with the form and shows who is signed in', async () => {
    expect(await s.page.locator('header.top [data-identity]').getAttribute('data-identity')).toBe('admin');
    expect(s.page.url()).toContain('#/overview');
  });

  it('overview: traffic stacked by tenant drawn, totals equal the fixture and the API', async () => {
    await visit(s, '#/overview', 'admin-overview');
    expect(await canvases(s.page)).toEqual({ total: 1, drawn: 1 });
    expect(await dataValue(s.page, '[data-kpi="volume"] .kpi-value')).toBe(all.bytes);
    expect(await s.page.locator('[data-kpi="volume"] .kpi-value').textContent()).toBe(
      volume(all.bytes, 'bytes'),
    );
    expect(await dataValue(s.page, '#traffic [data-series="acme"]')).toBe(acmeTotals.bytes);
    expect(await dataValue(s.page, '#traffic [data-series="globex"]')).toBe(globexTotals.bytes);
    expect(await dataValue(s.page, '#traffic [data-series=""]')).toBe(unassigned.bytes);
    expect(await dataValue(s.page, '[data-kpi="unassigned"] .kpi-value')).toBe(unassigned.bytes);
    expect(await dataValue(s.page, '[data-kpi="tenants"] .kpi-value')).toBe(2);
    // the top tenants' rates are the API's own
    const api = await ui.app.inject({
      method: 'POST',
      url: '/api/v1/traffic/top',
      headers: { authorization: `Bearer ${ui.tokens.admin}` },
      payload: { start: T0, end: T1, unit: 'bps', dimensions: ['tenant'], limit: 10 },
    });
    const rows = api.json().rows as { key: string[]; rate: number }[];
    const shown = await s.page
      .locator('#top-tenants tbody tr td.num[data-value]')
      .evaluateAll((tds) => tds.map((td) => [td.textContent, Number(td.getAttribute('data-value'))]));
    for (const r of rows) expect(shown).toContainEqual([rate(r.rate, 'bps'), r.rate]);
    // the unassigned VNI is listed for the admin
    expect(await s.page.locator('#unassigned').textContent()).toContain('7777');
  });

  it('overview in packets/s: the unit follows the URL', async () => {
    await visit(s, '#/overview?unit=pps', 'admin-overview-pps');
    expect(await dataValue(s.page, '[data-kpi="volume"] .kpi-value')).toBe(all.packets);
    expect(await s.page.locator('[data-kpi="rate"] .kpi-value').textContent()).toMatch(/pps$/);
  });

  it('tenant page of acme: per-VNI chart, classes, matrix, VTEPs and inventory', async () => {
    await visit(s, '#/tenant/acme', 'admin-tenant-acme');
    expect(await canvases(s.page)).toEqual({ total: 2, drawn: 2 });
    expect(await dataValue(s.page, '[data-kpi="volume"] .kpi-value')).toBe(acmeTotals.bytes);
    const ew = expected((f) => f.tenant === 'acme' && f.traffic_class === 'east-west');
    expect(await dataValue(s.page, '[data-kpi="east-west"] .kpi-value')).toBeCloseTo(
      ew.bytes / acmeTotals.bytes,
      9,
    );
    expect(await s.page.locator('#matrix td.v').count()).toBeGreaterThan(0);
    const cell = s.page.locator('#matrix td[data-src="acme-web-1"][data-dst="acme-db-1"]');
    expect(Number(await cell.getAttribute('data-value'))).toBe(
      expected((f) => f.src_endpoint === 'acme-web-1' && f.dst_endpoint === 'acme-db-1').bytes,
    );
    expect(await s.page.locator('#vteps').textContent()).toContain('192.0.2.102');
    expect(await s.page.locator('#inventory-networks').textContent()).toContain('VNI 5002');
    expect(await s.page.locator('#endpoints').textContent()).toContain('acme-db-1');
  });

  it('the unassigned traffic has its own page for admins', async () => {
    await visit(s, '#/tenant/~unassigned', 'admin-tenant-unassigned');
    expect(await dataValue(s.page, '[data-kpi="volume"] .kpi-value')).toBe(unassigned.bytes);
  });

  it('explore: dimensions, unit, chart type and filter come back from the URL after a reload', async () => {
    await visit(
      s,
      `#/explore?dims=proto&unit=pps&chart=lines&filter=${encodeURIComponent('not proto icmp')}`,
      'admin-explore',
    );
    expect((await canvases(s.page)).drawn).toBe(1);
    const check = async () => {
      expect(await s.page.locator('.chip').allTextContents()).toEqual(['proto']);
      expect(await s.page.locator('.toolbar [aria-label="unit"] button.on').textContent()).toBe('pps');
      expect(await s.page.locator('[aria-label="chart type"] button.on').textContent()).toBe('Lines');
      expect(await s.page.locator('input.filter-input').inputValue()).toBe('not proto icmp');
      const names = await s.page
        .locator('#explore tbody tr[data-series]')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-series')));
      expect(names.sort()).toEqual(['TCP', 'UDP']);
    };
    await check();
    await s.page.reload();
    await settle(s.page);
    await check();
  });

  it('explore: a click on a series adds it to the filter', async () => {
    await visit(s, '#/explore?dims=network&chart=table', 'admin-explore-table');
    await s.page.locator('#explore tbody tr[data-series="acme-db"]').click();
    await s.page.waitForFunction(() =>
      (globalThis as unknown as PageGlobals).location.hash.includes('filter='),
    );
    await settle(s.page);
    expect(await s.page.locator('input.filter-input').inputValue()).toBe('network = acme-db');
    expect(
      await s.page
        .locator('#explore tbody tr[data-series]')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-series'))),
    ).toEqual(['acme-db']);
  });

  it('flows: a filter error is shown at its position; a good filter pages through the flows', async () => {
    await visit(s, '#/flows', 'admin-flows');
    const input = s.page.locator('input.filter-input');
    await input.fill('proto tcp and dst port https');
    await input.press('Enter');
    const err = s.page.locator('.filter-error[data-position]');
    await err.waitFor();
    expect(await err.getAttribute('data-position')).toBe('23');
    expect(await err.textContent()).toContain("at 23: expected a port number, got 'https'");
    expect(await s.page.locator('.filter-echo mark').textContent()).toBe('h');
    expect(await s.page.locator('.filter-echo').textContent()).toContain(`\n${' '.repeat(23)}^`);
    await s.page.screenshot({ path: join(shots, 'admin-flows-filter-error.png'), fullPage: false });
    expect(s.page.url()).not.toContain('https');
    await input.fill('proto udp and vni 5002');
    await input.press('Enter');
    await s.page.waitForFunction(() =>
      (globalThis as unknown as PageGlobals).location.hash.includes('filter='),
    );
    await settle(s.page);
    const n = expected((f) => f.proto === 17 && f.vni === 5002).flows;
    expect(await s.page.locator('#flows tbody tr').count()).toBe(n);
    expect(await s.page.locator('.filter-error').count()).toBe(0);
    const csv = await s.page.locator('a[download="flows.csv"]').getAttribute('href');
    expect(csv).toContain('format=csv');
    expect(csv).toContain(encodeURIComponent('proto udp and vni 5002').replace(/%20/g, '+'));
  });

  it('flows: the next page comes from the cursor', async () => {
    await visit(s, '#/flows?limit=50', 'admin-flows-page1');
    const first = await s.page.locator('#flows tbody tr').first().textContent();
    await s.page.getByRole('button', { name: 'Older' }).click();
    await s.page.waitForFunction(() =>
      (globalThis as unknown as PageGlobals).document
        .querySelector('#flows .card-actions')
        ?.textContent?.includes('page 2'),
    );
    await settle(s.page);
    expect(await s.page.locator('#flows tbody tr').count()).toBe(50);
    expect(await s.page.locator('#flows tbody tr').first().textContent()).not.toBe(first);
  });

  it('SQL console: Ctrl-Enter runs the query, the rows and a chart are shown', async () => {
    await visit(s, '#/sql', 'admin-sql-empty');
    const editor = s.page.locator('.cm-content');
    await editor.click();
    await s.page.keyboard.press('Control+A');
    await s.page.keyboard.type('SELECT tenant, count() AS n FROM flows GROUP BY tenant ORDER BY tenant');
    await s.page.keyboard.press('Control+Enter');
    await s.page.locator('table.sql-rows').waitFor();
    const rows = await s.page
      .locator('table.sql-rows tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['', String(unassigned.flows)],
      ['acme', String(acmeTotals.flows)],
      ['globex', String(globexTotals.flows)],
    ]);
    expect(s.page.url()).toContain('q=SELECT');
    await s.page.screenshot({ path: join(shots, 'admin-sql.png'), fullPage: true });
    // a time column and numbers: a chart too, and the query is in the URL after a reload
    await visit(
      s,
      `#/sql?q=${encodeURIComponent('SELECT toStartOfHour(time) AS t, tenant, sum(bytes * sampling_rate) AS b FROM flows_1h GROUP BY t, tenant ORDER BY t')}`,
      'admin-sql-chart',
    );
    await s.page.locator('table.sql-rows').waitFor();
    expect(await s.page.locator('table.sql-rows tbody tr').count()).toBe(72);
    expect((await canvases(s.page)).drawn).toBe(1);
    await s.page.screenshot({ path: join(shots, 'admin-sql-chart.png'), fullPage: true });
  });

  it('SQL console: an error is shown in place', async () => {
    // its own session: the 400 it provokes is logged by Chromium itself
    const e = await session();
    try {
      await e.page.goto(`${ui.url}/#login=${ui.tokens.admin}`);
      await e.page.locator('header.top [data-identity]').waitFor();
      await visit(e, `#/sql?q=${encodeURIComponent('SELECT nosuchcolumn FROM flows')}`, 'admin-sql-error', {
        errors: true,
      });
      await e.page.locator('.sql-error').waitFor();
      expect(await e.page.locator('.sql-error').textContent()).toMatch(/nosuchcolumn/i);
      await e.page.screenshot({ path: join(shots, 'admin-sql-error.png'), fullPage: true });
      expect(e.errors.filter((x) => !x.includes('400'))).toEqual([]);
    } finally {
      await e.context.close();
    }
  });

  it('exporters and inventory render', async () => {
    await visit(s, '#/exporters', 'admin-exporters');
    expect((await canvases(s.page)).drawn).toBe(1);
    await visit(s, '#/inventory', 'admin-inventory');
    expect(await s.page.locator('[data-tenant]').count()).toBe(2);
    expect(await s.page.getByRole('button', { name: 'Edit as YAML' }).count()).toBe(1);
  });

  it('an admin edits a tenant in the inventory form', async () => {
    await visit(s, '#/inventory', 'admin-inventory');
    await s.page.locator('[data-tenant="acme"]').getByRole('button', { name: 'Edit' }).click();
    const form = s.page.locator('.inv-tenant.editing');
    await form.locator('input[aria-label="subnet name"]').first().fill('acme-web-renamed');
    await form.getByRole('button', { name: 'Save' }).click();
    await s.page.locator('.notice.ok').waitFor();
    expect(await s.page.locator('[data-tenant="acme"]').textContent()).toContain('acme-web-renamed');
    await s.page.screenshot({ path: join(shots, 'admin-inventory-saved.png'), fullPage: true });
    // a refused edit (an overlapping subnet inside one VNI) says why, in place
    await s.page.locator('[data-tenant="acme"]').getByRole('button', { name: 'Edit' }).click();
    await form.locator('input[aria-label="CIDR"]').first().fill('not-a-cidr');
    const before = s.errors.length;
    await form.getByRole('button', { name: 'Save' }).click();
    await form.locator('.notice.bad').waitFor();
    expect(await form.locator('.notice.bad').textContent()).toMatch(/cidr|subnet/i);
    await s.page.screenshot({ path: join(shots, 'admin-inventory-refused.png'), fullPage: true });
    // Chromium logs the refused PUT (400) itself: that one is expected
    expect(s.errors.splice(before)).toEqual([expect.stringContaining('status of 400')]);
  });

  it('the controls are reachable with the keyboard', async () => {
    await visit(s, '#/overview', 'admin-overview');
    const reached: string[] = [];
    await s.page.locator('body').click({ position: { x: 1, y: 1 } });
    for (let i = 0; i < 80; i++) {
      await s.page.keyboard.press('Tab');
      reached.push(
        await s.page.evaluate(() => {
          const a = (globalThis as unknown as PageGlobals).document.activeElement;
          return a ? `${a.tagName}:${(a.textContent ?? '').trim()}` : '';
        }),
      );
    }
    expect(reached).toContain('A:Explore');
    expect(reached).toContain('BUTTON:24h');
    expect(reached).toContain('BUTTON:pps');
  });

  it('is usable on a phone: nothing wider than the screen', async () => {
    const phone = await session(390, 844);
    try {
      await phone.page.goto(`${ui.url}/#login=${ui.tokens.admin}`);
      await phone.page.locator('header.top [data-identity]').waitFor();
      for (const [hash, name] of [
        ['#/overview', 'phone-overview'],
        ['#/tenant/acme', 'phone-tenant'],
      ]) {
        await visit(phone, hash, name);
        const { scroll, width } = await phone.page.evaluate(() => {
          const g = globalThis as unknown as PageGlobals;
          return { scroll: g.document.documentElement.scrollWidth, width: g.innerWidth };
        });
        expect(scroll, name).toBeLessThanOrEqual(width);
      }
      expect(phone.errors).toEqual([]);
    } finally {
      await phone.context.close();
    }
  });

  it('signs out: the session ends and the login page is back', async () => {
    await visit(s, '#/overview', 'admin-overview');
    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await s.page.locator('#token').waitFor();
    const me = await s.page.evaluate(() => fetch('/api/v1/me').then((r) => r.status));
    expect(me).toBe(401);
    // the 401 just made on purpose is the only console error this session may have
    expect(s.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});

describe('tenant', () => {
  let s: Session;
  beforeAll(async () => {
    s = await session();
  });
  afterAll(async () => {
    await s?.context.close();
  });

  it('signs in through the #login= link, which leaves the address bar at once', async () => {
    await s.page.goto(`${ui.url}/#login=${ui.tokens.acme}`);
    await s.page.locator('header.top [data-identity]').waitFor();
    expect(s.page.url()).not.toContain(ui.tokens.acme);
    expect(await s.page.evaluate(() => (globalThis as unknown as PageGlobals).location.href)).not.toContain(
      'login=',
    );
    expect(await s.page.locator('header.top [data-identity]').getAttribute('data-identity')).toBe(
      'tenant acme',
    );
    // a tenant's home is its own page; no overview of everyone
    expect(s.page.url()).toContain('#/tenant');
    expect(await s.page.locator('nav.tabs').textContent()).not.toContain('Tenants');
  });

  it('every page renders with its own numbers, and nothing of another tenant anywhere', async () => {
    await visit(s, '#/tenant', 'tenant-overview');
    expect(await canvases(s.page)).toEqual({ total: 2, drawn: 2 });
    expect(await dataValue(s.page, '[data-kpi="volume"] .kpi-value')).toBe(acmeTotals.bytes);
    // an admin's URL opened by a tenant: still its own tenant only
    await visit(s, '#/overview', 'tenant-overview-redirect');
    expect(s.page.url()).toContain('#/tenant');
    await visit(s, '#/tenant/globex', 'tenant-other-tenant-url');
    expect(await dataValue(s.page, '[data-kpi="volume"] .kpi-value')).toBe(acmeTotals.bytes);
    await visit(s, '#/explore?dims=tenant,network', 'tenant-explore');
    expect((await canvases(s.page)).drawn).toBe(1);
    await visit(s, '#/flows', 'tenant-flows');
    expect(await s.page.locator('#flows tbody tr').count()).toBe(100);
    await visit(s, '#/exporters', 'tenant-exporters');
    // another tenant's alert rule exists: the tenant's alerts page shows its own rule only
    for (const [token, name] of [
      [ui.tokens.globex, 'globex secret rule'],
      [ui.tokens.acme, 'acme traffic rule'],
    ]) {
      const made = await fetch(`${ui.url}/api/v1/alerts/rules`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          scope: {},
          measure: 'bps',
          condition: { type: 'threshold', op: 'above', value: 1e12 },
          windowSeconds: 3600,
          intervalSeconds: 60,
          targets: [],
        }),
      });
      expect(made.status, await made.clone().text()).toBe(201);
    }
    await visit(s, '#/alerts', 'tenant-alerts');
    await s.page.getByText('acme traffic rule').first().waitFor();
    expect(await s.page.content()).not.toContain('globex secret rule');
    await visit(s, '#/inventory', 'tenant-inventory');
    expect(await s.page.locator('[data-tenant]').count()).toBe(1);
    expect(await s.page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    await visit(
      s,
      `#/sql?q=${encodeURIComponent('SELECT tenant, count() AS n FROM flows GROUP BY tenant')}`,
      'tenant-sql',
    );
    await s.page.locator('table.sql-rows').waitFor();
    expect(await s.page.locator('table.sql-rows tbody td').allTextContents()).toEqual([
      'acme',
      String(acmeTotals.flows),
    ]);
    await s.page.screenshot({ path: join(shots, 'tenant-sql.png'), fullPage: true });
    // open every table of the SQL page's list (their columns come from the API)
    for (const d of await s.page.locator('.tables-list details').all()) await d.locator('summary').click();
    await s.page.waitForFunction(
      () =>
        !Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('.tables-list li')).some(
          (li) => li.textContent === 'loading…',
        ),
    );

    const html = await s.page.content();
    for (const forbidden of ['globex', '10.9.9.9', '6001']) {
      expect(html, `DOM contains ${forbidden}`).not.toContain(forbidden);
      for (const body of s.bodies) expect(body, `a response contains ${forbidden}`).not.toContain(forbidden);
    }
    expect(s.bodies.length).toBeGreaterThan(20);
    expect(s.errors).toEqual([]);
  });

  it('the bundle names no tenant', () => {
    const dir = join(root, 'dist/ui/assets');
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const name of ['acme', 'globex']) expect(text, `${f} names ${name}`).not.toContain(name);
    }
  });
});

describe('sign-in errors', () => {
  it('a wrong token is refused in place, with no console error but the 401', async () => {
    const s = await session();
    try {
      await s.page.goto(`${ui.url}/`);
      await s.page.locator('#token').fill('vxf_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      await s.page.getByRole('button', { name: 'Sign in' }).click();
      await s.page.locator('.login-error').waitFor();
      expect(await s.page.locator('.login-error').textContent()).toContain('not valid');
      await s.page.screenshot({ path: join(shots, 'login-error.png') });
      expect(s.errors.filter((e) => !e.includes('401'))).toEqual([]);
    } finally {
      await s.context.close();
    }
  });
});
