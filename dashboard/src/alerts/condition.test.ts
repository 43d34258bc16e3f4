import { describe, expect, it } from 'vitest';
import { eventId, INITIAL_STATE, isIdle, judge, type KeyState, step, windowsNeeded } from './condition.ts';
import type { Condition } from './model.ts';

const rule = {
  id: 'r1',
  activation: { matches: 2, of: 3 },
  resolve: { after: 2, ratio: 0.5 },
  cooldownSeconds: 100,
  renotifySeconds: 50,
};
const above: Condition = { type: 'threshold', op: 'above', value: 10 };

/** Runs values through judge + step, 10 s apart; returns the events and the last state. */
function run(values: number[], start: KeyState = INITIAL_STATE, r = rule) {
  let s = start;
  const events: [number, string][] = [];
  values.forEach((v, i) => {
    const t = 1000 + i * 10;
    const out = step(r, 'k', s, judge(above, r.resolve.ratio, v, new Map(), 60), v, t);
    s = out.next;
    if (out.event) events.push([t, out.event.kind]);
  });
  return { events, state: s };
}

describe('state machine', () => {
  it('fires after N of the last M evaluations, not before', () => {
    expect(run([11, 0, 0, 11]).events).toEqual([]);
    expect(run([11, 0, 11]).events).toEqual([[1020, 'firing']]);
  });

  it('resolves after `after` evaluations below threshold × ratio (hysteresis)', () => {
    // 8 is below 10 but above 5: still firing; two at 4 resolve it
    const r = run([11, 11, 8, 8, 4, 4]);
    expect(r.events).toEqual([
      [1010, 'firing'],
      [1050, 'resolved'],
    ]);
    expect(r.state.state).toBe('ok');
    expect(r.state.seq).toBe(2);
  });

  it('re-notifies while firing, and blocks a new firing during the cooldown', () => {
    const r = run([
      11, 11, 11, 11, 11, 11, 11, 4, 4, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    ]);
    expect(r.events.map(([, k]) => k)).toEqual(['firing', 'renotify', 'resolved', 'firing', 'renotify']);
    // resolved at 1080: no firing before 1180
    const again = r.events.filter(([, k]) => k === 'firing')[1][0];
    expect(again).toBeGreaterThanOrEqual(1180);
  });

  it('gives each transition its own id, the same when recomputed', () => {
    const a = run([11, 11, 4, 4, 11, 11]).events;
    expect(a.map(([, k]) => k)).toEqual(['firing', 'resolved']);
    const ids = new Set([1, 2, 3].map((seq) => eventId('r1', 'k', 'firing', seq)));
    expect(ids.size).toBe(3);
    expect(eventId('r1', 'k', 'firing', 1)).toBe(eventId('r1', 'k', 'firing', 1));
    expect(eventId('r1', 'k', 'firing', 1)).not.toBe(eventId('r1', 'k2', 'firing', 1));
  });

  it('keeps a key that fired once (its seq) but forgets one that never did', () => {
    expect(isIdle(INITIAL_STATE, 0)).toBe(true);
    expect(isIdle(run([11, 11, 4, 4]).state, 5000)).toBe(false);
    expect(isIdle(run([11, 0, 0, 0]).state, 5000)).toBe(true);
  });
});

describe('conditions', () => {
  it('threshold below', () => {
    const below: Condition = { type: 'threshold', op: 'below', value: 10 };
    expect(judge(below, 0.5, 9, new Map(), 60)).toMatchObject({ match: true, clear: false });
    expect(judge(below, 0.5, 15, new Map(), 60)).toMatchObject({ match: false, clear: false });
    expect(judge(below, 0.5, 21, new Map(), 60)).toMatchObject({ match: false, clear: true });
  });

  it('same-time baseline: median of the days with data; none without', () => {
    const c: Condition = {
      type: 'baseline',
      op: 'above',
      method: 'same_time',
      periods: 3,
      factor: 3,
      minValue: 5,
    };
    expect(windowsNeeded(c, 300)).toEqual([0, 288, 576, 864]);
    const past = new Map([
      [288, 10],
      [576, 1000],
      [864, 20],
    ]);
    expect(judge(c, 1, 61, past, 300)).toMatchObject({ match: true, reference: 20, threshold: 60 });
    expect(judge(c, 1, 59, past, 300).match).toBe(false);
    expect(judge(c, 1, 4, new Map([[288, 1]]), 300).match).toBe(false); // below the floor
    expect(judge(c, 1, 1e9, new Map(), 300)).toMatchObject({ match: false, reference: null });
  });

  it('moving average and sudden change', () => {
    const ma: Condition = { type: 'baseline', op: 'below', method: 'moving_average', periods: 2, factor: 2 };
    expect(windowsNeeded(ma, 60)).toEqual([0, 1, 2]);
    const past = new Map([
      [1, 100],
      [2, 300],
    ]);
    expect(judge(ma, 1, 99, past, 60)).toMatchObject({ match: true, reference: 200, threshold: 100 });
    const ch: Condition = { type: 'change', op: 'either', factor: 4, minValue: 10 };
    expect(judge(ch, 1, 50, new Map([[1, 10]]), 60).match).toBe(true);
    expect(judge(ch, 1, 2, new Map([[1, 10]]), 60).match).toBe(true);
    expect(judge(ch, 1, 30, new Map([[1, 10]]), 60).match).toBe(false);
    expect(judge(ch, 1, 30, new Map(), 60).match).toBe(false);
  });
});
