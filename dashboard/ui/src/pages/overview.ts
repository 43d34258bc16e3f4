/**
 * Overview (admins): the whole platform at a glance. Traffic stacked by tenant, top tenants,
 * networks and exporters, ingest health from the exporters table, and the traffic no tenant
 * owns (VNIs or subnets missing from the inventory).
 */
import { type Exporter, get, post, type SeriesResponse, type TopResponse } from '../api.ts';
import { colorFor, timeChart } from '../charts.ts';
import { type Child, h } from '../dom.ts';
import { ago, dimValue, integer, percent, rate, TOTAL_UNIT, volume } from '../format.ts';
import { link, pointsFor } from '../state.ts';
import {
  type CardOpts,
  card,
  empty,
  grid,
  kpis,
  numCell,
  type Page,
  type PageCtx,
  pageHead,
  table,
  topTable,
} from '../ui.ts';

export const UNASSIGNED = '~unassigned';

/** the tenant page's argument for a tenant name ('' is the unassigned traffic) */
export const tenantArg = (name: string) => (name === '' ? UNASSIGNED : name);

function series(ctx: PageCtx, dims: string[], extra: Record<string, unknown> = {}) {
  const body = {
    start: ctx.range.start,
    end: ctx.range.end,
    unit: ctx.unit,
    dimensions: dims,
    limit: 10,
    points: pointsFor(ctx.range),
    ...extra,
  };
  return ctx.once(`series:${JSON.stringify(body)}`, (s) =>
    post<SeriesResponse>('/api/v1/traffic/series', body, s),
  );
}

function top(ctx: PageCtx, dims: string[], extra: Record<string, unknown> = {}) {
  const body = {
    start: ctx.range.start,
    end: ctx.range.end,
    unit: ctx.unit,
    dimensions: dims,
    limit: 10,
    ...extra,
  };
  return ctx.once(`top:${JSON.stringify(body)}`, (s) => post<TopResponse>('/api/v1/traffic/top', body, s));
}

function exporters(ctx: PageCtx) {
  return ctx.once('exporters', (s) => get<{ exporters: Exporter[] }>('/api/v1/exporters', s));
}

/** The first N rows of a top-N answer, the rest folded into "Other". */
function firstRows(r: TopResponse, n: number): TopResponse {
  const rows = r.rows.slice(0, n);
  const shown = rows.reduce((a, x) => a + x.total, 0);
  const otherTotal = r.other.total + r.rows.slice(n).reduce((a, x) => a + x.total, 0);
  const perTotal = r.total > 0 ? otherTotal / r.total : 0;
  const rateOf = (total: number) =>
    r.rows[0] && r.rows[0].total > 0 ? (r.rows[0].rate / r.rows[0].total) * total : 0;
  return {
    ...r,
    rows,
    other: { key: ['Other'], total: r.total - shown, rate: rateOf(r.total - shown), share: perTotal },
  };
}

export const overviewPage: Page = {
  title: 'Overview',
  render(root, ctx) {
    const span = ctx.range.end - ctx.range.start;
    // the chart's query goes first and alone: the first chart comes sooner, the rest follow
    const chartDone = () =>
      series(ctx, ['tenant']).then(
        () => undefined,
        () => undefined,
      );
    const gated = (opts: CardOpts, load: (s: AbortSignal) => Promise<Child>) =>
      card(ctx, opts, async (s) => {
        await chartDone();
        return load(s);
      });
    const tenantHref = (key: string[]) => link('tenant', tenantArg(key[0]), ctx.route);

    const summary = gated({ title: 'Summary', span: 'full', id: 'summary' }, async () => {
      const [byTenant, ex] = await Promise.all([top(ctx, ['tenant'], { limit: 1000 }), exporters(ctx)]);
      const unassigned = byTenant.rows.find((r) => r.key[0] === '');
      const tenants = byTenant.rows.filter((r) => r.key[0] !== '').length;
      const avg = (byTenant.total * (ctx.unit === 'bps' ? 8 : 1)) / span;
      const active = ex.exporters.filter(
        (e) => e.lastSeen && Date.now() - new Date(e.lastSeen).getTime() < 300_000,
      ).length;
      const loss = ex.exporters.reduce((a, e) => Math.max(a, e.health?.sequenceLoss ?? 0), 0);
      return kpis([
        { id: 'rate', label: 'Average traffic', value: rate(avg, ctx.unit), raw: avg },
        {
          id: 'volume',
          label: `Total ${TOTAL_UNIT[ctx.unit]}`,
          value: volume(byTenant.total, byTenant.totalUnit),
          raw: byTenant.total,
        },
        { id: 'tenants', label: 'Tenants with traffic', value: integer(tenants), raw: tenants },
        {
          id: 'exporters',
          label: 'Exporters',
          value: integer(ex.exporters.length),
          raw: ex.exporters.length,
          sub: `${active} sending in the last 5 min`,
        },
        {
          id: 'unassigned',
          label: 'Unassigned',
          value: percent(unassigned?.share ?? 0),
          raw: unassigned?.total ?? 0,
          sub: unassigned ? volume(unassigned.total, byTenant.totalUnit) : 'every flow has a tenant',
          tone: unassigned && unassigned.share > 0.01 ? 'warn' : 'good',
        },
        {
          id: 'loss',
          label: 'Worst sequence loss',
          value: percent(loss),
          raw: loss,
          tone: loss > 0.001 ? 'bad' : 'good',
        },
      ]);
    });

    const traffic = card(
      ctx,
      {
        title: 'Traffic by tenant',
        subtitle: 'stacked; click a tenant to open it',
        span: 'full',
        id: 'traffic',
      },
      async () => {
        const r = await series(ctx, ['tenant']);
        if (r.series.length === 0)
          return empty('No traffic in this range', 'Widen the time range, or check the exporters below.');
        const list = r.series.map((s, i) => ({
          name: dimValue('tenant', s.key[0] ?? ''),
          values: s.values,
          color: colorFor(s.name, i),
          key: s.key,
        }));
        const { el } = timeChart({
          t: r.t,
          series: list,
          stacked: true,
          unit: r.unit,
          span,
          onSeriesClick: (i) => {
            const k = list[i].key[0];
            if (k !== 'Other') location.hash = link('tenant', tenantArg(k), ctx.route);
          },
        });
        return [
          el,
          table(
            [
              { label: 'Tenant' },
              { label: 'Average', num: true },
              { label: '95th pct', num: true },
              { label: 'Max', num: true },
              { label: 'Volume', num: true },
            ],
            r.series.map((s, i) => [
              h(
                'span',
                { class: 'swatch-label' },
                h('i', { class: 'swatch', style: { background: list[i].color } }),
                s.key[0] === 'Other' ? 'Other' : h('a', { href: tenantHref(s.key) }, list[i].name),
              ),
              numCell(s.average, rate(s.average, r.unit)),
              numCell(s.p95, rate(s.p95, r.unit)),
              numCell(s.max, rate(s.max, r.unit)),
              numCell(s.total, volume(s.total, r.totalUnit), { 'data-series': s.key[0] ?? '' }),
            ]),
            { class: 'legend-table' },
          ),
          h('p', { class: 'foot muted' }, `from ${r.table}, ${r.interval} s per point`),
        ];
      },
    );

    const topTenants = gated({ title: 'Top tenants', span: 'third', id: 'top-tenants' }, async () =>
      topTable(firstRows(await top(ctx, ['tenant'], { limit: 1000 }), 10), ['Tenant'], {
        href: tenantHref,
        color: (i) => colorFor('', i),
      }),
    );
    const topNetworks = gated(
      { title: 'Top overlay networks', span: 'third', id: 'top-networks' },
      async () => {
        const r = await top(ctx, ['network', 'vni', 'tenant']);
        // network and VNI in one cell, so the card stays readable at a third of the width
        const merged = {
          ...r,
          dimensions: ['network', 'tenant'],
          rows: r.rows.map((x) => ({ ...x, key: [`${x.key[0] || '—'} · ${x.key[1]}`, x.key[2]] })),
        };
        return topTable(merged, ['Network · VNI', 'Tenant'], {
          compact: true,
          href: (k) =>
            link(
              'tenant',
              tenantArg(r.rows.find((x) => `${x.key[0] || '—'} · ${x.key[1]}` === k[0])?.key[2] ?? ''),
              ctx.route,
            ),
        });
      },
    );
    const topExporters = gated({ title: 'Top exporters', span: 'third', id: 'top-exporters' }, async () =>
      topTable(await top(ctx, ['exporter']), ['Exporter'], {
        href: (k) => link('explore', '', ctx.route, { dims: 'tenant', filter: `exporter = ${k[0]}` }),
      }),
    );

    const health = gated(
      {
        title: 'Ingest health',
        subtitle: 'from the collectors’ exporters table',
        span: 'two-thirds',
        id: 'health',
      },
      async () => {
        const r = await exporters(ctx);
        if (r.exporters.length === 0)
          return empty(
            'No exporter has sent anything yet',
            'Point NetFlow v9/IPFIX at the collector (UDP 2055 or 4739).',
          );
        return table(
          [
            { label: 'Exporter' },
            { label: 'Versions' },
            { label: 'Flows/s', num: true },
            { label: 'Last seen' },
            { label: 'Templates', num: true },
            { label: 'Sampling', num: true },
            { label: 'Seq. loss', num: true },
            { label: 'Errors', num: true },
          ],
          r.exporters.map((e) => [
            h(
              'span',
              { class: 'mono' },
              e.name && e.name !== e.address ? `${e.name} ` : '',
              h('span', { class: e.name && e.name !== e.address ? 'muted' : '' }, e.address || '—'),
            ),
            e.versions.map((v) => (v === 10 ? 'IPFIX' : `v${v}`)).join(', '),
            numCell(e.flowsPerSecond, e.flowsPerSecond.toFixed(e.flowsPerSecond < 10 ? 2 : 0)),
            h(
              'span',
              {
                class:
                  e.lastSeen && Date.now() - new Date(e.lastSeen).getTime() < 120_000
                    ? 'ok-dot'
                    : 'stale-dot',
                title: e.lastSeen ?? '',
              },
              ago(e.lastSeen),
            ),
            numCell(e.health?.templates ?? 0, integer(e.health?.templates ?? 0)),
            numCell(e.health?.samplingRate ?? 0, e.health?.samplingRate ? `1:${e.health.samplingRate}` : '—'),
            numCell(e.health?.sequenceLoss ?? 0, percent(e.health?.sequenceLoss ?? 0), {
              class: `num ${(e.health?.sequenceLoss ?? 0) > 0.001 ? 'bad' : ''}`,
            }),
            numCell(e.health?.errors ?? 0, integer(e.health?.errors ?? 0), {
              class: `num ${(e.health?.errors ?? 0) > 0 ? 'bad' : ''}`,
            }),
          ]),
        );
      },
    );

    const unassigned = gated(
      {
        title: 'Unassigned traffic',
        subtitle: 'VNIs no tenant owns: add them to the inventory',
        span: 'third',
        id: 'unassigned',
      },
      async () => {
        const r = await top(ctx, ['vni', 'exporter'], { tenant: '' });
        if (r.rows.length === 0)
          return empty(
            'Every flow has a tenant',
            'Flows whose VNI or subnet is not in the inventory show up here.',
          );
        return [
          topTable(r, ['VNI', 'Exporter'], { compact: true }),
          h(
            'p',
            { class: 'foot' },
            h('a', { href: link('tenant', UNASSIGNED, ctx.route) }, 'Open the unassigned traffic →'),
          ),
        ];
      },
    );

    root.append(
      pageHead('Overview', 'All tenants, all overlay networks'),
      grid(summary, traffic, topTenants, topNetworks, topExporters, health, unassigned),
    );
  },
};
