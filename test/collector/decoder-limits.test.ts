/**
 * The decoder's per-exporter and global template / held-data limits (the collector's
 * defence against template churn), and the constant-time template count the decode
 * worker uses instead of listing every template per packet.
 */
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import { set, v9Packet } from '../decode/packets.ts';
import { templateChurn } from './hostile-traffic.ts';

const feed = (d: ReturnType<typeof createDecoder>, exporter: string, packets: Buffer[]) => {
  for (const p of packets) d.decode(p, exporter, 1000, () => {});
};

describe('decoder limits', () => {
  it('bounds templates per exporter and in all, counts what it refuses, and counts in constant time', () => {
    const d = createDecoder({ maxTemplatesPerDomain: 100, maxTemplatesPerExporter: 250, maxTemplates: 400 });
    feed(d, '192.0.2.1', templateChurn(5, 100)); // 500 asked, 250 allowed
    expect(d.templateCount('192.0.2.1', 9, 1)).toBe(100);
    expect(d.templateCount('192.0.2.1', 9, 3)).toBe(50);
    expect(d.templateCount('192.0.2.1', 9, 4)).toBe(0);
    expect(d.stats['template-limit']).toBe(250);
    feed(d, '192.0.2.2', templateChurn(3, 100)); // 300 asked, 150 left in all
    expect(d.templates()).toHaveLength(400);
    expect(d.stats['template-limit']).toBe(250 + 150);
    // redefining known ids is not a new template
    feed(d, '192.0.2.1', templateChurn(1, 100, 1));
    expect(d.templateCount('192.0.2.1', 9, 1)).toBe(100);
    expect(d.stats['template-limit']).toBe(400);
  });

  it('bounds domains per exporter, and forgetting an exporter frees its share', () => {
    const d = createDecoder({ maxDomainsPerExporter: 2, maxTemplates: 300 });
    feed(d, '192.0.2.1', templateChurn(3, 100));
    expect(d.templates()).toHaveLength(200);
    d.forgetExporter('192.0.2.1');
    expect(d.templates()).toHaveLength(0);
    feed(d, '192.0.2.2', templateChurn(2, 150));
    expect(d.templates()).toHaveLength(300);
  });

  it('bounds held data sets per domain and per exporter, refusing (and counting) the excess', () => {
    const d = createDecoder({ maxHeldSets: 100, maxHeldSetsPerDomain: 3, maxHeldSetsPerExporter: 5 });
    const data = (domain: number) =>
      v9Packet({ sourceId: domain, sequence: 0, uptime: 1, unixSecs: 1 }, [set(300, Buffer.alloc(40, 1))]);
    feed(d, '192.0.2.1', [1, 1, 1, 1, 2, 2, 2].map(data));
    expect(d.stats.held).toBe(5);
    expect(d.stats['held-overflow']).toBe(2);
    // another exporter is not affected by the first one's share
    feed(d, '192.0.2.2', [1, 1].map(data));
    expect(d.stats.held).toBe(7);
  });
});
