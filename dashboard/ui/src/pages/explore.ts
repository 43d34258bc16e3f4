/**
 * Explore: any dimensions × any unit × any filter, stacked, lines or a table, top-N with
 * the rest as "Other", the previous day or week overlaid, and drill-down: a click on a
 * series (in the chart or the table) adds it to the filter.
 */
import { post, type SchemaColumn, type SeriesResponse } from '../api.ts';
import { colorFor, OTHER_COLOR, timeChart } from '../charts.ts';
import { h, icon, ICONS } from '../dom.ts';
import { dimValue, percent, rate, volume } from '../format.ts';
import { pointsFor } from '../state.ts';
import {
  card,
  empty,
  filterBox,
  filterValue,
  grid,
  numCell,
  type Page,
  type PageCtx,
  pageHead,
  segmented,
  select,
} from '../ui.ts';

const DEFAULT_DIMS = ['network'];

export function dimsOf(ctx: PageCtx): string[] {
  const raw = ctx.route.params.get('dims');
  if (raw === null) return DEFAULT_DIMS;
  return raw.split(',').filter(Boolean).slice(0, 4);
}

/** The filter clause that selects one series: `network = web and vni = 5001`. */
export function clauseFor(dims: string[], key: string[]): string {
  return dims.map((d, i) => `${d} = ${key[i] === '' ? "''" : filterValue(key[i] ?? '')}`).join(' and ');
}

export const explorePage: Page = {
  title: 'Explore',
  async render(root, ctx) {
    const p = ctx.route.params;
    const dims = dimsOf(ctx);
    const limit = p.get('limit') ?? '10';
    const chart = p.get('chart') ?? 'stacked';
    const prev = p.get('prev') ?? 'none';
    const filter = p.get('filter') ?? '';
    const schema = await ctx.schema();
    const dimCols = schema.columns.filter((c) => c.dimension);
    const byName = new Map<string, SchemaColumn>(dimCols.map((c) => [c.name, c]));

    const setDims = (d: string[]) => ctx.set({ dims: d.join(',') }, { push: true });
    const chips = h(
      'div',
      { class: 'chips', role: 'group', 'aria-label': 'dimensions' },
      h('span', { class: 'muted' }, 'Group by'),
      dims.map((d) =>
        h(
          'span',
          { class: 'chip', title: byName.get(d)?.description ?? d },
          d,
          h(
            'button',
            {
              type: 'button',
              'aria-label': `remove ${d}`,
              onclick: () => setDims(dims.filter((x) => x !== d)),
            },
            icon(ICONS.x),
          ),
        ),
      ),
      dims.length < 4
        ? h(
            'select',
            {
              'aria-label': 'add a dimension',
              onchange: (e: Event) => {
                const v = (e.target as HTMLSelectElement).value;
                if (v) setDims([...dims, v]);
              },
            },
            h('option', { value: '' }, '+ dimension'),
            dimCols
              .filter((c) => !dims.includes(c.name))
              .map((c) =>
                h('option', { value: c.name, title: c.description }, `${c.name}${c.rollup ? '' : ' (raw)'}`),
              ),
          )
        : null,
    );

    const controls = h(
      'div',
      { class: 'controls' },
      chips,
      select(
        'Top',
        ['5', '10', '20', '50'].map((v) => ({ value: v, label: v })),
        limit,
        (v) => ctx.set({ limit: v === '10' ? null : v }),
      ),
      segmented(
        'chart type',
        [
          { value: 'stacked', label: 'Stacked' },
          { value: 'lines', label: 'Lines' },
          { value: 'table', label: 'Table' },
        ],
        chart,
        (v) => ctx.set({ chart: v === 'stacked' ? null : v }),
      ),
      select(
        'Compare with',
        [
          { value: 'none', label: 'nothing' },
          { value: 'day', label: 'the day before' },
          { value: 'week', label: 'the week before' },
        ],
        prev,
        (v) => ctx.set({ prev: v === 'none' ? null : v }),
      ),
    );
    const fbox = filterBox(filter, (f) => ctx.set({ filter: f || null }, { push: true }));

    const addToFilter = (key: string[]) => {
      if (key[0] === 'Other' || dims.length === 0) return;
      const clause = clauseFor(dims, key);
      ctx.set({ filter: filter ? `(${filter}) and ${clause}` : clause }, { push: true });
    };

    const result = card(
      ctx,
      { title: dims.length ? `Traffic by ${dims.join(', ')}` : 'Total traffic', span: 'full', id: 'explore' },
      async (s) => {
        const body = {
          start: ctx.range.start,
          end: ctx.range.end,
          unit: ctx.unit,
          dimensions: dims,
          filter,
          limit: Number(limit),
          points: pointsFor(ctx.range),
          previousPeriod: prev,
        };
        const r = await post<SeriesResponse>('/api/v1/traffic/series', body, s);
        if (r.series.length === 0)
          return empty(
            'No traffic matches',
            filter ? 'Loosen the filter or widen the time range.' : 'Widen the time range.',
          );
        const names = r.series.map((x) =>
          x.key[0] === 'Other'
            ? 'Other'
            : dims.length
              ? x.key.map((v, i) => dimValue(dims[i], v)).join(' · ')
              : 'Total',
        );
        const colors = r.series.map((x, i) => (x.key[0] === 'Other' ? OTHER_COLOR : colorFor(x.name, i)));
        const grand = r.series.reduce((a, x) => a + x.total, 0);
        const out = [];
        if (chart !== 'table') {
          const { el } = timeChart({
            t: r.t,
            series: r.series.map((x, i) => ({ name: names[i], values: x.values, color: colors[i] })),
            previous: r.previous ? { label: `previous ${prev}`, values: r.previous.values } : null,
            stacked: chart === 'stacked',
            unit: r.unit,
            span: ctx.range.end - ctx.range.start,
            onSeriesClick: (i) => addToFilter(r.series[i].key),
          });
          el.classList.add('tall');
          out.push(el);
        }
        const rows = r.series.map((x, i) => {
          const tr = h(
            'tr',
            {
              class: x.key[0] === 'Other' || dims.length === 0 ? '' : 'clickable',
              title: x.key[0] === 'Other' || dims.length === 0 ? '' : 'add to the filter',
              tabindex: x.key[0] === 'Other' || dims.length === 0 ? null : '0',
              'data-series': names[i],
              onclick: () => addToFilter(x.key),
              onkeydown: (e: KeyboardEvent) => {
                if (e.key === 'Enter') addToFilter(x.key);
              },
            },
            h(
              'td',
              null,
              h(
                'span',
                { class: 'swatch-label' },
                h('i', { class: 'swatch', style: { background: colors[i] } }),
                names[i],
              ),
            ),
            numCell(x.average, rate(x.average, r.unit)),
            numCell(x.p95, rate(x.p95, r.unit)),
            numCell(x.max, rate(x.max, r.unit)),
            numCell(x.total, volume(x.total, r.totalUnit)),
            numCell(grand ? x.total / grand : 0, percent(grand ? x.total / grand : 0)),
          );
          return tr;
        });
        if (r.previous) {
          rows.push(
            h(
              'tr',
              null,
              h(
                'td',
                null,
                h(
                  'span',
                  { class: 'swatch-label muted' },
                  h('i', { class: 'swatch', style: { background: 'var(--muted)' } }),
                  `previous ${prev} (all series)`,
                ),
              ),
              h('td'),
              h('td'),
              h('td'),
              numCell(r.previous.total, volume(r.previous.total, r.totalUnit)),
              numCell(
                grand ? r.previous.total / grand : 0,
                grand
                  ? `${r.previous.total >= grand ? '+' : ''}${percent(r.previous.total / grand - 1)}`
                  : '–',
                { title: 'change against the shown range' },
              ),
            ),
          );
        }
        out.push(
          h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data legend-table' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  [
                    dims.length ? dims.join(' · ') : 'Series',
                    'Average',
                    '95th pct',
                    'Max',
                    'Volume',
                    'Share',
                  ].map((l, i) => h('th', { class: i ? 'num' : '' }, l)),
                ),
              ),
              h('tbody', null, rows),
            ),
          ),
          h(
            'p',
            { class: 'foot' },
            `answered from ${r.table}, ${r.interval} s per point${dims.length ? ' · click a series to add it to the filter' : ''}`,
          ),
        );
        return out;
      },
    );

    root.append(
      pageHead('Explore', 'Any dimension, any unit, any filter'),
      h(
        'section',
        { class: 'card span-full explore-controls' },
        h('div', { class: 'card-body' }, controls, fbox),
      ),
      h('div', { style: { height: '14px' } }),
      grid(result),
    );
  },
};
