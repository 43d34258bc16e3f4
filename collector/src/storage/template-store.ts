/**
 * Decoder state (templates and sampling rates) on disk, so a restarted collector decodes
 * data that arrives before the exporter's next template refresh. Written atomically
 * (temporary file + rename). Each worker's state is saved under its index: with the same
 * worker count, worker i gets state i back (exporters route to the same worker); with a
 * different count every worker gets every state, which is larger but loses nothing.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

interface SavedState {
  format: 1;
  savedAt: string;
  workers: unknown[];
}

export async function saveDecoderStates(file: string, states: unknown[]): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  const doc: SavedState = { format: 1, savedAt: new Date().toISOString(), workers: states };
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(doc));
  await rename(tmp, file);
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
