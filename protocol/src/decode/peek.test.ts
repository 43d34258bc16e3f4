import { describe, expect, it } from 'vitest';
import { createFlowEncoder } from '../encode/index.ts';
import { emptyFlow } from '../schema/columns.ts';
import { createDecoder } from './index.ts';
import { maskDataSets, peekDatagram } from './peek.ts';

function flows(n: number) {
  return Array.from({ length: n }, (_, i) =>
    Object.assign(emptyFlow(), {
      src_addr: `10.0.0.${i + 1}`,
      dst_addr: '10.0.1.1',
      bytes: 100 + i,
      packets: 1,
    }),
  );
}

describe('datagram peek', () => {
  for (const version of [9, 10] as const) {
    it(`v${version}: header facts and template sets, without decoding`, () => {
      const enc = createFlowEncoder({ version, observationDomain: 42, bootTimeMs: Date.now() - 1000 });
      const [first, ...rest] = enc.encode(flows(200), Date.now());
      const p = peekDatagram(first);
      expect(p).toMatchObject({ version, observationDomain: 42, hasTemplates: true });
      expect(rest.length).toBeGreaterThan(0);
      expect(peekDatagram(rest[0])?.hasTemplates).toBe(false);
      expect(peekDatagram(rest[0])?.sequence).not.toBe(p?.sequence);
    });

    it(`v${version}: a masked copy teaches the templates and yields no records`, () => {
      const enc = createFlowEncoder({ version, observationDomain: 7, bootTimeMs: Date.now() - 1000 });
      const [first, second] = enc.encode(flows(100), Date.now());
      const dec = createDecoder();
      const copy = Buffer.from(first);
      maskDataSets(copy);
      let records = 0;
      const sum = dec.decode(copy, '192.0.2.1', Date.now(), () => records++);
      expect(sum.templates).toBeGreaterThan(0);
      expect(records).toBe(0);
      expect(sum.errors).toBe(0);
      // the templates learnt decode the next datagram
      dec.decode(second, '192.0.2.1', Date.now(), () => records++);
      expect(records).toBeGreaterThan(0);
    });
  }

  it('v5 has no templates; other bytes are not a datagram', () => {
    const enc = createFlowEncoder({ version: 5, observationDomain: 0x0102, bootTimeMs: Date.now() - 1000 });
    const [d] = enc.encode(flows(3), Date.now());
    expect(peekDatagram(d)).toMatchObject({ version: 5, observationDomain: 0x0102, hasTemplates: false });
    expect(peekDatagram(Buffer.from('GET / HTTP/1.1\r\n'))).toBeUndefined();
    expect(peekDatagram(Buffer.alloc(2))).toBeUndefined();
  });
});
