#!/usr/bin/env node
// Bundles the CLI and the collector's decode worker into dist/ with esbuild, so `vxflow`
// starts without compiling TypeScript at run time (bin/vxflow.js uses the bundle while it
// is newer than every source file, and the sources through tsx otherwise), and builds the
// web UI (dashboard/ui, Vite) into dist/ui unless it is newer than every file it is made of,
// and compiles the collector's optional UDP batch receive add-on into build/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
// the udp-batch add-on (collector.udpReceive): the system's C compiler and Node's own
// headers, no node-gyp and nothing downloaded; without them the collector reads UDP with
// Node's dgram, so a failure here is a note, not an error
function buildNative() {
  const src = 'native/udp-batch/udp_batch.c';
  // named for Node's ABI: it also uses libuv directly, so another Node must build its own
  const out = `build/udp-batch-abi${process.versions.modules}.node`;
  if (!process.argv.includes('--force') && newest(out) > 0 && newest(out) >= newest(src)) return;
  const skip = (why) =>
    console.error(
      `vxflow: the udp-batch add-on was not built (${why}): the collector reads UDP with Node's dgram`,
    );
  const include = join(dirname(process.execPath), '..', 'include', 'node');
  if (!existsSync(join(include, 'node_api.h'))) return skip(`no Node headers in ${include}`);
  mkdirSync('build', { recursive: true });
  const cc = process.env.CC || 'cc';
  const r = spawnSync(cc, ['-O2', '-Wall', '-shared', '-fPIC', `-I${include}`, '-o', `${out}.tmp`, src], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return skip(`${cc}: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n')[0]}`);
  renameSync(`${out}.tmp`, out);
}
buildNative();
if (!process.argv.includes('--quiet')) console.error(`vxflow: built dist/ in ${Date.now() - started} ms`);
