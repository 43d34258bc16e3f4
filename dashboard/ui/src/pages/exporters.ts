/**
 * Exporters: every router, switch and hypervisor sending flows, with its record rate over
 * time, versions, observation domains and last datagram; admins also see templates,
 * sampling, sequence loss and decode errors. A tenant sees only the exporters its own flows
 * came from.
 */
import { type Exporter, get, post, type SeriesResponse } from '../api.ts';
import { colorFor, OTHER_COLOR, timeChart } from '../charts.ts';
import { h } from '../dom.ts';
import { ago, dateTime, integer, percent, rate, si } from '../format.ts';
import { link, pointsFor } from '../state.ts';
import { card, empty, grid, type KpiOpts, kpis, numCell, type Page, pageHead, table } from '../ui.ts';

export const exportersPage: Page = {
  title: 'Exporters',
  render(root, ctx) {
    const admin = ctx.me.role === 'admin';
    const list = () => ctx.once('exporters', (s) => get<{ exporters: Exporter[] }>('/api/v1/exporters', s));

    const summary = card(ctx, { title: 'Summary', span: 'full', id: 'summary' }, async () => {
      const { exporters } = await list();
      const live = exporters.filter(
        (e) => e.lastSeen && Date.now() - new Date(e.lastSeen).getTime() < 300_000,
      ).length;
      const fps = exporters.reduce((a, e) => a + e.flowsPerSecond, 0);
      const items: KpiOpts[] = [
        { id: 'count', label: 'Exporters', value: integer(exporters.length), raw: exporters.length },
        {
          id: 'live',
          label: 'Sending now',
          value: integer(live),
          raw: live,
          sub: 'a datagram in the last 5 min',
          tone: live === exporters.length ? 'good' : 'warn',
        },
        { id: 'fps', label: 'Records', value: rate(fps, 'fps'), raw: fps, sub: 'over the last 5 minutes' },
      ];
      if (admin) {
        const lost = exporters.reduce((a, e) => a + (e.health?.lostPackets ?? 0), 0);
        const pk = exporters.reduce((a, e) => a + (e.health?.packets ?? 0), 0);
        const errors = exporters.reduce((a, e) => a + (e.health?.errors ?? 0), 0);
        items.push(
          {
            id: 'loss',
            label: 'Sequence loss',
            value: percent(pk + lost ? lost / (pk + lost) : 0),
            raw: lost,
            sub: `${integer(lost)} datagrams lost`,
            tone: lost ? 'warn' : 'good',
          },
          {
            id: 'errors',
            label: 'Decode errors',
            value: integer(errors),
            raw: errors,
            tone: errors ? 'warn' : 'good',
          },
        );
      }
      return kpis(items);
    });

    const chart = card(
      ctx,
      {
        title: 'Flows per second by exporter',
        subtitle: 'as stored, within your scope',
        span: 'full',
        id: 'exporter-chart',
      },
      async (s) => {
        const r = await post<SeriesResponse>(
          '/api/v1/traffic/series',
          {
            start: ctx.range.start,
            end: ctx.range.end,
            unit: 'fps',
            dimensions: ['exporter'],
            limit: 10,
            points: pointsFor(ctx.range),
          },
          s,
        );
        if (r.series.length === 0) return empty('No flows in this range');
        const { el } = timeChart({
          t: r.t,
          series: r.series.map((x, i) => ({
            name: x.name,
            values: x.values,
            color: x.name === 'Other' ? OTHER_COLOR : colorFor(x.name, i),
          })),
          stacked: true,
          unit: 'fps',
          span: ctx.range.end - ctx.range.start,
        });
        el.classList.add('short');
        return el;
      },
    );

    const tableCard = card(ctx, { title: 'Exporters', span: 'full', id: 'exporters' }, async () => {
      const { exporters } = await list();
      if (exporters.length === 0)
        return empty(
          'No exporter has sent anything yet',
          'Point NetFlow v9, IPFIX or v5 at the collector: UDP 2055 or 4739.',
        );
      const cols = [
        { label: 'Address' },
        { label: 'Name' },
        { label: 'Versions' },
        { label: 'Domains' },
        { label: 'Flows/s', num: true },
        { label: 'Last seen' },
        ...(admin
          ? [
              { label: 'First seen' },
              { label: 'Templates', num: true },
              { label: 'Sampling', num: true },
              { label: 'Datagrams', num: true },
              { label: 'Records', num: true },
              { label: 'Lost', num: true },
              { label: 'Seq. loss', num: true },
              { label: 'Errors', num: true },
            ]
          : []),
      ];
      return table(
        cols,
        exporters.map((e) => [
          h(
            'a',
            {
              class: 'mono',
              href: link('explore', '', ctx.route, {
                dims: 'tenant,network',
                filter: `exporter = ${e.address}`,
              }),
            },
            e.address || '—',
          ),
          e.name && e.name !== e.address ? e.name : '',
          e.versions.map((v) => (v === 10 ? 'IPFIX' : `v${v}`)).join(', '),
          e.domains.join(', '),
          numCell(e.flowsPerSecond, e.flowsPerSecond.toFixed(e.flowsPerSecond < 10 ? 2 : 0)),
          h(
            'span',
            {
              class:
                e.lastSeen && Date.now() - new Date(e.lastSeen).getTime() < 120_000 ? 'ok-dot' : 'stale-dot',
              title: e.lastSeen ? dateTime(e.lastSeen) : '',
            },
            ago(e.lastSeen),
          ),
          ...(admin && e.health
            ? [
                e.health.firstSeen ? dateTime(e.health.firstSeen) : '—',
                numCell(e.health.templates, integer(e.health.templates)),
                numCell(
                  e.health.samplingRate,
                  e.health.samplingRate > 1 ? `1:${e.health.samplingRate}` : '—',
                ),
                numCell(e.health.packets, si(e.health.packets).join(' ')),
                numCell(e.health.records, si(e.health.records).join(' ')),
                numCell(e.health.lostPackets, integer(e.health.lostPackets), {
                  class: `num ${e.health.lostPackets ? 'bad' : ''}`,
                }),
                numCell(e.health.sequenceLoss, percent(e.health.sequenceLoss), {
                  class: `num ${e.health.sequenceLoss > 0.001 ? 'bad' : ''}`,
                }),
                numCell(e.health.errors, integer(e.health.errors), {
                  class: `num ${e.health.errors ? 'bad' : ''}`,
                }),
              ]
            : []),
        ]),
      );
    });

    root.append(
      pageHead(
        'Exporters',
        admin
          ? 'Every device sending flows, and how healthy the feed is'
          : 'The devices your flows came from',
      ),
      grid(summary, chart, tableCard),
    );
  },
};
