/**
 * The flow outputs' byte buffer (collector/src/output/): each output writes its rows into
 * one of these and hands the bytes away whole when a chunk is done. It lives in common/
 * because the RowBinary writer in storage/ (flow-rowbinary.ts) writes into it too, adding
 * the chunk's batch id; the buffer itself knows nothing of any format.
 */
import { allocTransfer } from './transfer-pool.ts';

export interface OutputBuffer {
  buf: Buffer;
  off: number;
  /** rows in the current chunk (0 again after take: the RowBinary writer starts a new batch id) */
  rows: number;
}

export function newOutputBuffer(capacity: number): OutputBuffer {
  // allocUnsafeSlow: an own ArrayBuffer (not a slice of the shared pool), so it can be transferred
  return { buf: Buffer.allocUnsafeSlow(capacity), off: 0, rows: 0 };
}

/** Makes room for `need` more bytes (doubling; the written bytes are kept). */
export function growOutputBuffer(out: OutputBuffer, need: number): void {
  let size = out.buf.length * 2;
  while (size < out.off + need) size *= 2;
  const next = Buffer.allocUnsafeSlow(size);
  out.buf.copy(next, 0, 0, out.off);
  out.buf = next;
}

/**
 * A copy of what the buffer holds, as a view over an ArrayBuffer of its own to transfer (not
 * clone) to another thread (transfer-pool.ts: reused when the receiver gives it back); the
 * big buffer stays with its writer, emptied for the next chunk.
 */
export function takeOutputBuffer(out: OutputBuffer): Uint8Array {
  const copy = allocTransfer(out.off);
  copy.set(out.buf.subarray(0, out.off));
  out.off = 0;
  out.rows = 0;
  return copy;
}
