/**
 * A file output (JSON lines or length-delimited protobuf): chunks already encoded by the
 * workers are appended to a file or stdout. Overflow policy: when the stream has more than
 * maxBufferedBytes not yet written (a slow disk or a stalled pipe), new chunks are dropped
 * and counted instead of growing memory.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';

export interface FileOutput {
  readonly name: string;
  /** false when the chunk was dropped (the stream is too far behind); `written` runs once it is out */
  write(chunk: Uint8Array, rows: number, written?: () => void): boolean;
  close(): Promise<void>;
}

export function openFileOutput(
  kind: 'jsonl' | 'protobuf',
  path: string,
  maxBufferedBytes: number,
): FileOutput {
  let stream: Writable;
  const toStdout = path === '-';
  if (toStdout) stream = process.stdout;
  else {
    mkdirSync(dirname(path), { recursive: true });
    stream = createWriteStream(path, { flags: 'a' });
  }
  return {
    name: `${kind}:${path}`,
    write(chunk, _rows, written) {
      if (stream.writableLength > maxBufferedBytes) return false;
      stream.write(chunk, written && (() => written()));
      return true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (toStdout) {
          if (stream.writableLength === 0) resolve();
          else stream.once('drain', () => resolve());
        } else stream.end(() => resolve());
      }),
  };
}
