/**
 * `npm run bench [-- AREA… ] [-- --quick]`: runs bench/<area>.bench.ts files (all by
 * default), prints one table of figures and writes bench/results/<area>.json.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bench, BenchFigure } from './lib.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace('.bench.ts', '')))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(2);
}

const fmt = (v: number) =>
  v >= 100
    ? Math.round(v).toLocaleString('en-US')
    : v.toLocaleString('en-US', { maximumSignificantDigits: 3 });
const all: { area: string; fig: BenchFigure }[] = [];
mkdirSync(join(here, 'results'), { recursive: true });

for (const file of files) {
  const area = file.replace('.bench.ts', '');
  const figures: BenchFigure[] = [];
  console.log(`\n== ${area} ==`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: Bench };
  await mod.default({
    quick,
    log: (m) => console.log(`  ${m}`),
    record: (fig) => {
      const f = { ...fig };
      if (f.peer && f.ratio === undefined && f.peer.value > 0) f.ratio = f.value / f.peer.value;
      figures.push(f);
      all.push({ area, fig: f });
      const peer = f.peer ? `  | ${f.peer.name}: ${fmt(f.peer.value)}  ratio ${f.ratio?.toFixed(2)}x` : '';
      console.log(`  ${f.name}: ${fmt(f.value)} ${f.unit}${peer}${f.note ? `  (${f.note})` : ''}`);
    },
  });
  writeFileSync(
    join(here, 'results', `${area}.json`),
    `${JSON.stringify({ area, date: new Date().toISOString(), node: process.version, quick, figures }, null, 2)}\n`,
  );
}

console.log('\nsummary (medians)');
console.table(
  all.map(({ area, fig }) => ({
    area,
    figure: fig.name,
    value: fmt(fig.value),
    unit: fig.unit,
    peer: fig.peer ? `${fig.peer.name} ${fmt(fig.peer.value)}` : '',
    ratio: fig.ratio !== undefined ? `${fig.ratio.toFixed(2)}x` : '',
  })),
);
