#!/usr/bin/env node
// Bundles the CLI and the collector's decode worker into dist/ with esbuild, so `vxflow`
// starts without compiling TypeScript at run time (bin/vxflow.js uses the bundle while it
// is newer than every source file, and the sources through tsx otherwise).
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
  entryPoints: { cli: 'cli/main.ts' },
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
if (!process.argv.includes('--quiet')) console.error(`vxflow: built dist/ in ${Date.now() - started} ms`);
