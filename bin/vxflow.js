#!/usr/bin/env node
// Entry point for `npx vxflow`. Runs the bundle in dist/ (built by bin/build.js, which
// `npm start` and `npm test` run) while it is newer than every TypeScript source, and the
// sources directly through tsx otherwise, so an edit never runs stale code.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `vxflow decode` has an entry of its own that loads only what decoding needs (it starts in
// a quarter of the time)
const decodeOnly = process.argv[2] === 'decode';
const bundle = join(root, 'dist', decodeOnly ? 'cli-decode.mjs' : 'cli.mjs');

function newestSource(dir, newest = 0) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = newestSource(p, newest);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  const dirs = ['protocol', 'storage', 'collector', 'exporter', 'dashboard', 'cli', 'common'];
  let newest = statSync(join(root, 'package.json')).mtimeMs;
  for (const d of dirs) {
    try {
      newest = newestSource(join(root, d), newest);
    } catch {
      // a folder that does not exist yet
    }
  }
  return built >= newest;
}

if (process.env.VXFLOW_NO_BUNDLE !== '1' && bundleIsFresh()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(decodeOnly ? '../cli/decode-main.ts' : '../cli/main.ts');
}
