/**
 * Alerts: what fires now, the history on a timeline under the traffic chart, the rules
 * (create from a form or a built-in, edit, enable/disable, test against the last hour:
 * "would have fired at …", send a test webhook, delete) and the webhook delivery log.
 * Everything through /api/v1/alerts; a tenant sees and manages its own only (the server
 * decides). Wiring: `alerts: alertsPage` in main.ts's PAGES and ['alerts', 'Alerts'] in the
 * header's items.
 */
import { api, get, post, type SeriesResponse } from '../api.ts';
import { colorFor, timeChart } from '../charts.ts';
import { type Child, h } from '../dom.ts';
import { dateTime } from '../format.ts';
import { pointsFor } from '../state.ts';
import { card, empty, grid, type Page, type PageCtx, pageHead, table } from '../ui.ts';

interface Target {
  url: string;
  format: string;
  hasSecret: boolean;
  secret?: string;
}
interface Rule {
  id: string;
  name: string;
  tenant: string | null;
  enabled: boolean;
  measure: string;
  scope: Record<string, unknown>;
  groupBy: string[];
  condition: Record<string, unknown>;
  windowSeconds: number;
  intervalSeconds: number;
  activation: { matches: number; of: number };
  resolve: { after: number; ratio: number };
  cooldownSeconds: number;
  renotifySeconds: number;
  minFlowsPerSecond: number;
  targets: Target[];
  description?: string;
}
interface Active {
  ruleId: string;
  ruleName: string;
  tenant: string | null;
  key: string;
  since: string;
  value: number;
  threshold: number;
}
interface HistoryEvent {
  eventId: string;
  ruleName: string;
  key: string;
  kind: string;
  time: string;
  value: number;
  threshold: number;
}
interface Delivery {
  id: string;
  ruleId: string;
  kind: string;
  target: string;
  status: string;
  attempts: number;
  statusCode: number;
  error: string;
  created: string;
  log: { attempt: number; statusCode: number; error: string }[];
}
interface Simulation {
  summary: string;
  evaluations: number;
  events: { time: string; kind: string; key: string; value: number; threshold: number }[];
}

const MEASURES = [
  'bps',
  'pps',
  'fps',
  'distinct_src',
  'distinct_dst',
  'syn_share',
  'seq_loss',
  'exporter_silence',
];

const num = (v: number) =>
  Math.abs(v) >= 1e9
    ? `${(v / 1e9).toPrecision(3)}G`
    : Math.abs(v) >= 1e6
      ? `${(v / 1e6).toPrecision(3)}M`
      : Math.abs(v) >= 1e3
        ? `${(v / 1e3).toPrecision(3)}k`
        : `${Number(v.toPrecision(3))}`;

function keyText(key: string): string {
  if (!key) return '—';
  try {
    return Object.entries(JSON.parse(key) as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  } catch {
    return key;
  }
}

function conditionText(r: Pick<Rule, 'condition' | 'activation' | 'windowSeconds'>): string {
  const c = r.condition as {
    type: string;
    op: string;
    value?: number;
    factor?: number;
    method?: string;
    periods?: number;
  };
  const base =
    c.type === 'threshold'
      ? `${c.op} ${num(c.value ?? 0)}`
      : c.type === 'baseline'
        ? `${c.op} ${c.factor}× ${c.method === 'same_time' ? `same time, ${c.periods} d` : `mean of ${c.periods} windows`}`
        : `${c.op} ${c.factor}× from the last window`;
  return `${base} over ${r.windowSeconds} s, ${r.activation.matches} of ${r.activation.of}`;
}

/** The rule form: the usual fields, and the whole rule as JSON for everything else. */
function ruleForm(
  builtins: Record<string, Record<string, unknown>>,
  editing: Rule | null,
  done: () => void,
): HTMLElement {
  const spec: Record<string, unknown> = editing
    ? (() => {
        const {
          id: _i,
          created: _c,
          updated: _u,
          version: _v,
          builtin: _b,
          targets,
          ...rest
        } = editing as Rule & Record<string, unknown>;
        return { ...rest, targets: targets.map((t) => ({ url: t.url, format: t.format })) };
      })()
    : {
        name: '',
        scope: {},
        measure: 'bps',
        groupBy: [],
        condition: { type: 'threshold', op: 'above', value: 1e9 },
        windowSeconds: 300,
        intervalSeconds: 60,
        activation: { matches: 1, of: 1 },
        targets: [],
      };
  const json = h('textarea', {
    class: 'mono',
    rows: 14,
    'aria-label': 'rule as JSON',
    spellcheck: 'false',
  }) as HTMLTextAreaElement;
  const out = h('div', { class: 'form-result', role: 'status' });
  const field = (label: string, input: HTMLElement) =>
    h('label', { class: 'field' }, h('span', null, label), input);
  const input = (value: unknown, onInput: (v: string) => void, attrs: Record<string, unknown> = {}) =>
    h('input', {
      value: String(value ?? ''),
      oninput: (e: Event) => onInput((e.target as HTMLInputElement).value),
      ...attrs,
    });
  const sync = () => {
    json.value = JSON.stringify(spec, null, 2);
  };
  /** a form field changed: the object it edits, then the JSON beside the form */
  const set = (o: Record<string, unknown>, k: string, v: unknown) => {
    o[k] = v;
    sync();
  };
  const read = (): Record<string, unknown> => JSON.parse(json.value) as Record<string, unknown>;
  const cond = spec.condition as Record<string, unknown>;
  const scope = spec.scope as Record<string, unknown>;
  const targets = spec.targets as { url: string; format: string }[];
  const fields = h(
    'div',
    { class: 'form-grid' },
    field(
      'Name',
      input(spec.name, (v) => set(spec, 'name', v), { required: true }),
    ),
    field(
      'Measure',
      h(
        'select',
        { onchange: (e: Event) => set(spec, 'measure', (e.target as HTMLSelectElement).value) },
        MEASURES.map((m) => h('option', { value: m, selected: m === spec.measure }, m)),
      ),
    ),
    field(
      'Filter',
      input(scope.filter ?? '', (v) => set(scope, 'filter', v || undefined), {
        placeholder: 'proto tcp and dst port 443',
      }),
    ),
    field(
      'Group by',
      input(
        (spec.groupBy as string[]).join(', '),
        (v) => set(spec, 'groupBy', v.split(/[,\s]+/).filter(Boolean)),
        { placeholder: 'vni, dst_addr' },
      ),
    ),
    field(
      cond.type === 'threshold' ? `Threshold (${cond.op})` : 'Factor',
      input(
        cond.type === 'threshold' ? cond.value : cond.factor,
        (v) => {
          if (cond.type === 'threshold') cond.value = Number(v);
          else cond.factor = Number(v);
          sync();
        },
        { type: 'number', step: 'any' },
      ),
    ),
    field(
      'Window (s)',
      input(spec.windowSeconds, (v) => set(spec, 'windowSeconds', Number(v)), { type: 'number' }),
    ),
    field(
      'Every (s)',
      input(spec.intervalSeconds, (v) => set(spec, 'intervalSeconds', Number(v)), { type: 'number' }),
    ),
    field(
      'Webhook URL',
      input(
        targets[0]?.url ?? '',
        (v) => {
          spec.targets = v ? [{ url: v, format: targets[0]?.format ?? 'json' }] : [];
          sync();
        },
        { type: 'url', placeholder: 'https://hooks.example.com/vxflow' },
      ),
    ),
  );
  const templates = editing
    ? null
    : h(
        'select',
        {
          'aria-label': 'start from a built-in rule',
          onchange: (e: Event) => {
            const b = builtins[(e.target as HTMLSelectElement).value];
            if (!b) return;
            json.value = JSON.stringify({ ...b, targets }, null, 2);
          },
        },
        h('option', { value: '' }, 'Start from a built-in rule…'),
        Object.entries(builtins).map(([k, b]) => h('option', { value: k }, String(b.name ?? k))),
      );
  const showError = (err: unknown) =>
    out.replaceChildren(h('p', { class: 'login-error', role: 'alert' }, (err as Error).message));
  const testBtn = h(
    'button',
    {
      type: 'button',
      class: 'btn',
      onclick: async () => {
        try {
          const r = await post<Simulation>('/api/v1/alerts/test', { rule: read() });
          out.replaceChildren(h('p', null, `Last hour: ${r.summary} (${r.evaluations} evaluations)`));
        } catch (err) {
          showError(err);
        }
      },
    },
    'Test against the last hour',
  );
  const saveBtn = h(
    'button',
    {
      type: 'submit',
      class: 'btn primary',
    },
    editing ? 'Save' : 'Create',
  );
  sync();
  return h(
    'form',
    {
      class: 'rule-form',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const body = read();
          const saved = editing
            ? await api<Rule>('PUT', `/api/v1/alerts/rules/${editing.id}`, body)
            : await post<Rule>('/api/v1/alerts/rules', body);
          const secrets = saved.targets.filter((t) => t.secret);
          out.replaceChildren(h('p', null, `Saved ${saved.name}.`));
          if (secrets.length)
            out.append(
              h(
                'p',
                null,
                'Webhook secret (shown once, for X-Vxflow-Signature): ',
                secrets.map((t) => h('code', null, t.secret)),
              ),
            );
          done();
        } catch (err) {
          showError(err);
        }
      },
    },
    templates,
    fields,
    h('details', null, h('summary', null, 'Every option, as JSON'), json),
    h('div', { class: 'form-actions' }, testBtn, saveBtn),
    out,
  );
}

/** Events as marks on a strip aligned with the chart's time axis above it. */
function timeline(ctx: PageCtx, events: HistoryEvent[]): HTMLElement {
  const span = ctx.range.end - ctx.range.start;
  const strip = h('div', {
    class: 'alert-timeline',
    style: { position: 'relative', height: '28px' },
    'aria-label': 'alert events over the range',
  });
  for (const e of events) {
    const t = Date.parse(e.time) / 1000;
    if (t < ctx.range.start || t > ctx.range.end) continue;
    strip.append(
      h('span', {
        class: `mark ${e.kind}`,
        title: `${e.kind} ${dateTime(e.time)}: ${e.ruleName} ${keyText(e.key)} = ${num(e.value)} (threshold ${num(e.threshold)})`,
        style: {
          position: 'absolute',
          left: `${((t - ctx.range.start) / span) * 100}%`,
          top: e.kind === 'resolved' ? '14px' : '2px',
          width: '3px',
          height: '12px',
          background: e.kind === 'resolved' ? 'var(--good, #1a7f37)' : 'var(--bad, #cf222e)',
        },
      }),
    );
  }
  return strip;
}

export const alertsPage: Page = {
  title: 'Alerts',
  async render(root, ctx) {
    const builtins = await get<{ rules: Record<string, Record<string, unknown>> }>(
      '/api/v1/alerts/builtin',
      ctx.signal,
    )
      .then((r) => r.rules)
      .catch(() => ({}));
    let editing: Rule | null = null;
    const formHost = h('div');
    const refresh = () => {
      for (const run of ctx.cards) run();
    };
    const showForm = () => {
      formHost.replaceChildren(ruleForm(builtins, editing, refresh));
    };
    showForm();

    const firing = card(ctx, { title: 'Firing now', span: 'half', id: 'alerts-active' }, async (s) => {
      const r = await get<{ alerts: Active[] }>('/api/v1/alerts/active', s);
      if (r.alerts.length === 0) return empty('Nothing is firing');
      return table(
        [
          { label: 'Rule' },
          { label: 'Key' },
          { label: 'Since' },
          { label: 'Value', num: true },
          { label: 'Threshold', num: true },
        ],
        r.alerts.map((a) => [a.ruleName, keyText(a.key), dateTime(a.since), num(a.value), num(a.threshold)]),
      );
    });

    const history = card(
      ctx,
      { title: 'Traffic and alert events', span: 'full', id: 'alerts-history' },
      async (s) => {
        const [series, hist] = await Promise.all([
          post<SeriesResponse>(
            '/api/v1/traffic/series',
            {
              start: ctx.range.start,
              end: ctx.range.end,
              unit: ctx.unit,
              dimensions: [],
              points: pointsFor(ctx.range),
            },
            s,
          ),
          get<{ events: HistoryEvent[] }>(
            `/api/v1/alerts/history?start=${ctx.range.start}&end=${ctx.range.end}`,
            s,
          ),
        ]);
        const { el } = timeChart({
          t: series.t,
          series: series.series.map((x, i) => ({
            name: x.name,
            values: x.values,
            color: colorFor(x.name, i),
          })),
          stacked: true,
          unit: series.unit as 'bps',
          span: ctx.range.end - ctx.range.start,
        });
        const list: Child = hist.events.length
          ? table(
              [
                { label: 'Time' },
                { label: 'Event' },
                { label: 'Rule' },
                { label: 'Key' },
                { label: 'Value', num: true },
                { label: 'Threshold', num: true },
              ],
              hist.events.map((e) => [
                dateTime(e.time),
                e.kind,
                e.ruleName,
                keyText(e.key),
                num(e.value),
                num(e.threshold),
              ]),
            )
          : empty('No alert events in this range');
        return [el, timeline(ctx, hist.events), list];
      },
    );

    const rules = card(ctx, { title: 'Rules', span: 'full', id: 'alerts-rules' }, async (s) => {
      const r = await get<{ rules: Rule[] }>('/api/v1/alerts/rules', s);
      if (r.rules.length === 0)
        return empty('No rules yet', 'Create one below, or start from a built-in rule.');
      const note = h('div', { role: 'status', class: 'rule-note' });
      const act = (label: string, fn: () => Promise<unknown>) =>
        h(
          'button',
          {
            type: 'button',
            class: 'btn small',
            onclick: async () => {
              try {
                await fn();
              } catch (err) {
                note.replaceChildren(h('p', { class: 'login-error', role: 'alert' }, (err as Error).message));
              }
            },
          },
          label,
        );
      return [
        table(
          [
            { label: 'Rule' },
            { label: 'Tenant' },
            { label: 'Measure' },
            { label: 'Condition' },
            { label: 'Targets', num: true },
            { label: '' },
          ],
          r.rules.map((rule) => [
            h(
              'span',
              { title: rule.description ?? '' },
              rule.name,
              rule.enabled ? null : h('span', { class: 'muted' }, ' (disabled)'),
            ),
            rule.tenant ?? 'global',
            rule.measure,
            conditionText(rule),
            String(rule.targets.length),
            h(
              'span',
              { class: 'row-actions' },
              act(rule.enabled ? 'Disable' : 'Enable', async () => {
                const {
                  id,
                  created: _c,
                  updated: _u,
                  version: _v,
                  builtin: _b,
                  targets,
                  ...rest
                } = rule as Rule & Record<string, unknown>;
                await api('PUT', `/api/v1/alerts/rules/${id}`, {
                  ...rest,
                  enabled: !rule.enabled,
                  targets: targets.map((t) => ({ url: t.url, format: t.format })),
                });
                refresh();
              }),
              act('Test last hour', async () => {
                const t = await post<Simulation>('/api/v1/alerts/test', { ruleId: rule.id });
                note.replaceChildren(h('p', null, `${rule.name}: ${t.summary}`));
              }),
              rule.targets.length
                ? act('Send test', async () => {
                    const t = await post<{
                      results: { target: string; status: string; statusCode: number; error: string }[];
                    }>(`/api/v1/alerts/rules/${rule.id}/send-test`, {});
                    note.replaceChildren(
                      h(
                        'p',
                        null,
                        t.results
                          .map((x) => `${x.target}: ${x.status} ${x.statusCode || ''} ${x.error}`)
                          .join('; '),
                      ),
                    );
                    refresh();
                  })
                : null,
              act('Edit', async () => {
                editing = rule;
                showForm();
                formHost.scrollIntoView({ behavior: 'smooth' });
              }),
              act('Delete', async () => {
                if (!confirm(`Delete the rule ${rule.name}?`)) return;
                await api('DELETE', `/api/v1/alerts/rules/${rule.id}`);
                refresh();
              }),
            ),
          ]),
        ),
        note,
      ];
    });

    const deliveries = card(
      ctx,
      { title: 'Webhook deliveries', span: 'full', id: 'alerts-deliveries' },
      async (s) => {
        const r = await get<{ deliveries: Delivery[] }>('/api/v1/alerts/deliveries?limit=50', s);
        if (r.deliveries.length === 0) return empty('No deliveries yet');
        return table(
          [
            { label: 'Created' },
            { label: 'Event' },
            { label: 'Target' },
            { label: 'Status' },
            { label: 'Attempts', num: true },
            { label: 'Codes' },
            { label: 'Error' },
          ],
          r.deliveries.map((d) => [
            dateTime(d.created),
            d.kind,
            d.target,
            d.status,
            String(d.attempts),
            d.log.map((a) => a.statusCode || '—').join(' → '),
            d.error,
          ]),
        );
      },
    );

    const formCard = h(
      'section',
      { class: 'card span-full', id: 'alerts-form' },
      h('header', { class: 'card-head' }, h('div', null, h('h2', null, 'New or edited rule'))),
      h('div', { class: 'card-body' }, formHost),
    );
    root.append(
      pageHead('Alerts', 'Rules, what fires now, history and webhook deliveries'),
      grid(firing, history, rules, formCard, deliveries),
    );
  },
};
