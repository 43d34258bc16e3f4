/**
 * The state directory (templates.json, the spool) is made ready before anything starts, so
 * a bad one stops the collector at once with one line naming it. Node's own recursive
 * mkdirSync loops for ever, at full CPU, on paths under /proc (mkdir answers ENOENT for a
 * parent that exists), which is what `--state-dir /proc/forbidden` used to do; this walks
 * the path one component at a time instead.
 */
import { accessSync, constants, mkdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../../common/errors.ts';

/** procfs and sysfs magic numbers (statfs f_type) */
const PSEUDO_FILESYSTEMS = new Set([0x9fa0, 0x62656572]);

function problem(dir: string, what: string): UserError {
  return new UserError(
    `collector.stateDir: cannot use ${dir}: ${what}`,
    'pick a writable directory with --state-dir or collector.stateDir',
  );
}

/** Creates `dir` (and missing parents) and checks it is a writable directory. */
export function ensureStateDir(dir: string): void {
  const full = resolve(dir);
  const missing: string[] = [];
  let at = full;
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) throw problem(dir, `${at} is not a directory`);
      break;
    } catch (err) {
      if (err instanceof UserError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw problem(dir, `${at}: ${code ?? (err as Error).message}`);
      missing.push(at);
      const up = dirname(at);
      if (up === at) throw problem(dir, 'no existing parent directory');
      at = up;
    }
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw problem(dir, `mkdir ${d}: ${code ?? (err as Error).message}`);
    }
  }
  try {
    accessSync(full, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw problem(dir, `not writable (${(err as NodeJS.ErrnoException).code})`);
  }
}

/**
 * The same checks without creating anything, for `vxflow collector --check`: the nearest
 * existing ancestor must be a directory this process can write to.
 */
export function checkStateDir(dir: string): void {
  let at = resolve(dir);
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) throw problem(dir, `${at} is not a directory`);
      // root passes access() on /proc and /sys, where nothing can be created
      if (PSEUDO_FILESYSTEMS.has(statfsSync(at).type)) throw problem(dir, `${at} is on /proc or /sys`);
      accessSync(at, constants.W_OK | constants.X_OK);
      return;
    } catch (err) {
      if (err instanceof UserError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw problem(dir, `${at}: ${code ?? (err as Error).message}`);
      const up = dirname(at);
      if (up === at) throw problem(dir, 'no existing parent directory');
      at = up;
    }
  }
}
