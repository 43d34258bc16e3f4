/**
 * Packing rules, checked on the bytes: no datagram over the MTU, header counts and
 * sequence numbers as each protocol defines them across many calls, templates in the first
 * datagram and again by packet count and by time, and `templates()` on demand.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyFlow, type FlowRecord } from '../schema/columns.ts';
import { createDecoder } from '../decode/index.ts';
import { createFlowEncoder } from './index.ts';

const NOW = Date.UTC(2026, 10, 25, 12);

function flows(n: number, v6Every = 3): FlowRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r = emptyFlow();
    r.src_addr = i % v6Every === 0 ? `2001:db8::${(i + 1).toString(16)}` : `10.0.${i >> 8}.${i & 255}`;
    r.dst_addr = i % v6Every === 0 ? '2001:db8::ffff' : '10.9.9.9';
    r.bytes = 100 + i;
    r.packets = 1;
    r.flow_start = NOW - 1000;
    r.flow_end = NOW;
    r.vni = i % 3 === 1 ? 0 : 5000 + i;
    r.tunnel_type = i % 3 === 1 ? 0 : 1;
    return r;
  });
}

/** Walks the sets of a v9/IPFIX datagram: [set id, set length][] (throws on a bad walk). */
function sets(d: Buffer, headerLength: number): [number, number][] {
  const out: [number, number][] = [];
  for (let off = headerLength; off < d.length; ) {
    const id = d.readUInt16BE(off);
    const len = d.readUInt16BE(off + 2);
    if (len < 4 || off + len > d.length) throw new Error(`bad set at ${off}`);
    out.push([id, len]);
    off += len;
  }
  return out;
}

describe('MTU and sequence numbers over many calls', () => {
  for (const version of [9, 10, 5] as const) {
    it(`v${version}: datagrams fit the MTU; sequence numbers advance as the protocol says`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 576, max: 3000 }),
          fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 12 }),
          (mtu, sizes) => {
            const enc = createFlowEncoder({ version, observationDomain: 3, bootTimeMs: NOW - 60_000, mtu });
            const dec = createDecoder(); // counts the data records of each message
            let expectSeq = 0;
            let datagrams = 0;
            for (const [i, n] of sizes.entries()) {
              const out = enc.encode(flows(n), NOW + i * 10);
              if (n === 0) expect(out).toEqual([]);
              for (const d of out) {
                datagrams++;
                expect(d.length).toBeLessThanOrEqual(mtu);
                expect(d.readUInt16BE(0)).toBe(version);
                if (version === 5) {
                  const count = d.readUInt16BE(2);
                  expect(d.length).toBe(24 + 48 * count);
                  expect(count).toBeLessThanOrEqual(30);
                  expect(d.readUInt32BE(16)).toBe(expectSeq);
                  expectSeq += count; // flows seen before this packet
                } else if (version === 9) {
                  expect(d.readUInt32BE(12)).toBe(expectSeq++); // export packets
                  expect(d.readUInt32BE(16)).toBe(3);
                  for (const [, len] of sets(d, 20)) expect(len % 4).toBe(0);
                } else {
                  expect(d.readUInt16BE(2)).toBe(d.length);
                  expect(d.readUInt32BE(8)).toBe(expectSeq); // data records before this message
                  expect(d.readUInt32BE(12)).toBe(3);
                  const flowRecords = dec.decode(d, '127.0.0.1', NOW, () => {}).records;
                  const optionsData = sets(d, 16).filter(([id]) => id === 300).length;
                  expectSeq += flowRecords + optionsData;
                }
              }
            }
            expect(enc.stats.packets).toBe(datagrams);
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});

describe('NetFlow v9 header count', () => {
  it('counts template, options template, options data and data records', () => {
    const enc = createFlowEncoder({ version: 9, observationDomain: 1, bootTimeMs: NOW - 1000 });
    const [first, ...rest] = enc.encode(flows(10), NOW);
    expect(rest).toEqual([]);
    // 2 data templates + 1 options template + 1 options data + 10 flows
    expect(first.readUInt16BE(2)).toBe(14);
    expect(sets(first, 20).map(([id]) => id)).toEqual([0, 1, 300, 256, 257]);
  });
});

describe('template refresh', () => {
  const hasTemplates = (d: Buffer, version: 9 | 10) => {
    const ids = sets(d, version === 9 ? 20 : 16).map(([id]) => id);
    return ids.includes(version === 9 ? 0 : 2);
  };

  for (const version of [9, 10] as const) {
    it(`v${version}: first datagram, then every N datagrams, then after M ms`, () => {
      const enc = createFlowEncoder({
        version,
        observationDomain: 1,
        bootTimeMs: NOW - 1000,
        mtu: 1400,
        templateRefreshPackets: 5,
        templateRefreshMs: 10_000,
      });
      const out = enc.encode(flows(400, 1000), NOW); // IPv4 only: one template in play
      expect(out.length).toBeGreaterThan(12);
      const withTemplates = out.map((d, i) => (hasTemplates(d, version) ? i : -1)).filter((i) => i >= 0);
      expect(withTemplates).toEqual(out.map((_, i) => i).filter((i) => i % 5 === 0));
      // time trigger: the next call 10 s later starts with templates, whatever the count
      const later = enc.encode(flows(1), NOW + 10_000);
      expect(hasTemplates(later[0], version)).toBe(true);
      const soon = enc.encode(flows(1), NOW + 10_001);
      expect(hasTemplates(soon[0], version)).toBe(false);
      // on demand
      const t = enc.templates(NOW + 10_002);
      expect(t).toHaveLength(1);
      expect(hasTemplates(t[0], version)).toBe(true);
      expect(enc.stats.templatePackets).toBe(withTemplates.length + 2);
    });
  }

  it('small MTUs split templates over datagrams, each within the MTU', () => {
    const enc = createFlowEncoder({ version: 10, observationDomain: 1, bootTimeMs: 0, mtu: 300 });
    const t = enc.templates(NOW);
    expect(t.length).toBeGreaterThan(1);
    for (const d of t) expect(d.length).toBeLessThanOrEqual(300);
  });

  it('rejects an MTU too small for a template and one record', () => {
    expect(() => createFlowEncoder({ version: 10, observationDomain: 1, bootTimeMs: 0, mtu: 100 })).toThrow(
      RangeError,
    );
    expect(() => createFlowEncoder({ version: 5, observationDomain: 1, bootTimeMs: 0, mtu: 60 })).toThrow(
      RangeError,
    );
  });
});

describe('NetFlow v5', () => {
  it('skips IPv6 flows and counts them; engine type/id come from the domain', () => {
    const enc = createFlowEncoder({ version: 5, observationDomain: 0x0102, bootTimeMs: NOW - 1000 });
    const out = enc.encode(flows(9), NOW);
    expect(out).toHaveLength(1);
    expect(out[0].readUInt16BE(2)).toBe(6);
    expect([out[0][20], out[0][21]]).toEqual([1, 2]);
    expect(enc.stats.skipped).toBe(3);
  });
});
