/**
 * SQL console: CodeMirror 6 with SQL highlighting, run with Ctrl-Enter (⌘-Enter), the
 * result as a table and, when it has a time column and numbers, as a chart; the tables
 * the caller may read listed beside it with their columns; errors shown under the editor
 * (a ClickHouse syntax error also puts the cursor where it failed). The query is kept in
 * the URL, so a shared link runs it again.
 */
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { SQLDialect, sql as sqlLang } from '@codemirror/lang-sql';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorState, Prec } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  keymap,
  lineNumbers,
  placeholder,
} from '@codemirror/view';
import { ApiError, post, type SqlResult } from '../api.ts';
import { colorFor, mountCharts, timeChart } from '../charts.ts';
import { fill, h, icon, ICONS } from '../dom.ts';
import { integer, si } from '../format.ts';
import { empty, legend, type Page, type PageCtx, pageHead, spinner } from '../ui.ts';

const TABLES = ['flows', 'flows_1m', 'flows_5m', 'flows_1h'];

const EXAMPLES: { label: string; query: string }[] = [
  {
    label: 'Bytes per network, per hour',
    query:
      'SELECT toStartOfHour(time) AS t, network, sum(bytes * sampling_rate) AS total_bytes\nFROM flows_1h\nWHERE time > now() - INTERVAL 1 DAY\nGROUP BY t, network\nORDER BY t',
  },
  {
    label: 'Top talkers (last hour)',
    query:
      "SELECT replaceRegexpOne(IPv6NumToString(src_addr), '^::ffff:', '') AS src, src_endpoint,\n       sum(bytes * sampling_rate) AS total_bytes, count() AS flows\nFROM flows\nWHERE time_received > now() - INTERVAL 1 HOUR\nGROUP BY src, src_endpoint\nORDER BY total_bytes DESC\nLIMIT 20",
  },
  {
    label: 'East-west share per VNI',
    query:
      "SELECT vni, network, round(100 * sumIf(bytes * sampling_rate, traffic_class = 'east-west') / sum(bytes * sampling_rate), 1) AS east_west_pct,\n       sum(bytes * sampling_rate) AS total_bytes\nFROM flows_5m\nWHERE time > now() - INTERVAL 1 DAY\nGROUP BY vni, network\nORDER BY total_bytes DESC",
  },
];

const DEFAULT_QUERY =
  'SELECT network, vni, sum(bytes * sampling_rate) AS total_bytes, sum(flows) AS total_flows\nFROM flows_1m\nWHERE time > now() - INTERVAL 1 HOUR\nGROUP BY network, vni\nORDER BY total_bytes DESC\nLIMIT 20';

const isTime = (t: string) => /^(Nullable\()?(DateTime|Date)/.test(t);
const isNumber = (t: string) => /^(Nullable\()?(U?Int|Float|Decimal)/.test(t);

function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A chart of the result when it has a time column and numbers: one line per number column, or per value of one text column. */
function resultChart(r: SqlResult): HTMLElement | null {
  const ti = r.columns.findIndex((c) => isTime(c.type));
  if (ti < 0 || r.rows.length < 2) return null;
  const nums = r.columns.map((c, i) => (i !== ti && isNumber(c.type) ? i : -1)).filter((i) => i >= 0);
  if (nums.length === 0) return null;
  const texts = r.columns
    .map((c, i) => (i !== ti && !isNumber(c.type) && !isTime(c.type) ? i : -1))
    .filter((i) => i >= 0);
  const times = [...new Set(r.rows.map((row) => String(row[ti])))].sort();
  const at = new Map(times.map((t, i) => [t, i]));
  const lines = new Map<string, number[]>();
  const vi = nums[0];
  if (texts.length === 1 && nums.length >= 1) {
    const totals = new Map<string, number>();
    for (const row of r.rows)
      totals.set(String(row[texts[0]]), (totals.get(String(row[texts[0]])) ?? 0) + Number(row[vi]));
    const keep = new Set(
      [...totals.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([k]) => k),
    );
    for (const row of r.rows) {
      const k = String(row[texts[0]]);
      if (!keep.has(k)) continue;
      const arr = lines.get(k) ?? new Array(times.length).fill(0);
      arr[at.get(String(row[ti])) ?? 0] += Number(row[vi]);
      lines.set(k, arr);
    }
  } else {
    for (const i of nums.slice(0, 6)) {
      const arr = new Array(times.length).fill(0);
      for (const row of r.rows) arr[at.get(String(row[ti])) ?? 0] += Number(row[i]);
      lines.set(r.columns[i].name, arr);
    }
  }
  const toIso = (t: string) => (/^\d{4}-\d{2}-\d{2} /.test(t) ? `${t.replace(' ', 'T')}Z` : t);
  const span =
    times.length > 1
      ? (Date.parse(toIso(times[times.length - 1])) - Date.parse(toIso(times[0]))) / 1000
      : 3600;
  const series = [...lines.entries()].map(([name, values], i) => ({
    name: name || '(empty)',
    values,
    color: colorFor(name, i),
  }));
  const { el } = timeChart({
    t: times.map(toIso),
    series,
    stacked: false,
    unit: 'fps',
    format: (v) => {
      const [n, p] = si(v);
      return `${n}${p ? ` ${p}` : ''}`;
    },
    span: Number.isFinite(span) ? span : 3600,
  });
  return h('div', null, el, legend(series));
}

function tablesPanel(ctx: PageCtx, insert: (text: string) => void): HTMLElement {
  const list = h('div', { class: 'tables-list' });
  for (const t of TABLES) {
    const ul = h('ul');
    const details = h('details', null, h('summary', null, t), ul);
    details.addEventListener('toggle', async () => {
      if (!details.open || ul.childElementCount) return;
      ul.append(h('li', { class: 'muted' }, 'loading…'));
      try {
        const r = await post<SqlResult>('/api/v1/sql', { query: `SELECT * FROM ${t} LIMIT 0` }, ctx.signal);
        fill(
          ul,
          r.columns.map((c) =>
            h(
              'li',
              null,
              h(
                'button',
                { type: 'button', title: `insert ${c.name}`, onclick: () => insert(c.name) },
                c.name,
              ),
              h('span', { class: 'muted' }, c.type),
            ),
          ),
        );
      } catch (err) {
        fill(ul, h('li', { class: 'muted' }, (err as Error).message));
      }
    });
    list.append(details);
  }
  return h(
    'aside',
    { class: 'card', 'aria-label': 'tables' },
    h(
      'header',
      { class: 'card-head' },
      h(
        'div',
        null,
        h('h2', null, 'Tables'),
        h(
          'p',
          { class: 'sub' },
          ctx.me.role === 'tenant' ? 'your rows only, whatever the query says' : 'the vxflow database',
        ),
      ),
    ),
    h(
      'div',
      { class: 'card-body' },
      list,
      h(
        'p',
        { class: 'foot' },
        'Counters are as exported: multiply bytes and packets by sampling_rate. Addresses: IPv6NumToString(src_addr).',
      ),
    ),
  );
}

export const sqlPage: Page = {
  title: 'SQL',
  render(root, ctx) {
    const initial = ctx.route.params.get('q') ?? DEFAULT_QUERY;
    const out = h('div', { class: 'sql-out' });
    const status = h('span', { class: 'muted', 'aria-live': 'polite' });
    let view: EditorView;
    let ctrl: AbortController | null = null;

    const run = async () => {
      const query = view.state.doc.toString().trim();
      if (!query) return;
      if (ctx.route.params.get('q') !== query) {
        const hash = new URLSearchParams(ctx.route.params);
        hash.set('q', query);
        ctx.route.params.set('q', query);
        window.history.replaceState(null, '', `#/sql?${hash.toString()}`);
      }
      ctrl?.abort();
      const c = new AbortController();
      ctrl = c;
      fill(out, spinner());
      fill(status, 'running…');
      const t0 = performance.now();
      try {
        const r = await post<SqlResult>('/api/v1/sql', { query }, c.signal);
        if (c.signal.aborted) return;
        const ms = performance.now() - t0;
        fill(
          status,
          `${integer(r.rows.length)} rows${r.truncated ? ' (truncated)' : ''} · ${(r.statistics.elapsed * 1000).toFixed(1)} ms in ClickHouse, ${ms.toFixed(0)} ms in all · ${si(r.statistics.rows_read).join(' ')} rows, ${si(r.statistics.bytes_read).join(' ')}B read`,
        );
        const chart = resultChart(r);
        const shown = r.rows.slice(0, 1000);
        fill(
          out,
          chart
            ? h('section', { class: 'card span-full sql-chart' }, h('div', { class: 'card-body' }, chart))
            : null,
          h(
            'section',
            { class: 'card span-full', id: 'sql-result' },
            h(
              'div',
              { class: 'card-body' },
              r.rows.length === 0
                ? empty('The query returned no rows')
                : h(
                    'div',
                    { class: 'table-wrap' },
                    h(
                      'table',
                      { class: 'data sql-rows' },
                      h(
                        'thead',
                        null,
                        h(
                          'tr',
                          null,
                          r.columns.map((c) =>
                            h('th', { class: isNumber(c.type) ? 'num' : '', title: c.type }, c.name),
                          ),
                        ),
                      ),
                      h(
                        'tbody',
                        null,
                        shown.map((row) =>
                          h(
                            'tr',
                            null,
                            row.map((v, i) =>
                              h('td', { class: isNumber(r.columns[i].type) ? 'num' : '' }, cellText(v)),
                            ),
                          ),
                        ),
                      ),
                    ),
                  ),
              r.rows.length > shown.length
                ? h('p', { class: 'foot' }, `showing the first ${shown.length} of ${r.rows.length} rows`)
                : null,
            ),
          ),
        );
        mountCharts();
      } catch (err) {
        if (c.signal.aborted || (err as Error).name === 'AbortError') return;
        const msg = (err as Error).message;
        fill(status, '');
        const pos = /position (\d+)/.exec(msg);
        if (pos) {
          const at = Math.min(Number(pos[1]) - 1, view.state.doc.length);
          if (at >= 0)
            view.dispatch({
              selection: { anchor: at, head: Math.min(at + 1, view.state.doc.length) },
              scrollIntoView: true,
            });
        }
        const line = pos
          ? view.state.doc.lineAt(Math.max(0, Math.min(Number(pos[1]) - 1, view.state.doc.length)))
          : null;
        fill(
          out,
          h(
            'div',
            { class: 'state error sql-error', role: 'alert' },
            h(
              'strong',
              null,
              err instanceof ApiError && err.status === 403
                ? 'Refused'
                : err instanceof ApiError && err.status === 429
                  ? 'Too many queries'
                  : 'The query failed',
              err instanceof ApiError ? ` (HTTP ${err.status})` : '',
              line ? ` at line ${line.number}` : '',
            ),
            h('pre', null, msg),
          ),
        );
      }
    };

    view = new EditorView({
      parent: h('div'),
      state: EditorState.create({
        doc: initial,
        extensions: [
          Prec.highest(
            keymap.of([
              {
                key: 'Mod-Enter',
                run: () => {
                  void run();
                  return true;
                },
              },
            ]),
          ),
          lineNumbers(),
          history(),
          drawSelection(),
          highlightActiveLine(),
          bracketMatching(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          sqlLang({
            dialect: SQLDialect.define({
              keywords:
                'select from where group by order limit having with as and or not in like between interval prewhere final array join',
              types:
                'uint8 uint16 uint32 uint64 int8 int16 int32 int64 float32 float64 string fixedstring datetime date',
            }),
            upperCaseKeywords: true,
          }),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          placeholder('SELECT … FROM flows …'),
          EditorView.contentAttributes.of({ 'aria-label': 'SQL query' }),
          EditorView.lineWrapping,
        ],
      }),
    });
    ctx.cleanup.add(() => {
      ctrl?.abort();
      view.destroy();
    });

    const insert = (text: string) => {
      const { from, to } = view.state.selection.main;
      view.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length } });
      view.focus();
    };

    const examples = h(
      'select',
      {
        'aria-label': 'example queries',
        onchange: (e: Event) => {
          const ex = EXAMPLES[Number((e.target as HTMLSelectElement).value)];
          if (!ex) return;
          view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: ex.query } });
          (e.target as HTMLSelectElement).value = '';
          void run();
        },
      },
      h('option', { value: '' }, 'Examples…'),
      EXAMPLES.map((ex, i) => h('option', { value: String(i) }, ex.label)),
    );

    const editorCard = h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'card-body' },
        h('div', { class: 'editor' }, view.dom),
        h(
          'div',
          { class: 'sql-bar' },
          h(
            'button',
            { type: 'button', class: 'btn primary', id: 'run-sql', onclick: () => void run() },
            icon(ICONS.play),
            'Run',
          ),
          h(
            'span',
            { class: 'muted' },
            h('span', { class: 'kbd' }, 'Ctrl'),
            ' + ',
            h('span', { class: 'kbd' }, 'Enter'),
          ),
          examples,
          status,
        ),
      ),
    );

    root.append(
      pageHead(
        'SQL',
        ctx.me.role === 'tenant'
          ? 'Read-only ClickHouse SQL over your own flows'
          : 'Read-only ClickHouse SQL over the vxflow database',
      ),
      h(
        'div',
        { class: 'sql-layout' },
        h('div', { class: 'sql-main' }, editorCard, out),
        tablesPanel(ctx, insert),
      ),
    );
    if (ctx.route.params.has('q')) void run();
    else view.focus();
  },
};
