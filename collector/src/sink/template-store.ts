/**
 * Decoder state (templates and sampling rates) on disk, so a restarted collector decodes
 * data that arrives before the exporter's next template refresh. Written atomically
 * (temporary file + rename). Each worker's state is saved under its index: with the same
 * worker count, worker i gets state i back (exporters route to the same worker); with a
 * different count every worker gets every state, which is larger but loses nothing.
 */
import { readFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';

interface SavedState {
  format: 1;
  savedAt: string;
  workers: unknown[];
}

let saves = 0;

/**
 * Writes the states atomically. The directory must exist (the collector makes its state
 * directory at start: a recursive mkdir here spun for ever under /proc). Each save has a
 * temporary name of its own: overlapping saves once shared one and failed with ENOENT on
 * rename.
 */
export async function saveDecoderStates(file: string, statesJson: readonly string[]): Promise<void> {
  // the workers' states arrive as JSON text and are spliced in, never parsed here
  const text = `{"format":1,"savedAt":${JSON.stringify(new Date().toISOString())},"workers":[${statesJson.join(',')}]}`;
  const tmp = `${file}.${process.pid}.${++saves}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

export type LoadedStates = { ok: true; perWorker: unknown[][] } | { ok: false; reason: string };

/** What to import into each of `workers` workers; never throws. */
export function loadDecoderStates(file: string, workers: number): LoadedStates {
  let doc: SavedState;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as SavedState;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      reason: code === 'ENOENT' ? 'no saved templates yet' : `unreadable: ${(err as Error).message}`,
    };
  }
  if (doc?.format !== 1 || !Array.isArray(doc.workers))
    return { ok: false, reason: 'not a vxflow template file' };
  const perWorker: unknown[][] = [];
  for (let w = 0; w < workers; w++) {
    perWorker.push(doc.workers.length === workers ? [doc.workers[w]] : doc.workers);
  }
  return { ok: true, perWorker };
}
