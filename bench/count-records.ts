import { closeSync, openSync, readSync } from 'node:fs';

/** Counts what a file output wrote: JSON lines by newline, protobuf by its length prefixes. */
export function countFileRecords(path: string, format: 'jsonl' | 'protobuf'): number {
  return fileRecordCounter(path, format)();
}

/**
 * A counter of a growing file's records that reads only what was appended since its last
 * call (a polling loop over a multi-GiB output would otherwise re-read it all, on the cores
 * the receiver under test needs). Each call returns the total so far. A record counts once
 * it is complete: a JSON line at its newline, a protobuf message when its last byte is in.
 */
export function fileRecordCounter(path: string, format: 'jsonl' | 'protobuf'): () => number {
  let offset = 0;
  let n = 0;
  // protobuf: bytes of the current message still to read, and the length varint being read
  let skip = 0;
  let inBody = false;
  let len = 0;
  let shift = 0;
  return () => {
    const chunk = Buffer.allocUnsafe(1 << 22);
    forEachNewChunk(path, offset, chunk, (got) => {
      offset += got;
      if (format === 'jsonl') {
        for (let i = 0; i < got; i++) if (chunk[i] === 10) n++;
        return;
      }
      let i = 0;
      while (i < got) {
        if (inBody) {
          const take = Math.min(skip, got - i);
          skip -= take;
          i += take;
          if (skip === 0) {
            inBody = false;
            n++;
          }
          continue;
        }
        const b = chunk[i++];
        len += (b & 127) * 2 ** shift;
        shift += 7;
        if (b < 128) {
          if (len === 0) n++;
          else {
            inBody = true;
            skip = len;
          }
          len = 0;
          shift = 0;
        }
      }
    });
    return n;
  };
}

/**
 * Sum of one numeric column of a CSV file with a header line (nfacctd's print plugin:
 * PACKETS), read as bytes in chunks (a per-flow print output passes what one string holds).
 * Lines that repeat the header, or whose cell count differs from it, are skipped.
 */
export function sumCsvColumn(path: string, column: string): number {
  const chunk = Buffer.allocUnsafe(1 << 22);
  let header: string | undefined;
  let headerBytes = '';
  let col = -1;
  let cells = 0;
  let sum = 0;
  // the current line: its cell index, the wanted cell's value and whether it was all digits
  let cell = 0;
  let value = 0;
  let digits = true;
  let sawDigit = false;
  let lineValue = 0;
  let lineOk = false;
  forEachNewChunk(path, 0, chunk, (got) => {
    let i = 0;
    if (header === undefined) {
      const nl = chunk.indexOf(10);
      if (nl < 0 || nl >= got) {
        headerBytes += chunk.toString('utf8', 0, got);
        return;
      }
      header = (headerBytes + chunk.toString('utf8', 0, nl)).trim();
      const names = header.split(',');
      cells = names.length;
      col = names.indexOf(column);
      i = nl + 1;
    }
    if (col < 0) return;
    for (; i < got; i++) {
      const c = chunk[i];
      if (c === 10) {
        if (cell === col) {
          lineValue = value;
          lineOk = digits && sawDigit;
        }
        if (cell === cells - 1 && lineOk) sum += lineValue;
        cell = 0;
        value = 0;
        digits = true;
        sawDigit = false;
        lineOk = false;
      } else if (c === 44) {
        if (cell === col) {
          lineValue = value;
          lineOk = digits && sawDigit;
        }
        cell++;
      } else if (cell === col) {
        if (c >= 48 && c <= 57) {
          value = value * 10 + (c - 48);
          sawDigit = true;
        } else if (c !== 13) digits = false;
      }
    }
  });
  return sum;
}

function forEachNewChunk(path: string, from: number, chunk: Buffer, each: (got: number) => void): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    let pos = from;
    for (
      let got = readSync(fd, chunk, 0, chunk.length, pos);
      got > 0;
      got = readSync(fd, chunk, 0, chunk.length, pos)
    ) {
      pos += got;
      each(got);
    }
  } finally {
    closeSync(fd);
  }
}
