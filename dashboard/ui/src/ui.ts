/**
 * What every page is made of: the page context (who, which range, which unit, the URL),
 * cards that load their own data and show loading, empty and error states, tables, top-N
 * lists, KPI tiles and the filter box.
 */
import {
  ApiError,
  type Identity,
  post,
  type FilterCheck,
  type Schema,
  type TopResponse,
  get,
} from './api.ts';
import { mountCharts, shareBar } from './charts.ts';
import { type Child, fill, h, icon, ICONS } from './dom.ts';
import { dimValue, percent, rate, type Unit, volume } from './format.ts';
import type { Range, Route } from './state.ts';

export interface PageCtx {
  me: Identity;
  route: Route;
  range: Range;
  unit: Unit;
  /** the schema, fetched once */
  schema(): Promise<Schema>;
  /** one request per key per refresh: cards sharing a query share the answer */
  once<T>(key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** changes URL parameters (null removes one) and renders the page again */
  set(params: Record<string, string | null>, opts?: { push?: boolean; arg?: string }): void;
  /** registered loaders, run again on refresh */
  cards: Set<() => void>;
  /** called when the page is left */
  cleanup: Set<() => void>;
  signal: AbortSignal;
}

export interface Page {
  title: string;
  render(root: HTMLElement, ctx: PageCtx): void | Promise<void>;
}

export function spinner(): HTMLElement {
  return h('div', { class: 'state loading', role: 'status' }, h('span', { class: 'spin' }), 'Loading…');
}

export function empty(message: string, hint?: string): HTMLElement {
  return h('div', { class: 'state empty' }, h('strong', null, message), hint ? h('span', null, hint) : null);
}

export function errorBox(err: unknown): HTMLElement {
  const msg = err instanceof Error ? err.message : String(err);
  const status = err instanceof ApiError && err.status ? ` (HTTP ${err.status})` : '';
  return h(
    'div',
    { class: 'state error', role: 'alert' },
    h('strong', null, `Could not load${status}`),
    h('span', null, msg),
  );
}

export interface CardOpts {
  title: string;
  subtitle?: string;
  span?: 'full' | 'half' | 'third' | 'two-thirds';
  actions?: Child;
  id?: string;
}

/**
 * A card that loads its body: a spinner the first time, the old content kept (dimmed) while
 * it refreshes, the error in place when the load fails.
 */
export function card(
  ctx: PageCtx,
  opts: CardOpts,
  load: (signal: AbortSignal) => Promise<Child>,
): HTMLElement {
  const body = h('div', { class: 'card-body' }, spinner());
  const note = h('span', { class: 'card-note' });
  const el = h(
    'section',
    { class: `card span-${opts.span ?? 'half'}`, ...(opts.id ? { id: opts.id, 'data-card': opts.id } : {}) },
    h(
      'header',
      { class: 'card-head' },
      h(
        'div',
        null,
        h('h2', null, opts.title),
        opts.subtitle ? h('p', { class: 'sub' }, opts.subtitle) : null,
      ),
      h('div', { class: 'card-actions' }, note, opts.actions ?? null),
    ),
    body,
  );
  let ctrl: AbortController | null = null;
  let loaded = false;
  const run = () => {
    ctrl?.abort();
    const c = new AbortController();
    ctrl = c;
    el.classList.add('busy');
    el.setAttribute('aria-busy', 'true');
    load(c.signal)
      .then((content) => {
        if (c.signal.aborted) return;
        fill(body, content);
        mountCharts();
        loaded = true;
      })
      .catch((err: unknown) => {
        if (c.signal.aborted || (err as Error).name === 'AbortError') return;
        if (!loaded) fill(body, errorBox(err));
        else fill(body, errorBox(err));
      })
      .finally(() => {
        if (c.signal.aborted) return;
        el.classList.remove('busy');
        el.setAttribute('aria-busy', 'false');
      });
  };
  ctx.cards.add(run);
  ctx.cleanup.add(() => ctrl?.abort());
  run();
  return el;
}

export function grid(...cards: Child[]): HTMLElement {
  return h('div', { class: 'grid' }, ...cards);
}

export interface Column {
  label: string;
  num?: boolean;
  class?: string;
}

export function table(
  columns: Column[],
  rows: Child[][],
  opts: { class?: string; caption?: string } = {},
): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: `data ${opts.class ?? ''}` },
      opts.caption ? h('caption', null, opts.caption) : null,
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          columns.map((c) => h('th', { class: c.num ? 'num' : c.class, scope: 'col' }, c.label)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          Array.isArray(r)
            ? h(
                'tr',
                null,
                r.map((cell, i) =>
                  cell instanceof HTMLTableCellElement
                    ? cell
                    : h('td', { class: columns[i]?.num ? 'num' : columns[i]?.class }, cell),
                ),
              )
            : r,
        ),
      ),
    ),
  );
}

/** A number cell that keeps its exact value for tests and tooltips. */
export function numCell(
  value: number,
  text: string,
  extra: Record<string, string> = {},
): HTMLTableCellElement {
  return h('td', { class: 'num', 'data-value': String(value), title: String(value), ...extra }, text);
}

export interface KpiOpts {
  label: string;
  value: string;
  raw?: number;
  sub?: string;
  tone?: 'good' | 'warn' | 'bad';
  id?: string;
}

export function kpis(items: KpiOpts[]): HTMLElement {
  return h(
    'div',
    { class: 'kpis' },
    items.map((k) =>
      h(
        'div',
        { class: `kpi ${k.tone ?? ''}`, ...(k.id ? { 'data-kpi': k.id } : {}) },
        h('div', { class: 'kpi-label' }, k.label),
        h(
          'div',
          { class: 'kpi-value', ...(k.raw !== undefined ? { 'data-value': String(k.raw) } : {}) },
          k.value,
        ),
        k.sub ? h('div', { class: 'kpi-sub' }, k.sub) : null,
      ),
    ),
  );
}

/**
 * A top-N list: one row per key with its average rate, share and volume, then "Other".
 * `href` makes the first cell a link.
 */
export function topTable(
  r: TopResponse,
  labels: string[],
  opts: {
    href?: (key: string[]) => string;
    color?: (i: number) => string;
    cell?: (dim: string, v: string) => Child;
    /** no volume column (narrow cards) */
    compact?: boolean;
  } = {},
): HTMLElement {
  if (r.rows.length === 0) return empty('No traffic in this range');
  const unit = r.unit;
  const cols: Column[] = [
    ...labels.map((l) => ({ label: l })),
    { label: 'Rate', num: true },
    { label: 'Share', class: 'share-col' },
    ...(opts.compact ? [] : [{ label: 'Volume', num: true }]),
  ];
  const rowOf = (key: string[], row: TopResponse['rows'][number], i: number, other = false): Child[] =>
    [
      ...key.map((v, k) => {
        const text = other
          ? 'Other'
          : opts.cell
            ? opts.cell(r.dimensions[k], v)
            : dimValue(r.dimensions[k], v);
        if (k === 0 && opts.href && !other) return h('a', { href: opts.href(key) }, text);
        return other && k > 0 ? '' : text;
      }),
      numCell(row.rate, rate(row.rate, unit)),
      h(
        'td',
        { class: 'share-col' },
        h(
          'div',
          { class: 'share-cell' },
          shareBar(row.share, other ? 'var(--other)' : opts.color?.(i)),
          h('span', null, percent(row.share)),
        ),
      ),
      opts.compact ? null : numCell(row.total, volume(row.total, r.totalUnit)),
    ].filter((c) => c !== null);
  const rows = r.rows.map((row, i) => rowOf(row.key, row, i));
  if (r.other.total > 0)
    rows.push(
      rowOf(
        r.dimensions.map(() => ''),
        r.other,
        -1,
        true,
      ),
    );
  return table(cols, rows, { class: 'top' });
}

/** The colour key of a chart without a table under it. */
export function legend(items: { name: string; color: string }[]): HTMLElement {
  return h(
    'div',
    { class: 'legend' },
    items.map((i) =>
      h(
        'span',
        { class: 'swatch-label' },
        h('i', { class: 'swatch', style: { background: i.color } }),
        i.name,
      ),
    ),
  );
}

/** Segmented buttons: one of several values (unit, chart type…). */
export function segmented(
  label: string,
  options: { value: string; label: string }[],
  current: string,
  onPick: (v: string) => void,
): HTMLElement {
  return h(
    'div',
    { class: 'seg', role: 'group', 'aria-label': label },
    options.map((o) =>
      h(
        'button',
        {
          type: 'button',
          class: o.value === current ? 'on' : '',
          'aria-pressed': o.value === current ? 'true' : 'false',
          onclick: () => onPick(o.value),
        },
        o.label,
      ),
    ),
  );
}

export function select(
  label: string,
  options: { value: string; label: string }[],
  current: string,
  onPick: (v: string) => void,
  attrs: Record<string, unknown> = {},
): HTMLElement {
  return h(
    'label',
    { class: 'field' },
    h('span', null, label),
    h(
      'select',
      { onchange: (e: Event) => onPick((e.target as HTMLSelectElement).value), ...attrs },
      options.map((o) => h('option', { value: o.value, selected: o.value === current }, o.label)),
    ),
  );
}

/**
 * The filter box: validated as you type (POST /api/v1/filter/validate), the error shown
 * under the text with a caret at its position; Enter applies a valid filter.
 */
export function filterBox(
  initial: string,
  onApply: (filter: string) => void,
  opts: { placeholder?: string } = {},
): HTMLElement {
  const input = h('input', {
    type: 'text',
    class: 'filter-input',
    value: initial,
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-label': 'filter',
    placeholder: opts.placeholder ?? 'filter, e.g. proto tcp and dst port 443 and not src net 10.0.0.0/8',
  });
  const msg = h('div', { class: 'filter-msg', 'aria-live': 'polite' });
  const apply = h(
    'button',
    { type: 'button', class: 'btn primary', onclick: () => submit() },
    icon(ICONS.filter),
    'Apply',
  );
  let seq = 0;
  let lastValid = true;
  const check = async (): Promise<boolean> => {
    const text = input.value;
    const mine = ++seq;
    if (text.trim() === '') {
      fill(msg);
      input.classList.remove('invalid');
      return true;
    }
    try {
      const r = await post<FilterCheck>('/api/v1/filter/validate', { filter: text });
      if (mine !== seq) return lastValid;
      lastValid = r.valid;
      if (r.valid) {
        input.classList.remove('invalid');
        input.removeAttribute('aria-invalid');
        fill(
          msg,
          r.rollup
            ? null
            : h('span', { class: 'hint' }, 'reads the raw flows table (an address or port field)'),
        );
      } else {
        input.classList.add('invalid');
        input.setAttribute('aria-invalid', 'true');
        const pos = Math.max(0, Math.min(r.position, text.length));
        fill(
          msg,
          h(
            'div',
            { class: 'filter-error', role: 'alert', 'data-position': String(r.position) },
            h(
              'pre',
              { class: 'filter-echo' },
              text.slice(0, pos),
              h('mark', null, text.slice(pos, pos + 1) || ' '),
              text.slice(pos + 1),
              '\n',
              ' '.repeat(pos),
              '^',
            ),
            h('span', null, r.error),
          ),
        );
      }
      return r.valid;
    } catch (err) {
      fill(msg, h('span', { class: 'filter-error' }, (err as Error).message));
      return false;
    }
  };
  let timer = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(check, 250);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      submit();
    }
  });
  const submit = async () => {
    clearTimeout(timer);
    if (await check()) onApply(input.value.trim());
  };
  if (initial) void check();
  return h('div', { class: 'filter-box' }, h('div', { class: 'filter-row' }, input, apply), msg);
}

/** Quotes a value for the filter language when it is not a bare word. */
export function filterValue(v: string): string {
  return /^[A-Za-z0-9_.:/-]+$/.test(v) && v !== '' ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function tenantsOf(ctx: PageCtx): Promise<{ name: string; bytes: number }[]> {
  const r = await ctx.once('tenants', (s) =>
    get<{ tenants: { name: string; bytes: number; packets: number; flows: number }[] }>(
      `/api/v1/tenants?start=${ctx.range.start}&end=${ctx.range.end}`,
      s,
    ),
  );
  return r.tenants;
}

export function pageHead(title: string, sub?: Child, actions?: Child): HTMLElement {
  return h(
    'div',
    { class: 'page-head' },
    h('div', null, h('h1', null, title), sub ? h('p', { class: 'sub' }, sub) : null),
    actions ? h('div', { class: 'page-actions' }, actions) : null,
  );
}
