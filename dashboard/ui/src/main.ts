/**
 * The shell: log in (a token, or the demo's one-time `#login=TOKEN` link, which leaves the
 * address bar at once), then the header with the identity, the navigation, the time range,
 * unit and refresh controls, and the page the URL names.
 */
import './style.css';
import { api, ApiError, get, type Identity, type Schema, setUnauthorizedHandler } from './api.ts';
import { fill, h, icon, ICONS } from './dom.ts';
import { dateTime, localInput } from './format.ts';
import { alertsPage } from './pages/alerts.ts';
import { explorePage } from './pages/explore.ts';
import { exportersPage } from './pages/exporters.ts';
import { flowsPage } from './pages/flows.ts';
import { inventoryPage } from './pages/inventory.ts';
import { overviewPage } from './pages/overview.ts';
import { tenantPage } from './pages/tenant.ts';
import {
  DEFAULTS,
  formatHash,
  link,
  param,
  parseHash,
  PRESETS,
  type Route,
  rangeOf,
  resolveTime,
  unitOf,
} from './state.ts';
import { type Page, type PageCtx, segmented } from './ui.ts';

const app = document.getElementById('app')!;

const PAGES: Record<string, Page> = {
  overview: overviewPage,
  tenant: tenantPage,
  explore: explorePage,
  flows: flowsPage,
  // the SQL console brings CodeMirror: loaded when the page is opened, not with the overview
  sql: {
    title: 'SQL',
    async render(root, ctx) {
      const { sqlPage } = await import('./pages/sql.ts');
      return sqlPage.render(root, ctx);
    },
  },
  exporters: exportersPage,
  alerts: alertsPage,
  inventory: inventoryPage,
};

/** pages that do not use the time range */
const NO_RANGE = new Set(['sql', 'inventory']);

let me: Identity | null = null;
let schemaPromise: Promise<Schema> | null = null;
let current: PageCtx | null = null;
let refreshTimer = 0;

function homeFor(who: Identity): string {
  return who.role === 'admin' ? 'overview' : 'tenant';
}

// ---------- login ----------

function loginPage(message?: string): void {
  stopPage();
  document.title = 'Sign in · vxflow';
  const input = h('input', {
    id: 'token',
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: 'vxf_…',
    'aria-describedby': 'login-msg',
  });
  const msg = h(
    'p',
    { id: 'login-msg', class: message ? 'login-error' : 'hint', role: message ? 'alert' : null },
    message ?? '',
  );
  const button = h('button', { type: 'submit', class: 'btn primary wide' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'login-card',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.setAttribute('disabled', '');
        try {
          await logIn(input.value.trim());
        } catch (err) {
          msg.className = 'login-error';
          msg.setAttribute('role', 'alert');
          msg.textContent = (err as Error).message;
          button.removeAttribute('disabled');
          input.focus();
          input.select();
        }
      },
    },
    h('div', { class: 'brand big' }, logo(), h('span', null, 'vxflow')),
    h('p', { class: 'login-lead' }, 'Overlay flow telemetry, per tenant.'),
    h('label', { for: 'token' }, 'Access token'),
    input,
    msg,
    button,
    h(
      'p',
      { class: 'hint small' },
      'Admins and tenants each have their own token: ',
      h('code', null, 'vxflow token create --tenant NAME'),
      '. The demo prints a sign-in link.',
    ),
  );
  fill(app, h('main', { class: 'login' }, form));
  input.focus();
}

async function logIn(token: string): Promise<void> {
  if (!token) throw new Error('enter a token');
  try {
    const r = await api<{ identity: Identity }>('POST', '/api/v1/session', { token });
    me = r.identity;
    localStorage.setItem('vxflow.me', JSON.stringify(me));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      throw new Error('This token is not valid (unknown, revoked or expired).');
    throw err;
  }
  const wanted = sessionStorage.getItem('vxflow.after-login');
  sessionStorage.removeItem('vxflow.after-login');
  const r = parseHash(wanted ?? '');
  history.replaceState(
    null,
    '',
    `${location.pathname}${r.page && PAGES[r.page] ? wanted : `#/${homeFor(me)}`}`,
  );
  route();
}

async function logOut(): Promise<void> {
  try {
    await api('DELETE', '/api/v1/session');
  } finally {
    me = null;
    localStorage.removeItem('vxflow.me');
    schemaPromise = null;
    history.replaceState(null, '', `${location.pathname}#/`);
    loginPage('Signed out.');
  }
}

setUnauthorizedHandler(() => {
  localStorage.removeItem('vxflow.me');
  if (!me) return;
  me = null;
  loginPage('Your session has ended; sign in again.');
});

// ---------- shell ----------

function logo(): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 32 32');
  svg.setAttribute('class', 'logo');
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML =
    "<rect width='32' height='32' rx='7' fill='currentColor'/><path d='M6 21l6-10 5 7 4-5 5 8' stroke='white' stroke-width='3' fill='none' stroke-linecap='round' stroke-linejoin='round'/>";
  return svg;
}

function header(r: Route, who: Identity): HTMLElement {
  const items: [string, string][] =
    who.role === 'admin'
      ? [
          ['overview', 'Overview'],
          ['tenant', 'Tenants'],
          ['explore', 'Explore'],
          ['flows', 'Flows'],
          ['sql', 'SQL'],
          ['exporters', 'Exporters'],
          ['alerts', 'Alerts'],
          ['inventory', 'Inventory'],
        ]
      : [
          ['tenant', 'Overview'],
          ['explore', 'Explore'],
          ['flows', 'Flows'],
          ['sql', 'SQL'],
          ['exporters', 'Exporters'],
          ['alerts', 'Alerts'],
          ['inventory', 'Inventory'],
        ];
  const whoText = who.role === 'admin' ? 'admin' : `tenant ${who.tenant}`;
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: link(homeFor(who), '', r) }, logo(), h('span', null, 'vxflow')),
    h(
      'nav',
      { class: 'tabs', 'aria-label': 'pages' },
      items.map(([page, label]) =>
        h(
          'a',
          {
            href: link(page, page === 'tenant' && r.page === 'tenant' ? r.arg : '', r),
            class: r.page === page ? 'on' : '',
            'aria-current': r.page === page ? 'page' : null,
          },
          label,
        ),
      ),
    ),
    h(
      'div',
      { class: 'who' },
      h(
        'span',
        {
          class: `role ${who.role}`,
          'data-identity': whoText,
          title: `token ${who.tokenId}${who.name ? ` (${who.name})` : ''}`,
        },
        h('b', null, whoText),
        who.name ? h('span', null, who.name) : null,
      ),
      h(
        'button',
        { type: 'button', class: 'btn ghost', onclick: () => void logOut(), title: 'Sign out' },
        icon(ICONS.logout),
        h('span', { class: 'hide-sm' }, 'Sign out'),
      ),
    ),
  );
}

function setParams(
  r: Route,
  params: Record<string, string | null>,
  opts: { push?: boolean; arg?: string; page?: string } = {},
): void {
  const p = new URLSearchParams(r.params);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === DEFAULTS[k]) p.delete(k);
    else p.set(k, v);
  }
  const hash = formatHash({ page: opts.page ?? r.page, arg: opts.arg ?? r.arg, params: p });
  if (opts.push) history.pushState(null, '', hash);
  else history.replaceState(null, '', hash);
  route();
}

function toolbar(r: Route, live: boolean): HTMLElement {
  const from = param(r, 'from');
  const to = param(r, 'to');
  const isPreset = to === 'now' && PRESETS.some((p) => p.from === from);
  const range = rangeOf(r);
  const start = h('input', { type: 'datetime-local', 'aria-label': 'from', value: localInput(range.start) });
  const end = h('input', { type: 'datetime-local', 'aria-label': 'to', value: localInput(range.end) });
  const custom = h(
    'form',
    {
      class: `custom-range ${isPreset ? 'hidden' : ''}`,
      onsubmit: (e: Event) => {
        e.preventDefault();
        const s = resolveTime(new Date(start.value).toISOString());
        const en = resolveTime(new Date(end.value).toISOString());
        if (s === null || en === null || s >= en) {
          start.setCustomValidity('the start must be before the end');
          start.reportValidity();
          return;
        }
        setParams(
          r,
          {
            from: new Date(s * 1000).toISOString().replace('.000', ''),
            to: new Date(en * 1000).toISOString().replace('.000', ''),
            refresh: null,
          },
          { push: true },
        );
      },
    },
    start,
    h('span', { class: 'muted' }, '→'),
    end,
    h('button', { type: 'submit', class: 'btn' }, 'Apply'),
  );
  const presets = h(
    'div',
    { class: 'seg', role: 'group', 'aria-label': 'time range' },
    PRESETS.map((p) =>
      h(
        'button',
        {
          type: 'button',
          class: isPreset && p.from === from ? 'on' : '',
          'aria-pressed': isPreset && p.from === from ? 'true' : 'false',
          onclick: () => setParams(r, { from: p.from, to: 'now' }, { push: true }),
        },
        p.label,
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        class: isPreset ? '' : 'on',
        'aria-pressed': isPreset ? 'false' : 'true',
        'aria-expanded': isPreset ? 'false' : 'true',
        onclick: () => {
          custom.classList.toggle('hidden');
          bar.querySelector('.range-text')?.classList.toggle('hidden');
        },
      },
      'Custom',
    ),
  );
  const refreshSel = h(
    'select',
    {
      'aria-label': 'auto-refresh',
      title: live ? 'auto-refresh' : 'auto-refresh needs a range that ends now',
      disabled: !live,
      onchange: (e: Event) => setParams(r, { refresh: (e.target as HTMLSelectElement).value }),
    },
    [
      ['0', 'Off'],
      ['10', '10 s'],
      ['30', '30 s'],
      ['60', '1 min'],
      ['300', '5 min'],
    ].map(([v, l]) => h('option', { value: v, selected: param(r, 'refresh') === v }, l)),
  );
  const bar = h(
    'div',
    { class: 'toolbar' },
    h('div', { class: 'tb-group' }, presets, custom),
    h(
      'div',
      { class: 'tb-group right' },
      h(
        'span',
        { class: `range-text muted ${isPreset ? '' : 'hidden'}`, title: 'the range shown' },
        `${dateTime(range.start).slice(0, 16)} – ${dateTime(range.end).slice(0, 16)}`,
      ),
      segmented(
        'unit',
        [
          { value: 'bps', label: 'bps' },
          { value: 'pps', label: 'pps' },
          { value: 'fps', label: 'flows/s' },
        ],
        unitOf(r),
        (u) => setParams(r, { unit: u }),
      ),
      h('label', { class: 'refresh' }, icon(ICONS.refresh), refreshSel),
      h(
        'button',
        {
          type: 'button',
          class: 'btn ghost icon-only',
          title: 'Refresh now',
          'aria-label': 'Refresh now',
          onclick: () => refreshNow(),
        },
        icon(ICONS.refresh),
      ),
    ),
  );
  return bar;
}

function stopPage(): void {
  clearInterval(refreshTimer);
  if (!current) return;
  for (const fn of current.cleanup) fn();
  current = null;
}

function refreshNow(): void {
  if (!current) return;
  current.range = rangeOf(current.route);
  cache.clear();
  for (const run of current.cards) run();
}

const cache = new Map<string, Promise<unknown>>();

function route(): void {
  const r = parseHash();
  if (!me) return;
  if (!r.page || !PAGES[r.page] || (r.page === 'overview' && me.role !== 'admin')) {
    history.replaceState(null, '', link(homeFor(me), '', r));
    route();
    return;
  }
  stopPage();
  cache.clear();
  const page = PAGES[r.page];
  const ctrl = new AbortController();
  const who = me;
  const ctx: PageCtx = {
    me: who,
    route: r,
    range: rangeOf(r),
    unit: unitOf(r),
    schema: () => {
      schemaPromise ??= get<Schema>('/api/v1/schema');
      return schemaPromise;
    },
    once: <T>(key: string, fn: (s: AbortSignal) => Promise<T>) => {
      let p = cache.get(key) as Promise<T> | undefined;
      if (!p) {
        p = fn(ctrl.signal);
        cache.set(key, p);
        p.catch(() => cache.delete(key));
      }
      return p;
    },
    set: (params, opts) => setParams(r, params, opts),
    cards: new Set(),
    cleanup: new Set([() => ctrl.abort()]),
    signal: ctrl.signal,
  };
  current = ctx;
  const main = h('main', { class: 'page', id: 'main', 'data-page': r.page });
  fill(
    app,
    h(
      'a',
      {
        class: 'skip',
        href: '#main',
        onclick: (e: Event) => {
          e.preventDefault();
          main.focus();
        },
      },
      'Skip to content',
    ),
    header(r, who),
    NO_RANGE.has(r.page) ? null : toolbar(r, ctx.range.live),
    main,
  );
  main.tabIndex = -1;
  document.title = `${page.title} · vxflow`;
  void Promise.resolve(page.render(main, ctx))
    .then(() => main.setAttribute('data-rendered', ''))
    .catch((err: unknown) => {
      fill(
        main,
        h(
          'div',
          { class: 'state error' },
          h('strong', null, 'This page failed'),
          h('span', null, String((err as Error).message)),
        ),
      );
    });
  const every = Number(param(r, 'refresh'));
  if (ctx.range.live && every > 0) refreshTimer = window.setInterval(refreshNow, every * 1000);
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#login=')) void boot();
  else route();
});

async function boot(): Promise<void> {
  // the demo's link: #login=TOKEN. The token leaves the address bar (and history) before anything else.
  if (location.hash.startsWith('#login=')) {
    // #login=TOKEN, optionally &view=/page?params (URL-encoded): where to go once signed in
    const link = new URLSearchParams(location.hash.slice(1));
    const token = link.get('login') ?? '';
    const view = link.get('view');
    history.replaceState(null, '', `${location.pathname}#/`);
    if (view?.startsWith('/')) sessionStorage.setItem('vxflow.after-login', `#${view}`);
    try {
      await logIn(token);
    } catch (err) {
      loginPage((err as Error).message);
    }
    return;
  }
  // the identity of the last page load in this browser lays the page out at once; /me confirms it
  const cached = localStorage.getItem('vxflow.me');
  const check = get<Identity>('/api/v1/me');
  if (cached) {
    me = JSON.parse(cached) as Identity;
    route();
  }
  try {
    const who = await check;
    localStorage.setItem('vxflow.me', JSON.stringify(who));
    const changed = JSON.stringify(who) !== cached;
    me = who;
    if (changed) route();
    return;
  } catch (err) {
    me = null;
    localStorage.removeItem('vxflow.me');
    if (err instanceof ApiError && err.status === 401) {
      if (location.hash.length > 2) sessionStorage.setItem('vxflow.after-login', location.hash);
      loginPage(cached ? 'Your session has ended; sign in again.' : undefined);
      return;
    }
    fill(
      app,
      h(
        'main',
        { class: 'login' },
        h(
          'div',
          { class: 'state error' },
          h('strong', null, 'The dashboard is not answering'),
          h('span', null, (err as Error).message),
        ),
      ),
    );
    return;
  }
}

void boot();
