/**
 * Property tests: no input makes decode() throw, loop or grow without bound. Random bytes
 * behind each version's header, and mutations of the real captures (every truncation, bit
 * flips, splices of two captures) through decoders that already know the captures' templates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDecoder, type FlowDecoder } from '../../protocol/src/decode/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { datagrams, listCaptures } from './helpers.ts';

const corpus = listCaptures()
  .filter((p) => !/sflow|\/decap\//.test(p))
  .flatMap((p) => datagrams(p).map((d) => d.payload));

function check(rec: FlowRecord): void {
  // every number a decoder produces is a real value, never NaN from a read past the end
  for (const [k, v] of Object.entries(rec)) {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${k} is ${v}`);
  }
}

function primed(): FlowDecoder {
  const d = createDecoder({ maxHeldSets: 200, maxHeldBytes: 1 << 20 });
  for (const p of corpus) d.decode(p, '192.0.2.1', 0, check);
  return d;
}

function decodeAll(d: FlowDecoder, b: Buffer): number {
  let n = 0;
  d.decode(b, '192.0.2.1', 0, (r) => {
    check(r);
    n++;
  });
  return n;
}

describe('decoder robustness', () => {
  it('has a corpus', () => expect(corpus.length).toBeGreaterThan(200));

  it('never throws on random bytes after any header', () => {
    const d = primed();
    fc.assert(
      fc.property(fc.constantFrom(5, 9, 10, 0, 7), fc.uint8Array({ maxLength: 1500 }), (version, body) => {
        const b = Buffer.concat([Buffer.from([version >> 8, version & 255]), Buffer.from(body)]);
        // a datagram of n octets yields at most n records (each record is at least 1 octet)
        expect(decodeAll(d, b)).toBeLessThanOrEqual(b.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on any truncation of a real capture', () => {
    const d = primed();
    for (const p of corpus) for (let len = 0; len < p.length; len++) decodeAll(d, p.subarray(0, len));
    expect(d.stats.packets).toBeGreaterThan(corpus.length);
  });

  it('never throws on bit flips and splices of real captures', () => {
    const d = primed();
    fc.assert(
      fc.property(
        fc.nat(corpus.length - 1),
        fc.nat(corpus.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(7)), { maxLength: 8 }),
        fc.nat(),
        (i, j, flips, cut) => {
          const a = Buffer.from(corpus[i]);
          for (const [pos, bit] of flips) a[pos % a.length] ^= 1 << bit;
          decodeAll(d, a);
          const k = cut % (a.length + 1);
          decodeAll(d, Buffer.concat([a.subarray(0, k), corpus[j].subarray(Math.min(k, corpus[j].length))]));
        },
      ),
      { numRuns: 3000 },
    );
    // held data stays within its bounds however much garbage arrives
    expect(d.stats.held - d.stats['held-expired'] - d.stats['held-overflow']).toBeLessThanOrEqual(
      200 + d.stats.records,
    );
  });

  it('keeps template state bounded', () => {
    const d = createDecoder({ maxTemplatesPerDomain: 8 });
    for (let id = 256; id < 400; id++) {
      const b = Buffer.alloc(32);
      b.writeUInt16BE(9, 0);
      b.writeUInt16BE(0, 20);
      b.writeUInt16BE(12, 22);
      b.writeUInt16BE(id, 24);
      b.writeUInt16BE(1, 26);
      b.writeUInt16BE(8, 28);
      b.writeUInt16BE(4, 30);
      d.decode(b, '192.0.2.1', 0, () => {});
    }
    expect(d.templates()).toHaveLength(8);
    expect(d.stats['template-limit']).toBe(144 - 8);
  });
});
