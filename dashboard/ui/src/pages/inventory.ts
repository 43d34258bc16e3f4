/**
 * Inventory: tenants → networks (VNI or VLAN) → subnets (CIDR) → ports (VM name, IP). What
 * the collector attributes flows by. Everyone reads their scope; admins edit a tenant in a
 * form (PUT /api/v1/inventory/tenants/NAME), add or remove tenants, or edit the whole file as
 * YAML (for people who keep it in git). The server validates: its reason is shown in place.
 */
import {
  api,
  ApiError,
  get,
  type Inventory,
  type InventoryNetwork,
  type InventoryTenant,
  post,
} from '../api.ts';
import { type Child, fill, h, icon, ICONS } from '../dom.ts';
import { dateTime } from '../format.ts';
import { link } from '../state.ts';
import { empty, errorBox, type Page, type PageCtx, pageHead, spinner, table } from '../ui.ts';
import { tenantArg } from './overview.ts';

function segment(n: InventoryNetwork): Child {
  if (n.vni !== undefined) return h('span', { class: 'pill' }, `VNI ${n.vni}`);
  if (n.vlan !== undefined) return h('span', { class: 'pill' }, `VLAN ${n.vlan}`);
  return h('span', { class: 'pill' }, 'flat');
}

function tenantView(
  ctx: PageCtx,
  t: InventoryTenant,
  onEdit?: () => void,
  onDelete?: () => void,
): HTMLElement {
  const ports = t.networks.reduce((a, n) => a + n.subnets.reduce((b, s) => b + (s.ports?.length ?? 0), 0), 0);
  return h(
    'section',
    { class: 'card span-full inv-tenant', 'data-tenant': t.name },
    h(
      'header',
      { class: 'card-head' },
      h(
        'div',
        null,
        h('h2', null, h('a', { href: link('tenant', tenantArg(t.name), ctx.route) }, t.name)),
        h(
          'p',
          { class: 'sub' },
          `${t.networks.length} networks · ${t.networks.reduce((a, n) => a + n.subnets.length, 0)} subnets · ${ports} ports`,
        ),
      ),
      h(
        'div',
        { class: 'card-actions' },
        onEdit ? h('button', { type: 'button', class: 'btn', onclick: onEdit }, 'Edit') : null,
        onDelete ? h('button', { type: 'button', class: 'btn danger', onclick: onDelete }, 'Delete') : null,
      ),
    ),
    h(
      'div',
      { class: 'card-body' },
      t.networks.length === 0
        ? empty('No networks yet')
        : t.networks.map((n) =>
            h(
              'div',
              { class: 'inv-net' },
              h(
                'header',
                null,
                h('h3', null, n.name),
                segment(n),
                h('span', { class: 'muted' }, `${n.subnets.length} subnets`),
              ),
              table(
                [{ label: 'Subnet' }, { label: 'CIDR' }, { label: 'Ports' }],
                n.subnets.map((s) => [
                  s.name ?? '',
                  h('span', { class: 'mono' }, s.cidr),
                  (s.ports ?? []).length === 0
                    ? h('span', { class: 'muted' }, '—')
                    : h(
                        'span',
                        null,
                        (s.ports ?? []).map((p, i) => [
                          i ? ', ' : '',
                          h('b', null, p.name),
                          ' ',
                          h('span', { class: 'mono muted' }, p.ip),
                        ]),
                      ),
                ]),
              ),
            ),
          ),
    ),
  );
}

const input = (
  label: string,
  value: string,
  onInput: (v: string) => void,
  attrs: Record<string, unknown> = {},
) =>
  h('input', {
    type: 'text',
    value,
    'aria-label': label,
    placeholder: label,
    oninput: (e: Event) => onInput((e.target as HTMLInputElement).value),
    ...attrs,
  });

/** A form over one tenant's networks, subnets and ports. */
function tenantForm(
  t: InventoryTenant,
  isNew: boolean,
  onSave: (t: InventoryTenant) => Promise<void>,
  onCancel: () => void,
): HTMLElement {
  const model: InventoryTenant = JSON.parse(JSON.stringify(t));
  const body = h('div');
  const msg = h('div', { 'aria-live': 'polite' });
  const edit = (change: () => unknown) => () => {
    change();
    draw();
  };
  const draw = () => {
    fill(
      body,
      isNew
        ? h(
            'label',
            { class: 'field' },
            h('span', null, 'Tenant name'),
            input('tenant name', model.name, (v) => (model.name = v), { required: true }),
          )
        : null,
      model.networks.map((n, ni) =>
        h(
          'div',
          { class: 'inv-net' },
          h(
            'header',
            null,
            input('network name', n.name, (v) => (n.name = v)),
            h(
              'select',
              {
                'aria-label': 'segment type',
                onchange: (e: Event) => {
                  const v = (e.target as HTMLSelectElement).value;
                  const id = n.vni ?? n.vlan;
                  delete n.vni;
                  delete n.vlan;
                  if (v === 'vni') n.vni = id ?? 0;
                  if (v === 'vlan') n.vlan = id ?? 0;
                  draw();
                },
              },
              ['vni', 'vlan', 'flat'].map((v) =>
                h(
                  'option',
                  {
                    value: v,
                    selected:
                      (v === 'vni' && n.vni !== undefined) ||
                      (v === 'vlan' && n.vlan !== undefined) ||
                      (v === 'flat' && n.vni === undefined && n.vlan === undefined),
                  },
                  v.toUpperCase(),
                ),
              ),
            ),
            n.vni !== undefined || n.vlan !== undefined
              ? h('input', {
                  type: 'number',
                  min: '0',
                  'aria-label': n.vni !== undefined ? 'VNI' : 'VLAN',
                  value: String(n.vni ?? n.vlan),
                  style: { width: '100px' },
                  oninput: (e: Event) => {
                    const v = Number((e.target as HTMLInputElement).value);
                    if (n.vni !== undefined) n.vni = v;
                    else n.vlan = v;
                  },
                })
              : null,
            h(
              'button',
              { type: 'button', class: 'btn danger', onclick: edit(() => model.networks.splice(ni, 1)) },
              icon(ICONS.x),
              'network',
            ),
          ),
          h(
            'div',
            { class: 'card-body' },
            n.subnets.map((s, si) =>
              h(
                'div',
                { class: 'controls' },
                input('subnet name', s.name ?? '', (v) => (s.name = v)),
                input('CIDR', s.cidr, (v) => (s.cidr = v), { class: 'mono' }),
                h(
                  'button',
                  { type: 'button', class: 'btn danger', onclick: edit(() => n.subnets.splice(si, 1)) },
                  icon(ICONS.x),
                  'subnet',
                ),
                h(
                  'div',
                  { class: 'chips', style: { flexBasis: '100%' } },
                  (s.ports ?? []).map((p, pi) =>
                    h(
                      'span',
                      { class: 'controls', style: { margin: '0' } },
                      input('port name', p.name, (v) => (p.name = v)),
                      input('IP', p.ip, (v) => (p.ip = v), { class: 'mono' }),
                      h(
                        'button',
                        {
                          type: 'button',
                          class: 'btn ghost icon-only',
                          'aria-label': 'remove port',
                          onclick: edit(() => s.ports?.splice(pi, 1)),
                        },
                        icon(ICONS.x),
                      ),
                    ),
                  ),
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'btn ghost',
                      onclick: () => {
                        s.ports = [...(s.ports ?? []), { name: '', ip: '' }];
                        draw();
                      },
                    },
                    icon(ICONS.plus),
                    'port',
                  ),
                ),
              ),
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'btn ghost',
                onclick: edit(() => n.subnets.push({ name: '', cidr: '', ports: [] })),
              },
              icon(ICONS.plus),
              'subnet',
            ),
          ),
        ),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn',
          onclick: edit(() => model.networks.push({ name: '', vni: 0, subnets: [] })),
        },
        icon(ICONS.plus),
        'network',
      ),
    );
  };
  draw();
  const save = h(
    'button',
    {
      type: 'button',
      class: 'btn primary',
      onclick: async () => {
        save.setAttribute('disabled', '');
        try {
          await onSave(model);
        } catch (err) {
          fill(msg, h('div', { class: 'notice bad', role: 'alert' }, (err as Error).message));
          save.removeAttribute('disabled');
        }
      },
    },
    'Save',
  );
  return h(
    'section',
    { class: 'card span-full inv-tenant editing' },
    h(
      'header',
      { class: 'card-head' },
      h('h2', null, isNew ? 'New tenant' : `Editing ${t.name}`),
      h(
        'div',
        { class: 'card-actions' },
        save,
        h('button', { type: 'button', class: 'btn', onclick: onCancel }, 'Cancel'),
      ),
    ),
    h('div', { class: 'card-body' }, msg, body),
  );
}

export const inventoryPage: Page = {
  title: 'Inventory',
  render(root, ctx) {
    const admin = ctx.me.role === 'admin';
    const status = h('div', { 'aria-live': 'polite' });
    const list = h('div', { class: 'grid' }, spinner());
    let inv: Inventory | null = null;

    const load = async (note?: string) => {
      try {
        inv = await get<Inventory>('/api/v1/inventory', ctx.signal);
        fill(status, note ? h('div', { class: 'notice ok', role: 'status' }, note) : null);
        draw();
      } catch (err) {
        fill(list, errorBox(err));
      }
    };

    const draw = () => {
      if (!inv) return;
      const current = inv;
      if (current.tenants.length === 0) {
        fill(
          list,
          h(
            'section',
            { class: 'card span-full' },
            empty('The inventory is empty', admin ? 'Add a tenant, or import a YAML file.' : undefined),
          ),
        );
        return;
      }
      fill(
        list,
        current.tenants.map((t) =>
          tenantView(
            ctx,
            t,
            admin
              ? () => {
                  const form = tenantForm(
                    t,
                    false,
                    async (m) => {
                      await api('PUT', `/api/v1/inventory/tenants/${encodeURIComponent(t.name)}`, {
                        networks: m.networks,
                      });
                      await load(`Saved ${t.name}; collectors apply it within seconds.`);
                    },
                    draw,
                  );
                  list.querySelector(`[data-tenant="${CSS.escape(t.name)}"]`)?.replaceWith(form);
                }
              : undefined,
            admin
              ? async () => {
                  if (!confirm(`Remove ${t.name} from the inventory? Its stored flows stay.`)) return;
                  try {
                    await api('DELETE', `/api/v1/inventory/tenants/${encodeURIComponent(t.name)}`);
                    await load(`Removed ${t.name}.`);
                  } catch (err) {
                    fill(status, h('div', { class: 'notice bad', role: 'alert' }, (err as Error).message));
                  }
                }
              : undefined,
          ),
        ),
      );
    };

    const addTenant = () => {
      const form = tenantForm(
        { name: '', networks: [{ name: '', vni: 0, subnets: [{ name: '', cidr: '', ports: [] }] }] },
        true,
        async (m) => {
          if (!m.name.trim()) throw new Error('the tenant needs a name');
          if (inv?.tenants.some((t) => t.name === m.name))
            throw new Error(`${m.name} exists already: edit it instead`);
          await api('PUT', `/api/v1/inventory/tenants/${encodeURIComponent(m.name.trim())}`, {
            networks: m.networks,
          });
          await load(`Added ${m.name}.`);
        },
        draw,
      );
      list.prepend(form);
    };

    const editYaml = async () => {
      const loadedVersion = inv?.version ?? null;
      const text = await fetch('/api/v1/inventory?format=yaml', { credentials: 'same-origin' }).then((r) =>
        r.text(),
      );
      const area = h(
        'textarea',
        { class: 'yaml', spellcheck: 'false', 'aria-label': 'inventory YAML' },
        text,
      );
      const msg = h('div', { 'aria-live': 'polite' });
      const save = async () => {
        try {
          const now = await get<Inventory>('/api/v1/inventory');
          if (
            now.version !== loadedVersion &&
            !confirm(
              `The inventory changed since you opened it (version ${loadedVersion} → ${now.version}). Save yours over it?`,
            )
          )
            return;
          const r = await post<{ version: number; tenants: number }>('/api/v1/inventory/import', {
            yaml: area.value,
          });
          await load(`Saved version ${r.version} (${r.tenants} tenants).`);
        } catch (err) {
          fill(
            msg,
            h(
              'div',
              { class: 'notice bad', role: 'alert' },
              err instanceof ApiError ? err.message : String(err),
            ),
          );
        }
      };
      fill(
        list,
        h(
          'section',
          { class: 'card span-full' },
          h(
            'header',
            { class: 'card-head' },
            h('h2', null, 'The inventory as YAML'),
            h(
              'div',
              { class: 'card-actions' },
              h('button', { type: 'button', class: 'btn primary', onclick: save }, 'Save'),
              h('button', { type: 'button', class: 'btn', onclick: draw }, 'Cancel'),
            ),
          ),
          h('div', { class: 'card-body' }, msg, area),
        ),
      );
      area.focus();
    };

    const actions = admin
      ? [
          h(
            'button',
            { type: 'button', class: 'btn primary', onclick: addTenant },
            icon(ICONS.plus),
            'Tenant',
          ),
          h('button', { type: 'button', class: 'btn', onclick: () => void editYaml() }, 'Edit as YAML'),
          h(
            'a',
            { class: 'btn', href: '/api/v1/inventory?format=yaml', download: 'inventory.yaml' },
            icon(ICONS.download),
            'YAML',
          ),
        ]
      : [
          h(
            'a',
            { class: 'btn', href: '/api/v1/inventory?format=yaml', download: 'inventory.yaml' },
            icon(ICONS.download),
            'YAML',
          ),
        ];
    const sub = h('span');
    root.append(pageHead('Inventory', sub, actions), status, list);
    void load().then(() => {
      if (!inv) return;
      fill(
        sub,
        inv.version === null
          ? 'Nothing saved through the API yet'
          : `Saved ${inv.updated ? dateTime(inv.updated) : ''}${inv.author ? ` by ${inv.author}` : ''}. Flows are attributed by VNI first, then by subnet.`,
      );
    });
  },
};
