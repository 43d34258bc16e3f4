/**
 * The on-disk spool: RowBinary batches that could not be inserted, one file each, named
 * by a sequence number so replay keeps arrival order. A file is written under a temporary
 * name and renamed, so a crash never leaves half a batch under a real name; it is removed
 * only after ClickHouse acknowledged its insert (or the check found it already stored).
 * Bounded: when full, put() refuses.
 *
 * Files: `<seq>-<rows>.v2.rowbinary` start with one header line,
 * `vxflow-spool 2 columns=<insert column list>\n`, then the RowBinary rows (which carry their
 * batch ids, so a replay is checked against what ClickHouse already holds). Files from
 * before the header, `<seq>-<rows>.rowbinary`, are still read and replayed, as bare bodies
 * with no column list (the caller knows theirs); older collectors ignore v2 files.
 */
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SpooledBatch {
  id: number;
  rows: number;
  file: string;
  bytes: number;
  /** 1: bare RowBinary (no header); 2: header line with the column list */
  format: 1 | 2;
  /** resolves once the file is complete under its real name */
  written: Promise<void>;
}

export interface Spool {
  readonly dir: string;
  readonly bytes: number;
  readonly batches: number;
  readonly rows: number;
  /** writes a batch; false when it would pass maxBytes (the caller counts the drop) */
  put(parts: readonly Buffer[], rows: number, columns: string): Promise<boolean>;
  oldest(): SpooledBatch | undefined;
  /** the rows, and the insert column list they were written for (undefined: a format 1 file) */
  read(b: SpooledBatch): Promise<{ body: Buffer; columns: string | undefined }>;
  remove(b: SpooledBatch): Promise<void>;
  /** takes an unreadable file out of the queue, renamed to `<name>.bad` for a human to look at */
  quarantine(b: SpooledBatch): Promise<void>;
}

const NAME = /^(\d{16})-(\d+)(\.v2)?\.rowbinary$/;
const MAGIC = 'vxflow-spool 2 columns=';

export class SpoolFormatError extends Error {}

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
    queue.push({
      id: Number(m[1]),
      rows: Number(m[2]),
      file,
      bytes: size,
      format: m[3] ? 2 : 1,
      written: Promise.resolve(),
    });
    bytes += size;
    rows += Number(m[2]);
  }
  queue.sort((a, b) => a.id - b.id);
  let nextId = queue.length ? queue[queue.length - 1].id + 1 : 1;
  const forget = (b: SpooledBatch) => {
    const i = queue.indexOf(b);
    if (i < 0) return;
    queue.splice(i, 1);
    bytes -= b.bytes;
    rows -= b.rows;
  };

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
    async put(parts, n, columns) {
      const header = Buffer.from(`${MAGIC}${columns}\n`);
      const size = header.length + parts.reduce((s, p) => s + p.length, 0);
      if (bytes + size > maxBytes) return false;
      const id = nextId++;
      const file = join(dir, `${String(id).padStart(16, '0')}-${n}.v2.rowbinary`);
      const written = writeFile(`${file}.tmp`, [header, ...parts]).then(() => rename(`${file}.tmp`, file));
      const entry: SpooledBatch = { id, rows: n, file, bytes: size, format: 2, written };
      // queued before the write completes, so order and the size bound hold for concurrent puts
      bytes += size;
      rows += n;
      queue.push(entry);
      try {
        await written;
      } catch (err) {
        queue.splice(queue.indexOf(entry), 1);
        bytes -= size;
        rows -= n;
        throw err;
      }
      return true;
    },
    oldest: () => queue[0],
    async read(b) {
      await b.written;
      const data = await readFile(b.file);
      if (b.format === 1) return { body: data, columns: undefined };
      const nl = data.indexOf(10);
      const head = nl < 0 ? '' : data.toString('latin1', 0, nl);
      if (!head.startsWith(MAGIC)) throw new SpoolFormatError(`${b.file}: no spool header`);
      return { body: data.subarray(nl + 1), columns: head.slice(MAGIC.length) };
    },
    async remove(b) {
      await unlink(b.file).catch(() => {});
      forget(b);
    },
    async quarantine(b) {
      await rename(b.file, `${b.file}.bad`).catch(() => {});
      forget(b);
    },
  };
}
