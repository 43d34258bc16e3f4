import { describe, expect, it } from 'vitest';
import { createSpreader } from './spread.ts';

const peek = (sequence: number) => ({
  version: 9 as const,
  observationDomain: 1,
  sequence,
  hasTemplates: false,
});

describe('spreader', () => {
  it("'auto' asks for a handoff once an exporter's rate passes the threshold, and not before", () => {
    const s = createSpreader({ mode: 'auto', aboveDatagramsPerSecond: 100, maxStreams: 10 });
    for (let t = 0; t < 1000; t += 20) expect(s.place('a', t)).toBe('home'); // 50/s
    expect(s.place('a', 1000)).toBe('home');
    for (let t = 1000; t < 2000; t += 5) s.place('a', t); // 200/s
    expect(s.place('a', 2000)).toBe('start-handoff');
    expect(s.place('a', 2001)).toBe('handoff');
    s.handoffDone('a');
    expect(s.place('a', 2002)).toBe('spread');
    expect(s.spreadCount).toBe(1);
  });

  it('counts the sequence in ticket order whatever order the workers answer in', () => {
    const s = createSpreader({ mode: 'always', aboveDatagramsPerSecond: 1, maxStreams: 10 });
    expect(s.place('a', 0)).toBe('spread');
    // sequences 0..9 with 3 and 7 lost on the way
    const seqs = [0, 1, 2, 4, 5, 6, 8, 9];
    const tickets = seqs.map((q) => {
      const t = s.nextTicket;
      s.ticketQueued('a', peek(q));
      return t;
    });
    // worker 1 answers the odd tickets first, then worker 0 the even ones
    s.answers(Float64Array.from(tickets.filter((_, i) => i % 2).flatMap((t) => [t, 1, 1])));
    expect(s.waiting).toBe(seqs.length);
    s.answers(Float64Array.from(tickets.filter((_, i) => i % 2 === 0).flatMap((t) => [t, 1, 1])));
    expect(s.waiting).toBe(0);
    const merged = s.mergeStats(0, { lostPackets: 0, lostRecords: 0, reordered: 0 } as never, [
      {
        exporter: 'a',
        version: 9,
        observationDomain: 1,
        templates: 1,
        samplingRate: 0,
        packets: 8,
        records: 8,
        lostPackets: 0,
        lostRecords: 0,
        reordered: 0,
        errors: 0,
        firstSeenMs: 0,
        lastSeenMs: 0,
      },
    ]);
    expect(merged.stats.lostPackets).toBe(2);
    expect(merged.stats.reordered).toBe(0);
    expect(merged.exporters[0].lostPackets).toBe(2);
  });
});
