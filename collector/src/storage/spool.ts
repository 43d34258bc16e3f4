/**
 * The on-disk spool: RowBinary batches that could not be inserted, one file each, named
 * by a sequence number so replay keeps arrival order. A file is written under a temporary
 * name and renamed, so a crash never leaves half a batch under a real name; it is removed
 * only after ClickHouse acknowledged its insert. Bounded: when full, put() refuses.
 */
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SpooledBatch {
  id: number;
  rows: number;
  file: string;
  bytes: number;
  /** resolves once the file is complete under its real name */
  written: Promise<void>;
}

export interface Spool {
  readonly dir: string;
  readonly bytes: number;
  readonly batches: number;
  readonly rows: number;
  /** writes a batch; false when it would pass maxBytes (the caller counts the drop) */
  put(body: Buffer, rows: number): Promise<boolean>;
  oldest(): SpooledBatch | undefined;
  read(b: SpooledBatch): Promise<Buffer>;
  remove(b: SpooledBatch): Promise<void>;
}

const NAME = /^(\d{16})-(\d+)\.rowbinary$/;

export function openSpool(dir: string, maxBytes: number): Spool {
  mkdirSync(dir, { recursive: true });
  const queue: SpooledBatch[] = [];
  let bytes = 0;
  let rows = 0;
  for (const f of readdirSync(dir)) {
    const m = NAME.exec(f);
    const file = join(dir, f);
    if (!m) {
      // a temporary file from a crash mid-write: its batch never counted as spooled
      if (f.endsWith('.tmp')) unlinkSync(file);
      continue;
    }
    const size = statSync(file).size;
    queue.push({ id: Number(m[1]), rows: Number(m[2]), file, bytes: size, written: Promise.resolve() });
    bytes += size;
    rows += Number(m[2]);
  }
  queue.sort((a, b) => a.id - b.id);
  let nextId = queue.length ? queue[queue.length - 1].id + 1 : 1;

  return {
    dir,
    get bytes() {
      return bytes;
    },
    get batches() {
      return queue.length;
    },
    get rows() {
      return rows;
    },
    async put(body, n) {
      if (bytes + body.length > maxBytes) return false;
      const id = nextId++;
      const file = join(dir, `${String(id).padStart(16, '0')}-${n}.rowbinary`);
      const written = writeFile(`${file}.tmp`, body).then(() => rename(`${file}.tmp`, file));
      const entry: SpooledBatch = { id, rows: n, file, bytes: body.length, written };
      // queued before the write completes, so order and the size bound hold for concurrent puts
      bytes += body.length;
      rows += n;
      queue.push(entry);
      try {
        await written;
      } catch (err) {
        queue.splice(queue.indexOf(entry), 1);
        bytes -= body.length;
        rows -= n;
        throw err;
      }
      return true;
    },
    oldest: () => queue[0],
    async read(b) {
      await b.written;
      return readFile(b.file);
    },
    async remove(b) {
      await unlink(b.file).catch(() => {});
      const i = queue.indexOf(b);
      if (i >= 0) queue.splice(i, 1);
      bytes -= b.bytes;
      rows -= b.rows;
    },
  };
}
