/**
 * A tenant's overlay: traffic per network (VNI) over time, east-west against north-south,
 * top talkers, ports and protocols, who talks to whom (the VM-to-VM matrix), the tunnel
 * endpoints (VTEPs) its traffic crosses, and its networks, subnets and endpoints from the
 * inventory. A tenant sees its own; an admin picks any tenant, or the unassigned traffic.
 */
import {
  get,
  type Inventory,
  type InventoryTenant,
  type MatrixResponse,
  post,
  type SeriesResponse,
  type TopResponse,
} from '../api.ts';
import { colorFor, heat, OTHER_COLOR, timeChart } from '../charts.ts';
import { type Child, h } from '../dom.ts';
import { dimValue, integer, percent, protoName, rate, TOTAL_UNIT, volume } from '../format.ts';
import { link, pointsFor } from '../state.ts';
import {
  type CardOpts,
  card,
  empty,
  filterValue,
  grid,
  kpis,
  numCell,
  type Page,
  type PageCtx,
  pageHead,
  segmented,
  table,
  tenantsOf,
  topTable,
} from '../ui.ts';
import { tenantArg, UNASSIGNED } from './overview.ts';

const CLASS_COLORS: Record<string, string> = {
  'east-west': '#13a37f',
  'north-south': '#e8a317',
  '': OTHER_COLOR,
};

/** The tenant this page shows: its name for the API ('' = unassigned), or null for a tenant token. */
function scopeOf(ctx: PageCtx): { tenant?: string } {
  if (ctx.me.role === 'tenant') return {};
  return { tenant: ctx.route.arg === UNASSIGNED ? '' : ctx.route.arg };
}

function series(ctx: PageCtx, dims: string[], extra: Record<string, unknown> = {}) {
  const body = {
    start: ctx.range.start,
    end: ctx.range.end,
    unit: ctx.unit,
    dimensions: dims,
    limit: 10,
    points: pointsFor(ctx.range),
    ...scopeOf(ctx),
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
    ...scopeOf(ctx),
    ...extra,
  };
  return ctx.once(`top:${JSON.stringify(body)}`, (s) => post<TopResponse>('/api/v1/traffic/top', body, s));
}

function inventoryOf(ctx: PageCtx): Promise<InventoryTenant | null> {
  return ctx.once('inventory', async (s) => {
    const inv = await get<Inventory>('/api/v1/inventory', s);
    const name = ctx.me.role === 'tenant' ? ctx.me.tenant : ctx.route.arg;
    return inv.tenants.find((t) => t.name === name) ?? null;
  });
}

function stackedCard(
  ctx: PageCtx,
  id: string,
  title: string,
  subtitle: string,
  dims: string[],
  span: 'full' | 'half',
  label: (key: string[]) => string,
  color?: (key: string[], i: number) => string,
) {
  return card(ctx, { title, subtitle, span, id }, async () => {
    const r = await series(ctx, dims);
    if (r.series.length === 0) return empty('No traffic in this range');
    const list = r.series.map((s, i) => ({
      name: s.key[0] === 'Other' ? 'Other' : label(s.key),
      values: s.values,
      color: s.key[0] === 'Other' ? OTHER_COLOR : (color?.(s.key, i) ?? colorFor(s.name, i)),
    }));
    const { el } = timeChart({
      t: r.t,
      series: list,
      stacked: true,
      unit: r.unit,
      span: ctx.range.end - ctx.range.start,
    });
    return [
      el,
      table(
        [
          { label: dims.length > 1 || dims[0] !== 'traffic_class' ? 'Network' : 'Class' },
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
            list[i].name,
          ),
          numCell(s.average, rate(s.average, r.unit)),
          numCell(s.p95, rate(s.p95, r.unit)),
          numCell(s.max, rate(s.max, r.unit)),
          numCell(s.total, volume(s.total, r.totalUnit), { 'data-series': s.name }),
        ]),
        { class: 'legend-table' },
      ),
    ];
  });
}

/** The conversation matrix as a heat map: rows send, columns receive. */
function heatmap(r: MatrixResponse): Child {
  if (r.cells.length === 0) return empty('No conversations in this range');
  const labels = r.labels.slice(0, 24);
  const srcs = labels.filter((l) => r.cells.some((c) => c.src === l));
  const dsts = labels.filter((l) => r.cells.some((c) => c.dst === l));
  const at = new Map(r.cells.map((c) => [`${c.src}\u0000${c.dst}`, c]));
  const max = Math.max(...r.cells.map((c) => c.total));
  const name = (l: string) => (l === '' ? '(outside)' : l);
  return [
    h(
      'div',
      { class: 'heatmap-wrap' },
      h(
        'table',
        { class: 'heatmap', 'aria-label': `conversation matrix by ${r.by}` },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, h('span', { class: 'muted' }, 'from ↓ to →')),
            dsts.map((d) => h('th', { scope: 'col', title: name(d) }, name(d))),
          ),
        ),
        h(
          'tbody',
          null,
          srcs.map((s) =>
            h(
              'tr',
              null,
              h('th', { scope: 'row', title: name(s) }, name(s)),
              dsts.map((d) => {
                const c = at.get(`${s}\u0000${d}`);
                if (!c) return h('td', { title: `${name(s)} → ${name(d)}: nothing` });
                return h(
                  'td',
                  {
                    class: 'v',
                    style: { background: heat(c.total, max) },
                    title: `${name(s)} → ${name(d)}: ${rate(c.rate, r.unit)}, ${volume(c.total, r.totalUnit)}`,
                    'data-src': s,
                    'data-dst': d,
                    'data-value': String(c.total),
                  },
                  '',
                );
              }),
            ),
          ),
        ),
      ),
    ),
    h(
      'div',
      { class: 'heat-legend' },
      h('span', null, '0'),
      h('div', { class: 'ramp' }),
      h('span', null, rate(Math.max(...r.cells.map((c) => c.rate)), r.unit)),
      h('span', null, '· hover a cell for its rate'),
    ),
  ];
}

export const tenantPage: Page = {
  title: 'Tenant',
  async render(root, ctx) {
    if (ctx.me.role === 'admin' && ctx.route.arg === '') {
      const list = await tenantsOf(ctx);
      const first = list.find((t) => t.name !== '') ?? list[0];
      if (first) {
        ctx.set({}, { arg: tenantArg(first.name) });
        return;
      }
      root.append(pageHead('Tenants'), empty('No tenant has traffic in this range', 'Widen the time range.'));
      return;
    }
    const name =
      ctx.me.role === 'tenant' ? (ctx.me.tenant ?? '') : ctx.route.arg === UNASSIGNED ? '' : ctx.route.arg;
    const title = name === '' ? 'Unassigned traffic' : name;
    document.title = `${title} · vxflow`;
    const span = ctx.range.end - ctx.range.start;

    // the chart's query goes first and alone: the first chart comes sooner, the rest follow
    const chartDone = () =>
      series(ctx, ['network', 'vni']).then(
        () => undefined,
        () => undefined,
      );
    const gated = (opts: CardOpts, load: (s: AbortSignal) => Promise<Child>) =>
      card(ctx, opts, async (s) => {
        await chartDone();
        return load(s);
      });

    let picker: Child = null;
    if (ctx.me.role === 'admin') {
      const sel = h('select', {
        'aria-label': 'tenant',
        onchange: (e: Event) =>
          (location.hash = link('tenant', (e.target as HTMLSelectElement).value, ctx.route)),
      });
      picker = h('label', { class: 'field' }, h('span', null, 'Tenant'), sel);
      void tenantsOf(ctx).then((list) => {
        const names = list.map((t) => t.name);
        if (!names.includes(name)) names.push(name);
        for (const n of names.sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b))))
          sel.append(h('option', { value: tenantArg(n), selected: n === name }, n === '' ? 'unassigned' : n));
      });
    }
    const head = pageHead(
      title,
      name === ''
        ? 'Flows whose VNI or subnet no tenant owns'
        : 'Overlay networks, conversations and tunnels',
      picker,
    );

    const summary = gated({ title: 'Summary', span: 'full', id: 'summary' }, async () => {
      const [cls, nets, inv, s] = await Promise.all([
        top(ctx, ['traffic_class'], { limit: 10 }),
        top(ctx, ['network', 'vni'], { limit: 1000 }),
        inventoryOf(ctx),
        series(ctx, ['network', 'vni']),
      ]);
      const ew = cls.rows.find((r) => r.key[0] === 'east-west');
      const avg = (cls.total * (ctx.unit === 'bps' ? 8 : 1)) / span;
      const peak = s.t.reduce(
        (m, _t, i) =>
          Math.max(
            m,
            s.series.reduce((a, x) => a + (x.values[i] ?? 0), 0),
          ),
        0,
      );
      // VMs by name (a VM with an IPv4 and an IPv6 port is one endpoint)
      const endpoints = new Set(
        inv?.networks.flatMap((n) => n.subnets.flatMap((sn) => (sn.ports ?? []).map((p) => p.name))) ?? [],
      ).size;
      return kpis([
        { id: 'rate', label: 'Average traffic', value: rate(avg, ctx.unit), raw: avg },
        { id: 'peak', label: 'Peak', value: rate(peak, ctx.unit), raw: peak, sub: `${s.interval} s buckets` },
        {
          id: 'volume',
          label: `Total ${TOTAL_UNIT[ctx.unit]}`,
          value: volume(cls.total, cls.totalUnit),
          raw: cls.total,
        },
        {
          id: 'east-west',
          label: 'East-west',
          value: percent(ew?.share ?? 0),
          raw: ew?.share ?? 0,
          sub: 'both ends inside the tenant',
        },
        {
          id: 'networks',
          label: 'Active networks',
          value: integer(nets.rows.length),
          raw: nets.rows.length,
          sub: inv ? `${inv.networks.length} in the inventory` : undefined,
        },
        {
          id: 'endpoints',
          label: 'Endpoints',
          value: integer(endpoints),
          raw: endpoints,
          sub: 'VMs in the inventory',
        },
      ]);
    });

    const byNetwork = stackedCard(
      ctx,
      'by-network',
      'Traffic by overlay network',
      'stacked, per VNI',
      ['network', 'vni'],
      'full',
      (k) => `${dimValue('network', k[0])} · VNI ${k[1] ?? ''}`,
    );
    const byClass = stackedCard(
      ctx,
      'by-class',
      'East-west vs north-south',
      'inside the tenant against to/from outside',
      ['traffic_class'],
      'half',
      (k) => dimValue('traffic_class', k[0]),
      (k) => CLASS_COLORS[k[0]] ?? OTHER_COLOR,
    );
    const protocols = gated({ title: 'Protocols', span: 'half', id: 'protocols' }, async () =>
      topTable(await top(ctx, ['proto']), ['Protocol'], { cell: (_d, v) => protoName(v) }),
    );
    const talkers = gated(
      { title: 'Top talkers', subtitle: 'by source endpoint', span: 'half', id: 'talkers' },
      async () => topTable(await top(ctx, ['src_endpoint', 'src_addr']), ['Endpoint', 'Address']),
    );
    const ports = gated({ title: 'Top destination ports', span: 'half', id: 'ports' }, async () =>
      topTable(await top(ctx, ['dst_port', 'proto']), ['Port', 'Protocol'], {
        cell: (d, v) => (d === 'proto' ? protoName(v) : v),
      }),
    );

    let by = ctx.route.params.get('matrix') ?? 'endpoint';
    const matrixCard = gated(
      {
        title: 'Who talks to whom',
        subtitle: 'the top conversations inside this scope',
        span: 'full',
        id: 'matrix',
        actions: segmented(
          'matrix by',
          [
            { value: 'endpoint', label: 'VM' },
            { value: 'subnet', label: 'Subnet' },
            { value: 'address', label: 'Address' },
          ],
          by,
          (v) => {
            by = v;
            ctx.set({ matrix: v === 'endpoint' ? null : v });
          },
        ),
      },
      async (s) => {
        const body = {
          start: ctx.range.start,
          end: ctx.range.end,
          unit: ctx.unit,
          by,
          limit: 60,
          ...scopeOf(ctx),
        };
        return heatmap(await post<MatrixResponse>('/api/v1/traffic/matrix', body, s));
      },
    );
    const vteps = gated(
      {
        title: 'Tunnel endpoints (VTEPs)',
        subtitle: 'outer addresses this traffic crosses',
        span: 'half',
        id: 'vteps',
      },
      async () =>
        topTable(await top(ctx, ['tunnel_src', 'tunnel_dst']), ['Source VTEP', 'Destination VTEP'], {
          compact: true,
        }),
    );

    const networks = gated(
      {
        title: 'Networks and subnets',
        subtitle: 'from the inventory, with their traffic',
        span: 'half',
        id: 'inventory-networks',
      },
      async () => {
        const [inv, nets] = await Promise.all([inventoryOf(ctx), top(ctx, ['network'], { limit: 1000 })]);
        if (!inv || inv.networks.length === 0)
          return empty(
            name === '' ? 'Unassigned traffic has no inventory' : 'Not in the inventory',
            name === '' ? 'Add the VNIs above to a tenant on the Inventory page.' : undefined,
          );
        const traffic = new Map(nets.rows.map((r) => [r.key[0], r]));
        const rows: Child[][] = [];
        for (const n of inv.networks) {
          const t = traffic.get(n.name);
          n.subnets.forEach((s, i) => {
            rows.push([
              i === 0 ? h('b', null, n.name) : '',
              i === 0
                ? n.vni !== undefined
                  ? h('span', { class: 'pill' }, `VNI ${n.vni}`)
                  : n.vlan !== undefined
                    ? h('span', { class: 'pill' }, `VLAN ${n.vlan}`)
                    : 'flat'
                : '',
              s.name ?? '',
              h('span', { class: 'mono' }, s.cidr),
              numCell(s.ports?.length ?? 0, integer(s.ports?.length ?? 0)),
              i === 0 ? numCell(t?.rate ?? 0, t ? rate(t.rate, nets.unit) : '—') : h('td'),
            ]);
          });
        }
        return table(
          [
            { label: 'Network' },
            { label: 'Segment' },
            { label: 'Subnet' },
            { label: 'CIDR' },
            { label: 'Ports', num: true },
            { label: 'Traffic', num: true },
          ],
          rows,
        );
      },
    );

    const endpoints = gated(
      {
        title: 'Endpoints',
        subtitle: 'VM ports by name, with what they send and receive',
        span: 'full',
        id: 'endpoints',
      },
      async () => {
        const [inv, sent, recv] = await Promise.all([
          inventoryOf(ctx),
          top(ctx, ['src_endpoint'], { limit: 1000 }),
          top(ctx, ['dst_endpoint'], { limit: 1000 }),
        ]);
        // one row per VM: its ports (an IPv4 and an IPv6 address, say) share the name
        const byName = new Map<string, { name: string; ips: string[]; subnets: string[]; network: string }>();
        for (const n of inv?.networks ?? [])
          for (const sn of n.subnets)
            for (const p of sn.ports ?? []) {
              const e = byName.get(p.name) ?? { name: p.name, ips: [], subnets: [], network: n.name };
              e.ips.push(p.ip);
              const label = sn.name ?? sn.cidr;
              if (!e.subnets.includes(label)) e.subnets.push(label);
              byName.set(p.name, e);
            }
        const vms = [...byName.values()];
        if (vms.length === 0) return empty('No endpoints in the inventory');
        const tx = new Map(sent.rows.map((r) => [r.key[0], r.rate]));
        const rx = new Map(recv.rows.map((r) => [r.key[0], r.rate]));
        const load = (n: string) => (tx.get(n) ?? 0) + (rx.get(n) ?? 0);
        vms.sort((a, b) => load(b.name) - load(a.name) || a.name.localeCompare(b.name));
        const rows = (list: typeof vms) =>
          list.map((p) => [
            h(
              'a',
              { href: link('flows', '', ctx.route, { filter: `endpoint ${filterValue(p.name)}` }) },
              p.name,
            ),
            h('span', { class: 'mono' }, p.ips.join(', ')),
            p.network,
            p.subnets.join(', '),
            numCell(tx.get(p.name) ?? 0, rate(tx.get(p.name) ?? 0, sent.unit)),
            numCell(rx.get(p.name) ?? 0, rate(rx.get(p.name) ?? 0, recv.unit)),
          ]);
        const cols = [
          { label: 'Endpoint' },
          { label: 'Addresses' },
          { label: 'Network' },
          { label: 'Subnet' },
          { label: 'Sends', num: true },
          { label: 'Receives', num: true },
        ];
        const SHOWN = 15;
        const wrap = h('div', null, table(cols, rows(vms.slice(0, SHOWN))));
        if (vms.length > SHOWN)
          wrap.append(
            h(
              'button',
              {
                type: 'button',
                class: 'btn ghost',
                onclick: () => wrap.replaceChildren(table(cols, rows(vms))),
              },
              `Show all ${vms.length} endpoints`,
            ),
          );
        return wrap;
      },
    );

    root.append(
      head,
      grid(summary, byNetwork, byClass, protocols, talkers, ports, matrixCard, vteps, networks, endpoints),
    );
  },
};
