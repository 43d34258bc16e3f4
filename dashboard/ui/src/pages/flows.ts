/**
 * Flows: the raw records, newest first, through the filter language (its errors shown in
 * place, at their position), page by page with the API's cursors, and exported as CSV or
 * JSON with the same range and filter.
 */
import { get, qs } from '../api.ts';
import { type Child, fill, h, icon, ICONS } from '../dom.ts';
import { dateTime, dimValue, integer, protoName } from '../format.ts';
import { card, empty, filterBox, grid, type Page, pageHead, select, table } from '../ui.ts';

type Flow = Record<string, unknown>;

/** address:port, and the VM's name from the inventory beside it */
function endpoint(addr: unknown, port: unknown, name: unknown): Child {
  const a = `${addr}${Number(port) ? `:${port}` : ''}`;
  return name ? h('span', null, a, ' ', h('span', { class: 'ep' }, String(name))) : a;
}

const TCP_FLAGS = 'FSRPAUEC';
function flags(v: unknown): string {
  const n = Number(v);
  if (!n) return '';
  let s = '';
  for (let i = 0; i < 8; i++) if (n & (1 << i)) s += TCP_FLAGS[i];
  return s;
}

const COLUMNS: { name: string; label: string; num?: boolean; admin?: boolean; show: (f: Flow) => Child }[] = [
  { name: 'time_received', label: 'Received', show: (f) => dateTime(String(f.time_received)) },
  { name: 'tenant', label: 'Tenant', admin: true, show: (f) => dimValue('tenant', String(f.tenant ?? '')) },
  { name: 'network', label: 'Network', show: (f) => String(f.network || '—') },
  { name: 'vni', label: 'VNI', num: true, show: (f) => (Number(f.vni) ? String(f.vni) : '—') },
  {
    name: 'src_addr',
    label: 'Source',
    show: (f) => endpoint(f.src_addr, f.src_port, f.src_endpoint),
  },
  {
    name: 'dst_addr',
    label: 'Destination',
    show: (f) => endpoint(f.dst_addr, f.dst_port, f.dst_endpoint),
  },
  { name: 'proto', label: 'Proto', show: (f) => protoName(String(f.proto)) },
  { name: 'tcp_flags', label: 'Flags', show: (f) => flags(f.tcp_flags) },
  { name: 'bytes', label: 'Bytes', num: true, show: (f) => integer(Number(f.bytes)) },
  { name: 'packets', label: 'Packets', num: true, show: (f) => integer(Number(f.packets)) },
  {
    name: 'sampling_rate',
    label: 'Sampling',
    num: true,
    show: (f) => (Number(f.sampling_rate) > 1 ? `1:${f.sampling_rate}` : ''),
  },
  { name: 'traffic_class', label: 'Class', show: (f) => String(f.traffic_class ?? '') },
  {
    name: 'tunnel_src',
    label: 'VTEPs',
    show: (f) => (f.tunnel_src ? `${f.tunnel_src} → ${f.tunnel_dst}` : ''),
  },
  { name: 'exporter', label: 'Exporter', show: (f) => String(f.exporter ?? '') },
];

export const flowsPage: Page = {
  title: 'Flows',
  render(root, ctx) {
    const filter = ctx.route.params.get('filter') ?? '';
    const limit = ctx.route.params.get('limit') ?? '100';
    const base = { start: ctx.range.start, end: ctx.range.end, filter };
    const cols = COLUMNS.filter((c) => !c.admin || ctx.me.role === 'admin');
    /** the cursors of the pages before this one (the first page has none) */
    const cursors: (string | null)[] = [null];
    const pager = h('div', { class: 'page-actions' });
    const exports = h(
      'div',
      { class: 'page-actions' },
      h(
        'a',
        {
          class: 'btn',
          href: `/api/v1/flows${qs({ ...base, limit: 100_000, format: 'csv' })}`,
          download: 'flows.csv',
        },
        icon(ICONS.download),
        'CSV',
      ),
      h(
        'a',
        {
          class: 'btn',
          href: `/api/v1/flows${qs({ ...base, limit: 10_000, format: 'json' })}`,
          target: '_blank',
          rel: 'noopener',
        },
        icon(ICONS.download),
        'JSON',
      ),
    );

    const result = card(
      ctx,
      { title: 'Flows', subtitle: 'newest first', span: 'full', id: 'flows', actions: pager },
      async (s) => {
        const cursor = cursors[cursors.length - 1];
        const r = await get<{ flows: Flow[]; next: string | null }>(
          `/api/v1/flows${qs(cursor ? { cursor, limit } : { ...base, limit })}`,
          s,
        );
        const pageNo = cursors.length;
        fill(
          pager,
          h('span', { class: 'muted' }, `page ${pageNo}${r.flows.length ? `, ${r.flows.length} flows` : ''}`),
          h(
            'button',
            {
              type: 'button',
              class: 'btn',
              disabled: pageNo === 1,
              onclick: () => {
                cursors.pop();
                for (const run of ctx.cards) run();
              },
            },
            icon(ICONS.chevronLeft),
            'Newer',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'btn',
              disabled: !r.next,
              onclick: () => {
                cursors.push(r.next);
                for (const run of ctx.cards) run();
              },
            },
            'Older',
            icon(ICONS.chevronRight),
          ),
        );
        if (r.flows.length === 0)
          return empty(
            'No flows match',
            filter ? 'Loosen the filter or widen the time range.' : 'Widen the time range.',
          );
        return table(
          cols.map((c) => ({ label: c.label, num: c.num })),
          r.flows.map((f) => cols.map((c) => c.show(f))),
          { class: 'flows mono-cells' },
        );
      },
    );

    root.append(
      pageHead('Flows', 'Raw records, as stored', exports),
      h(
        'section',
        { class: 'card span-full' },
        h(
          'div',
          { class: 'card-body controls' },
          filterBox(filter, (f) => ctx.set({ filter: f || null }, { push: true })),
          select(
            'Per page',
            ['50', '100', '500', '1000'].map((v) => ({ value: v, label: v })),
            limit,
            (v) => ctx.set({ limit: v === '100' ? null : v }),
          ),
        ),
      ),
      h('div', { style: { height: '14px' } }),
      grid(result),
    );
  },
};
