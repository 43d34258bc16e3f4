/**
 * Chart.js, with only the parts the pages use registered (tree-shaken), in the page's colours.
 * Time runs on a category axis of the API's own bucket times, so no date adapter is needed.
 * The first chart drawn marks `vxflow:first-chart` (performance timeline) for the benchmark.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartDataset,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { h } from './dom.ts';
import { rate, si, timeLabel, type Unit } from './format.ts';

Chart.register(
  LineController,
  LineElement,
  PointElement,
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  Filler,
  Tooltip,
);

export const PALETTE = [
  '#2f6fde',
  '#13a37f',
  '#e8a317',
  '#d9434e',
  '#8a5cd6',
  '#1696b8',
  '#d85fa4',
  '#74a52d',
  '#e0702b',
  '#4f5bd5',
  '#0e8c86',
  '#a6782a',
];
export const OTHER_COLOR = '#9aa5b5';

export function colorFor(name: string, i: number): string {
  return name === 'Other' ? OTHER_COLOR : PALETTE[i % PALETTE.length];
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

const pending: { canvas: HTMLCanvasElement; make: () => Chart }[] = [];

/** Draws the charts made since the last call whose canvas is now in the page (cards call it after filling). */
export function mountCharts(): void {
  for (let i = 0; i < pending.length; ) {
    const p = pending[i];
    if (p.canvas.isConnected) {
      pending.splice(i, 1);
      p.make();
    } else i++;
  }
  // a chart whose box was dropped before it was shown is never made
  if (pending.length > 50) pending.splice(0, pending.length - 50);
}

let marked = false;
function markFirstChart(): void {
  if (marked) return;
  marked = true;
  performance.mark('vxflow:first-chart');
}

export interface TimeSeriesChart {
  t: string[];
  series: { name: string; values: number[]; color: string }[];
  previous?: { label: string; values: number[] } | null;
  stacked: boolean;
  unit: Unit;
  span: number;
  /** how a value reads in the tooltip (default: a rate in `unit`) */
  format?: (v: number) => string;
  /** a click on a series (its index in `series`) */
  onSeriesClick?: (index: number) => void;
}

function alpha(hex: string, a: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/** A stacked-area or lines chart of rates over time, in a canvas inside a sized box. */
export function timeChart(opts: TimeSeriesChart): { el: HTMLElement } {
  const canvas = h('canvas', {
    role: 'img',
    'aria-label': `chart of ${opts.series.map((s) => s.name).join(', ')}`,
  });
  const box = h('div', { class: 'chart-box' }, canvas);
  const grid = cssVar('--grid', '#e5e9f0');
  const muted = cssVar('--muted', '#64748b');
  const datasets: ChartDataset<'line'>[] = opts.series.map((s) => ({
    label: s.name,
    data: s.values,
    borderColor: s.color,
    backgroundColor: opts.stacked ? alpha(s.color, 0.72) : alpha(s.color, 0.08),
    fill: opts.stacked ? 'stack' : false,
    borderWidth: opts.stacked ? 1 : 1.6,
    pointRadius: 0,
    pointHoverRadius: 3,
    tension: 0,
    stack: 'traffic',
  }));
  if (opts.previous) {
    datasets.push({
      label: opts.previous.label,
      data: opts.previous.values,
      borderColor: muted,
      borderDash: [5, 4],
      borderWidth: 1.5,
      fill: false,
      pointRadius: 0,
      stack: 'previous',
    });
  }
  const step = opts.t.length > 1 ? (Date.parse(opts.t[1]) - Date.parse(opts.t[0])) / 1000 : 60;
  const labels = opts.t.map((t) => timeLabel(t, opts.span, step));
  const fmt = opts.format ?? ((v: number) => rate(v, opts.unit));
  // made once the box is in the page (mountCharts): Chart.js then draws at once, at its real size
  const make = () =>
    new Chart(canvas, {
      type: 'line',
      // the mark is set when a chart is drawn in the page at its real size, not when it is made
      plugins: [
        {
          id: 'vxflow-first-draw',
          afterRender: (c) => {
            if (c.canvas.isConnected && c.width > 0 && c.height > 0) markFirstChart();
          },
        },
      ],
      data: { labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: {
            grid: { display: false },
            border: { color: grid },
            ticks: { color: muted, maxRotation: 0, autoSkip: true, autoSkipPadding: 18, font: { size: 11 } },
          },
          y: {
            stacked: opts.stacked,
            beginAtZero: true,
            grid: { color: grid },
            border: { display: false },
            ticks: {
              color: muted,
              font: { size: 11 },
              maxTicksLimit: 6,
              callback: (v) => {
                const [n, p] = si(Number(v));
                return `${n}${p}`;
              },
            },
          },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            itemSort: (a, b) => Number(b.raw) - Number(a.raw),
            filter: (item) => Number(item.raw) > 0 || item.datasetIndex >= opts.series.length,
            callbacks: {
              title: (items) => (items[0] ? new Date(opts.t[items[0].dataIndex]).toLocaleString() : ''),
              label: (item) => ` ${item.dataset.label}: ${fmt(Number(item.raw))}`,
              footer: (items) => {
                if (!opts.stacked || items.length < 2) return '';
                const sum = items
                  .filter((i) => i.datasetIndex < opts.series.length)
                  .reduce((a, i) => a + Number(i.raw), 0);
                return `Total: ${fmt(sum)}`;
              },
            },
          },
        },
        onClick: (e, elements, c) => {
          const el = elements.find((x) => x.datasetIndex < opts.series.length);
          if (!el || !opts.onSeriesClick || e.y === null) return;
          // every series is under the cursor (index mode): pick the band (stacked) or the line nearest the pointer
          const y = c.scales.y.getValueForPixel(e.y) ?? 0;
          const i = el.index;
          let pick = -1;
          if (opts.stacked) {
            let sum = 0;
            pick = opts.series.findIndex((s) => {
              sum += s.values[i] ?? 0;
              return y <= sum;
            });
          } else {
            let best = Number.POSITIVE_INFINITY;
            opts.series.forEach((s, k) => {
              const d = Math.abs((s.values[i] ?? 0) - y);
              if (d < best) {
                best = d;
                pick = k;
              }
            });
          }
          if (pick >= 0) opts.onSeriesClick(pick);
        },
      },
    });
  pending.push({ canvas, make });
  requestAnimationFrame(mountCharts);
  return { el: box };
}

/** A horizontal bar of a share (0..1), for top-N tables. */
export function shareBar(share: number, color = 'var(--accent)'): HTMLElement {
  const w = `${Math.max(0, Math.min(1, share)) * 100}%`;
  return h(
    'div',
    { class: 'share' },
    h('div', { class: 'share-fill', style: { width: w, background: color } }),
  );
}

/** Heat colour for a cell: log-scaled share of the largest cell. */
export function heat(v: number, max: number): string {
  if (v <= 0 || max <= 0) return 'transparent';
  // square root: small conversations stay visible, large ones stand out
  const x = Math.sqrt(v / max);
  const a = 0.08 + 0.9 * x;
  return `rgba(47, 111, 222, ${a.toFixed(3)})`;
}
