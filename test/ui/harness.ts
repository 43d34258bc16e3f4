/**
 * A real dashboard for the browser tests: the app on a loopback port over a ClickHouse
 * database loaded with the API tests' known flows (test/dashboard/fixture.ts), an inventory
 * that names the fixture's networks, subnets and endpoints, and one token per role.
 */
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { createTokenStore } from '../../dashboard/src/auth/tokens.ts';
import { DashboardConfig } from '../../dashboard/src/config.ts';
import { buildDashboardApp } from '../../dashboard/src/server.ts';
import type { ClickHouse } from '../../storage/src/clickhouse.ts';
import { loadFixture } from '../dashboard/fixture.ts';

export interface UiDashboard {
  url: string;
  app: FastifyInstance;
  tokens: { admin: string; acme: string; globex: string };
  close(): Promise<void>;
}

/** The inventory of the fixture's two tenants (the unassigned VNI 7777 is in nobody's). */
export const FIXTURE_INVENTORY = {
  tenants: [
    {
      name: 'acme',
      networks: [
        {
          name: 'acme-web',
          vni: 5001,
          subnets: [
            {
              name: 'acme-web-net',
              cidr: '10.0.0.0/24',
              ports: [
                { name: 'acme-web-1', ip: '10.0.0.1' },
                { name: 'acme-web-2', ip: '10.0.0.2' },
              ],
            },
          ],
        },
        {
          name: 'acme-db',
          vni: 5002,
          subnets: [
            { name: 'acme-db-net', cidr: '10.0.1.0/24', ports: [{ name: 'acme-db-1', ip: '10.0.1.5' }] },
          ],
        },
      ],
    },
    {
      name: 'globex',
      networks: [
        {
          name: 'globex-web',
          vni: 6001,
          subnets: [
            {
              name: 'globex-net',
              cidr: '10.0.0.0/23',
              ports: [
                { name: 'globex-app-1', ip: '10.0.0.1' },
                { name: 'globex-app-2', ip: '10.0.1.5' },
              ],
            },
            {
              name: 'globex-v6',
              cidr: '2001:db8:6001::/64',
              ports: [{ name: 'globex-v6-1', ip: '2001:db8:6001::10' }],
            },
          ],
        },
      ],
    },
  ],
};

export async function startUiDashboard(
  ch: ClickHouse,
  opts: { fixture?: boolean } = {},
): Promise<UiDashboard> {
  if (opts.fixture !== false) await loadFixture(ch);
  const config = Value.Default(DashboardConfig, {}) as DashboardConfig;
  config.rateLimit.perMinute = 100_000;
  config.rateLimit.sqlPerMinute = 10_000;
  const app = await buildDashboardApp({ ch, config });
  const store = createTokenStore(ch);
  const tokens = {
    admin: (await store.create({ role: 'admin', name: 'ops' })).token,
    acme: (await store.create({ role: 'tenant', tenant: 'acme', name: 'acme-ui' })).token,
    globex: (await store.create({ role: 'tenant', tenant: 'globex', name: 'globex-ui' })).token,
  };
  const res = await app.inject({
    method: 'PUT',
    url: '/api/v1/inventory',
    headers: { authorization: `Bearer ${tokens.admin}` },
    payload: { version: null, ...FIXTURE_INVENTORY },
  });
  if (res.statusCode !== 200) throw new Error(`PUT /api/v1/inventory: ${res.statusCode} ${res.body}`);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: address, app, tokens, close: () => app.close() };
}

/**
 * Debian's Chromium under playwright-core (browser downloads fail here), headless, with the
 * flags DESIGN.md lists; playwright gives every launch a fresh temporary profile directory
 * (its own --user-data-dir) and removes it on close.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// Code that runs in the page. The Node program has no DOM types, so the few browser globals
// the checks use are typed here; the functions are sent to the page as their source text
// (functions, not strings: the UI's Content-Security-Policy forbids evaluating strings).

export interface PageElement {
  tagName: string;
  textContent: string | null;
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
export interface PageGlobals {
  document: {
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
    activeElement: PageElement | null;
    documentElement: { scrollWidth: number };
  };
  location: { hash: string; href: string };
  innerWidth: number;
}

/** true once the page has rendered and no card is loading */
export function settled(): boolean {
  const { document } = globalThis as unknown as PageGlobals;
  return (
    document.querySelector('main.page[data-rendered]') !== null &&
    document.querySelectorAll('.card[aria-busy="true"], .state.loading').length === 0
  );
}

/** the canvases on the page, and how many have ink on more than 1 % of their pixels */
export function canvasInk(): { total: number; drawn: number } {
  const { document } = globalThis as unknown as PageGlobals;
  const list = Array.from(document.querySelectorAll('canvas')) as unknown as PageCanvas[];
  let drawn = 0;
  for (const c of list) {
    const ctx = c.getContext('2d');
    if (!ctx || c.width === 0 || c.height === 0) continue;
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
    if (ink > (c.width * c.height) / 100) drawn++;
  }
  return { total: list.length, drawn };
}
