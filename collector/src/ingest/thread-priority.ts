/**
 * Lowers the calling thread's scheduling priority (Linux: setpriority on the thread id,
 * which Node's os.setPriority passes through). The decode workers call it so that, when
 * the cores are busy, the receiving thread is the one that runs: a late receiving thread
 * loses datagrams in the kernel's socket buffer, uncounted by the exporter table and the
 * per-exporter fairness, while a late worker only lets its bounded, counted queue grow.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Raises this thread's nice value by `by` (0-19); false where it cannot (not Linux, or refused). */
export function lowerThreadPriority(by: number): boolean {
  if (by <= 0) return false;
  try {
    // /proc/thread-self → "PID/task/TID"
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, Math.min(19, getPriority(tid) + by));
    return true;
  } catch {
    return false;
  }
}
