#!/usr/bin/env node
// Bundles the CLI and the collector's decode worker into dist/ with esbuild, so `vxflow`
// starts without compiling TypeScript at run time (bin/vxflow.js uses the bundle while it
// is newer than every source file, and the sources through tsx otherwise), and builds the
// web UI (dashboard/ui, Vite) into dist/ui unless it is newer than every file it is made of.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const started = Date.now();
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
};
await build({
  ...common,
  // cli-decode: `vxflow decode` alone, without every other command's dependencies (bin/vxflow.js)
  entryPoints: { cli: 'cli/main.ts', 'cli-decode': 'cli/decode-main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
});
// worker-pool.ts starts new URL('./decode-worker-entry.mjs', import.meta.url): beside cli.mjs
await build({
  ...common,
  entryPoints: { 'decode-worker-entry': 'collector/src/ingest/decode-worker.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
});
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const e of readdirSync(path))
    if (e !== 'node_modules' && e !== 'dist') t = Math.max(t, newest(join(path, e)));
  return t;
}
const uiInputs = ['dashboard/ui', 'package-lock.json'];
const uiBuilt = newest('dist/ui/index.html');
if (process.argv.includes('--force') || uiBuilt === 0 || uiInputs.some((p) => newest(p) > uiBuilt)) {
  const vite = await import('vite');
  await vite.build({ configFile: 'dashboard/ui/vite.config.ts', logLevel: 'warn' });
}
if (!process.argv.includes('--quiet')) console.error(`vxflow: built dist/ in ${Date.now() - started} ms`);
