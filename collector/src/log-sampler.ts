/**
 * Burst-sampled logging for the hot path: at most `burst` lines per key per period, then
 * one line saying how many were suppressed. Counters carry the full story; logs tell a
 * human what kind of thing is happening.
 */
export function createLogSampler(burst = 5, periodMs = 60_000) {
  const seen = new Map<string, { start: number; count: number; suppressed: number }>();
  return (key: string, now = Date.now()): { log: boolean; suppressed: number } => {
    let s = seen.get(key);
    if (!s || now - s.start >= periodMs) {
      const suppressed = s?.suppressed ?? 0;
      if (seen.size > 10_000) seen.clear();
      s = { start: now, count: 0, suppressed: 0 };
      seen.set(key, s);
      s.count++;
      return { log: true, suppressed };
    }
    if (s.count < burst) {
      s.count++;
      return { log: true, suppressed: 0 };
    }
    s.suppressed++;
    return { log: false, suppressed: 0 };
  };
}
