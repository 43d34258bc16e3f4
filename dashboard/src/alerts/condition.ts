/**
 * Pure parts of an evaluation: which past windows a condition needs, whether a value
 * matches (and whether it clears, with hysteresis), and the per-key state machine:
 *
 *   ok ──match──► pending ──N of last M matched──► firing ──resolve test passed `after` times──► ok
 *                                                   │  └── every renotifySeconds: renotify
 *                                                   └─ cooldown: no new firing before cooldown_until
 *
 * Every transition that notifies gets `seq` + 1 and an event id hashed from (rule, key,
 * kind, seq): the same transition computed twice (after a crash between writing the event
 * and the state, or by two evaluators during a lease hand-over) has the same id, so it is
 * stored and delivered once.
 */
import { createHash } from 'node:crypto';
import type { Condition, RuleSpec } from './model.ts';

/** Window indices k a rule reads: window k covers [end − (k+1)·w, end − k·w). 0 = now. */
export function windowsNeeded(cond: Condition, windowSeconds: number): number[] {
  if (cond.type === 'threshold') return [0];
  if (cond.type === 'change') return [0, 1];
  if (cond.method === 'moving_average') return Array.from({ length: cond.periods + 1 }, (_, i) => i);
  const perDay = 86_400 / windowSeconds;
  return [0, ...Array.from({ length: cond.periods }, (_, d) => (d + 1) * perDay)];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Judgement {
  /** the condition holds */
  match: boolean;
  /** the resolve test passes (for a firing key) */
  clear: boolean;
  /** what the value was compared with (the threshold, or the scaled baseline) */
  threshold: number;
  /** the baseline or previous value, when the condition has one */
  reference: number | null;
}

/**
 * Judges one key. `past[k]` is the value in window k (k ≥ 1) or undefined when that window
 * had no data at all for the rule (the system was not collecting: it cannot be a baseline).
 */
export function judge(
  cond: Condition,
  resolveRatio: number,
  value: number,
  past: ReadonlyMap<number, number | undefined>,
  windowSeconds: number,
): Judgement {
  if (cond.type === 'threshold') {
    const t = cond.value;
    if (cond.op === 'above')
      return { match: value > t, clear: value <= t * resolveRatio, threshold: t, reference: null };
    return { match: value < t, clear: value >= t / resolveRatio, threshold: t, reference: null };
  }
  if (cond.type === 'change') {
    const prev = past.get(1);
    if (prev === undefined) return { match: false, clear: true, threshold: 0, reference: null };
    const up = value > prev * cond.factor && value >= (cond.minValue ?? 0);
    const down = value < prev / cond.factor && prev >= (cond.minValue ?? 0);
    const match = cond.op === 'increase' ? up : cond.op === 'decrease' ? down : up || down;
    const threshold = cond.op === 'decrease' ? prev / cond.factor : prev * cond.factor;
    // a change is an edge: it clears once the value is back within the factor (scaled) of the last window
    const back =
      value <= prev * (1 + (cond.factor - 1) * resolveRatio) &&
      value >= prev / (1 + (cond.factor - 1) * resolveRatio);
    return { match, clear: !match && (back || value < (cond.minValue ?? 0)), threshold, reference: prev };
  }
  const ks = windowsNeeded(cond, windowSeconds).slice(1);
  const have = ks.map((k) => past.get(k)).filter((v): v is number => v !== undefined);
  if (have.length === 0) return { match: false, clear: true, threshold: 0, reference: null };
  const base = cond.method === 'same_time' ? median(have) : have.reduce((a, b) => a + b, 0) / have.length;
  if (cond.op === 'above') {
    const t = base * cond.factor;
    return {
      match: value > t && value >= (cond.minValue ?? 0),
      clear: value <= base * (1 + (cond.factor - 1) * resolveRatio) || value < (cond.minValue ?? 0),
      threshold: t,
      reference: base,
    };
  }
  const t = base / cond.factor;
  return {
    match: value < t && base >= (cond.minValue ?? 0),
    clear: value >= base / (1 + (cond.factor - 1) * resolveRatio) || base < (cond.minValue ?? 0),
    threshold: t,
    reference: base,
  };
}

export type AlertStateName = 'ok' | 'pending' | 'firing';

export interface KeyState {
  state: AlertStateName;
  /** transitions that notified so far (firing, resolved) */
  seq: number;
  /** the last M results, oldest first: '1' matched, '0' did not */
  history: string;
  /** unix seconds: when the current firing began (or the last change) */
  since: number;
  lastEval: number;
  lastValue: number;
  threshold: number;
  okStreak: number;
  /** unix seconds of the last firing or re-notify webhook */
  notified: number;
  cooldownUntil: number;
  /** the event that started the current firing */
  eventId: string;
}

export const INITIAL_STATE: KeyState = {
  state: 'ok',
  seq: 0,
  history: '',
  since: 0,
  lastEval: 0,
  lastValue: 0,
  threshold: 0,
  okStreak: 0,
  notified: 0,
  cooldownUntil: 0,
  eventId: '',
};

export type EventKind = 'firing' | 'resolved' | 'renotify';

export interface Transition {
  kind: EventKind;
  eventId: string;
  /** when the firing began */
  started: number;
}

export function eventId(ruleId: string, key: string, kind: EventKind, seq: number, extra = ''): string {
  return createHash('sha256')
    .update(JSON.stringify([ruleId, key, kind, seq, extra]))
    .digest('hex')
    .slice(0, 32);
}

/** One evaluation of one key: the next state, and the event to notify if any. */
export function step(
  rule: Pick<RuleSpec, 'activation' | 'resolve' | 'cooldownSeconds' | 'renotifySeconds'> & { id: string },
  key: string,
  prev: KeyState,
  j: Judgement,
  value: number,
  now: number,
): { next: KeyState; event: Transition | null } {
  const next: KeyState = { ...prev, lastEval: now, lastValue: value, threshold: j.threshold };
  if (prev.state !== 'firing') {
    next.history = (prev.history + (j.match ? '1' : '0')).slice(-rule.activation.of);
    const hits = [...next.history].filter((c) => c === '1').length;
    if (hits >= rule.activation.matches && j.match && now >= prev.cooldownUntil) {
      next.state = 'firing';
      next.seq = prev.seq + 1;
      next.since = now;
      next.notified = now;
      next.okStreak = 0;
      next.eventId = eventId(rule.id, key, 'firing', next.seq);
      return { next, event: { kind: 'firing', eventId: next.eventId, started: now } };
    }
    next.state = hits > 0 ? 'pending' : 'ok';
    return { next, event: null };
  }
  next.okStreak = j.clear ? prev.okStreak + 1 : 0;
  if (next.okStreak >= rule.resolve.after) {
    next.state = 'ok';
    next.seq = prev.seq + 1;
    next.history = '';
    next.okStreak = 0;
    next.cooldownUntil = now + rule.cooldownSeconds;
    const id = eventId(rule.id, key, 'resolved', next.seq);
    next.eventId = '';
    return { next, event: { kind: 'resolved', eventId: id, started: prev.since } };
  }
  if (rule.renotifySeconds > 0 && !j.clear && now - prev.notified >= rule.renotifySeconds) {
    next.notified = now;
    const id = eventId(rule.id, key, 'renotify', prev.seq, String(now));
    return { next, event: { kind: 'renotify', eventId: id, started: prev.since } };
  }
  return { next, event: null };
}

/**
 * Whether a key is as if never seen: nothing to store or remember. A key that ever fired
 * keeps its `seq` for ever, or its next firing would reuse an old event id.
 */
export function isIdle(s: KeyState, now: number): boolean {
  return s.seq === 0 && s.state === 'ok' && !s.history.includes('1') && s.cooldownUntil <= now;
}
