import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIPv4Text, isIPv6Text, parseIpInto, writeIp16, writeIPv4, writeIPv6 } from './ip.ts';

/** Reference: Node's own address parser, through URL's canonical IPv6 bytes. */
function reference16(s: string): Uint8Array | null {
  const v = isIP(s);
  if (v === 0) return null;
  const out = new Uint8Array(16);
  if (v === 4) {
    out[10] = 0xff;
    out[11] = 0xff;
    s.split('.').forEach((p, i) => {
      out[12 + i] = Number(p);
    });
    return out;
  }
  // new URL canonicalises IPv6 text to its compressed lower-case form of the same 8 words
  const host = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const [h, t = ''] = host.includes('::') ? host.split('::') : [host, undefined];
  const words = (x: string | undefined) => (x ? x.split(':').map((w) => Number.parseInt(w, 16)) : []);
  const hw = words(h);
  const tw = words(t);
  const all = [...hw, ...Array(8 - hw.length - tw.length).fill(0), ...tw];
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

describe('IP address text', () => {
  it('writes IPv4 as ::ffff:a.b.c.d and IPv6 as its 16 octets, as Node parses them', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ maxLength: 20 })), (s) => {
        const got = new Uint8Array(18).fill(7);
        const ok = writeIp16(s, got, 1);
        const want = reference16(s);
        // dotted octets with leading zeros (ipV4Extended) are not addresses to Node either
        expect(ok).toBe(want !== null);
        expect(got.subarray(1, 17)).toEqual(want ?? new Uint8Array(16));
        expect(got[0]).toBe(7);
        expect(got[17]).toBe(7);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads mapped IPv4 as IPv4, and rejects what is not an address', () => {
    const out = new Uint8Array(16);
    expect(parseIpInto('::ffff:10.1.2.3', out)).toBe(4);
    expect([...out.subarray(0, 4)]).toEqual([10, 1, 2, 3]);
    expect(parseIpInto('::ffff:a01:203', out)).toBe(4);
    expect(parseIpInto('2001:db8::1', out)).toBe(6);
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1::2::3',
      ':1',
      '1:',
      '12345::',
      'x',
      '1.2.3.4:80',
    ])
      expect(parseIpInto(bad, out), bad).toBe(0);
  });

  it('checks and writes one family at a time (the encoders, SQL literals), as Node parses them', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ maxLength: 20 }), fc.constant('')),
        (s) => {
          const family = isIP(s);
          expect(isIPv4Text(s), s).toBe(family === 4);
          expect(isIPv6Text(s), s).toBe(family === 6);
          const want = reference16(s);
          const v4 = new Uint8Array(6).fill(7);
          expect(writeIPv4(v4, 1, s)).toBe(family === 4 || s === '');
          expect([...v4]).toEqual([7, ...(family === 4 && want ? want.subarray(12) : [0, 0, 0, 0]), 7]);
          const v6 = new Uint8Array(18).fill(7);
          expect(writeIPv6(v6, 1, s)).toBe(family === 6 || s === '');
          expect([...v6]).toEqual([7, ...(family === 6 && want ? want : new Uint8Array(16)), 7]);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
