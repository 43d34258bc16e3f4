/**
 * Memory for the bytes a thread hands to another by transfer (the decode workers' chunks),
 * given back once the receiver is done with them and used again. A transferred buffer
 * cannot be reused by its sender, so without this every chunk was new memory: each of its
 * pages costs a page fault on first touch, and on a VM whose host backs memory lazily that
 * is 10–15 µs a page (bench/collector.bench.ts prints it), about 0.5 µs per flow for a
 * Native chunk. A given-back buffer has its pages mapped already.
 *
 * Off by default: a thread that nobody gives buffers back to (the decode CLI, tests) gets
 * exact-size new buffers, as before. The decode worker turns it on.
 */

/** buffers start at this size and grow in powers of two, so a returned one fits the next chunks */
const MIN_POOLED_BYTES = 64 * 1024;

let budget = 0;
let held = 0;
const free: ArrayBuffer[] = [];

/** Turns reuse on, keeping at most `bytes` of given-back buffers (the rest is left to the GC). */
export function enableTransferPool(bytes: number): void {
  budget = bytes;
}

/**
 * `bytes` bytes to fill and transfer: a view over an ArrayBuffer of its own (possibly
 * longer; the view says how much is used), not zeroed when reused.
 */
export function allocTransfer(bytes: number): Uint8Array {
  if (budget === 0) return new Uint8Array(bytes);
  // smallest that fits; the pool is a few dozen buffers, so a scan is cheap beside a chunk
  let best = -1;
  for (let i = 0; i < free.length; i++)
    if (free[i].byteLength >= bytes && (best < 0 || free[i].byteLength < free[best].byteLength)) best = i;
  if (best >= 0) {
    const ab = free[best];
    free[best] = free[free.length - 1];
    free.pop();
    held -= ab.byteLength;
    return new Uint8Array(ab, 0, bytes);
  }
  let size = MIN_POOLED_BYTES;
  while (size < bytes) size *= 2;
  return new Uint8Array(new ArrayBuffer(size), 0, bytes);
}

/** Buffers the receiving thread is done with, back for reuse (within the budget). */
export function giveBack(buffers: readonly ArrayBuffer[]): void {
  for (const ab of buffers) {
    if (ab.byteLength < MIN_POOLED_BYTES || held + ab.byteLength > budget) continue;
    free.push(ab);
    held += ab.byteLength;
  }
}

/** what the pool holds now (tests) */
export function transferPoolBytes(): number {
  return held;
}
