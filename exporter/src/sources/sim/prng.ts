/**
 * A small seeded PRNG (mulberry32) and the distributions the simulator draws from. Seeded so
 * that the same seed always gives the same cloud and the same flows (tests, demos, load
 * tests that must be repeatable); not for anything that needs real randomness.
 */
export interface Prng {
  /** uniform in [0, 1) */
  next(): number;
  /** uniform integer in [min, max] */
  int(min: number, max: number): number;
  pick<T>(xs: readonly T[]): T;
  /** true with probability p */
  chance(p: number): boolean;
}

export function createPrng(seed: number): Prng {
  let a = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

/**
 * Zipf-like ranks 0..n-1 (weight 1/(k+1)^s): a few heavy hitters and a long tail, as real
 * traffic between tenants, hosts and services has.
 */
export function createZipf(n: number, s = 1.1): (rng: Prng) => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** s;
    cumulative[k] = total;
  }
  return (rng) => {
    const x = rng.next() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** A heavy-tailed positive integer (log-normal): most flows small, a few very large. */
export function logNormalInt(rng: Prng, median: number, sigma: number, max: number): number {
  // Box–Muller; 1 - next() keeps the log argument in (0, 1]
  const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return Math.max(1, Math.min(max, Math.round(median * Math.exp(sigma * z))));
}
