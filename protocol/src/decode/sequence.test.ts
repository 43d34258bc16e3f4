import { describe, expect, it } from 'vitest';
import { createSequenceTracker } from './sequence.ts';

describe('sequence tracker', () => {
  it('v9 counts lost and reordered packets per source id', () => {
    const t = createSequenceTracker();
    t.observe('a', 9, 1, 100, 5);
    t.observe('a', 9, 1, 101, 5);
    expect(t.observe('a', 9, 1, 104, 5).lost).toBe(2);
    expect(t.observe('a', 9, 1, 102, 5).reordered).toBe(true);
    t.observe('a', 9, 2, 7, 1); // another source id is its own stream
    const s = t.stats().find((x) => x.domain === 1)!;
    expect([s.lost, s.reordered, s.unit]).toEqual([1, 1, 'packets']);
  });

  it('IPFIX counts data records before the message, modulo 2^32', () => {
    const t = createSequenceTracker();
    t.observe('a', 10, 0, 2 ** 32 - 10, 10);
    expect(t.observe('a', 10, 0, 0, 4).lost).toBe(0);
    expect(t.observe('a', 10, 0, 10, 3).lost).toBe(6);
  });

  it('tolerates softflowd counting its own records without raising loss', () => {
    const t = createSequenceTracker();
    // softflowd: sequence = records sent including this message's
    t.observe('a', 10, 0, 3, 3);
    expect(t.observe('a', 10, 0, 8, 5).lost).toBe(0);
    expect(t.observe('a', 10, 0, 10, 2).lost).toBe(0);
    expect(t.observe('a', 10, 0, 21, 7).lost).toBe(4);
  });

  it('v5 counts flows; a huge jump is a restart, not loss', () => {
    const t = createSequenceTracker();
    t.observe('a', 5, 0, 100_000, 30);
    expect(t.observe('a', 5, 0, 100_030, 30).lost).toBe(0);
    expect(t.observe('a', 5, 0, 5, 30).reset).toBe(true);
    expect(t.stats()[0].lost).toBe(0);
  });
});
