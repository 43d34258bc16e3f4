import { closeSync, openSync, readSync } from 'node:fs';

/** Counts what a file output wrote: JSON lines by newline, protobuf by its length prefixes. */
export function countFileRecords(path: string, format: 'jsonl' | 'protobuf'): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0;
  }
  // read in chunks: at a million flows/s the file passes 2 GiB, more than one Buffer holds
  const chunk = Buffer.allocUnsafe(1 << 22);
  let n = 0;
  // protobuf: bytes of the current message still to skip, and the length varint being read
  let skip = 0;
  let len = 0;
  let shift = 0;
  try {
    for (let got = readSync(fd, chunk); got > 0; got = readSync(fd, chunk)) {
      if (format === 'jsonl') {
        for (let i = 0; i < got; i++) if (chunk[i] === 10) n++;
        continue;
      }
      let i = 0;
      while (i < got) {
        if (skip > 0) {
          const take = Math.min(skip, got - i);
          skip -= take;
          i += take;
          continue;
        }
        const b = chunk[i++];
        len += (b & 127) * 2 ** shift;
        shift += 7;
        if (b < 128) {
          n++;
          skip = len;
          len = 0;
          shift = 0;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return n;
}
