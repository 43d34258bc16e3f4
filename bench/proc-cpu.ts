/**
 * CPU time of other processes, from /proc: what the benchmarks charge to a receiver
 * (the collector, clickhouse-server) rather than to the sender or to themselves.
 */
import { readFileSync } from 'node:fs';

/** utime + stime of a /proc/…/stat line, in seconds (clock ticks are 1/100 s on Linux). */
export function statCpuSeconds(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** CPU seconds of a whole process (all its threads); 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}
