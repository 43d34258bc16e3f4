import { describe, expect, it } from 'vitest';
import { emptyFlow, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { createEnricher } from './enrich.ts';
import { parseInventory } from './inventory.ts';
import { createSamplingPolicy } from './sampling.ts';

// two tenants with the SAME private addresses, told apart only by the VNI; one flat network
const YAML = `
tenants:
  - name: red
    networks:
      - name: red-net
        vni: 1001
        subnets:
          - { name: red-a, cidr: 10.0.0.0/24, ports: [{ name: red-vm1, ip: 10.0.0.1 }, { name: red-vm2, ip: 10.0.0.2 }] }
          - { cidr: 'fd00::/64' }
  - name: blue
    networks:
      - name: blue-net
        vni: 1002
        subnets:
          - { name: blue-a, cidr: 10.0.0.0/24, ports: [{ name: blue-vm1, ip: 10.0.0.1 }] }
      - name: blue-flat
        vlan: 30
        subnets:
          - { name: blue-lan, cidr: 192.168.30.0/24 }
exporters:
  - { address: 192.0.2.1, name: edge-1 }
`;

function flow(p: Partial<FlowRecord>): FlowRecord {
  return Object.assign(emptyFlow(), p);
}

describe('tenant enrichment', () => {
  const inv = parseInventory(YAML);
  if (!inv.ok) throw new Error(inv.reason);
  const e = createEnricher(inv.value);

  it('attributes by VNI and looks up subnets and ports within that tenant', () => {
    const r = flow({ vni: 1001, src_addr: '10.0.0.1', dst_addr: '10.0.0.2' });
    e.enrich(r);
    expect([r.tenant, r.network, r.src_subnet, r.src_endpoint, r.dst_endpoint, r.traffic_class]).toEqual([
      'red',
      'red-net',
      'red-a',
      'red-vm1',
      'red-vm2',
      'east-west',
    ]);
    const b = flow({ vni: 1002, src_addr: '10.0.0.1', dst_addr: '8.8.8.8' });
    e.enrich(b);
    expect([b.tenant, b.network, b.src_subnet, b.src_endpoint, b.dst_subnet, b.traffic_class]).toEqual([
      'blue',
      'blue-net',
      'blue-a',
      'blue-vm1',
      '',
      'north-south',
    ]);
  });

  it('keeps unknown VNIs unassigned, and names subnets without a name by CIDR', () => {
    const r = flow({ vni: 4242, src_addr: '10.0.0.1' });
    e.enrich(r);
    expect(r.tenant).toBe('');
    const v6 = flow({ vni: 1001, src_addr: 'fd00::5', dst_addr: '10.0.0.9' });
    e.enrich(v6);
    expect([v6.src_subnet, v6.dst_subnet, v6.traffic_class]).toEqual(['fd00::/64', 'red-a', 'east-west']);
    expect(e.stats.unknownVni).toBe(1);
  });

  it('falls back to VLAN, then to the subnet for flows with no VNI', () => {
    const v = flow({ vlan: 30, src_addr: '192.168.30.5', dst_addr: '1.1.1.1' });
    e.enrich(v);
    expect([v.tenant, v.network, v.src_subnet]).toEqual(['blue', 'blue-flat', 'blue-lan']);
    const s = flow({ src_addr: '1.1.1.1', dst_addr: '192.168.30.9' });
    e.enrich(s);
    expect([s.tenant, s.network, s.dst_subnet, s.traffic_class]).toEqual([
      'blue',
      'blue-flat',
      'blue-lan',
      'north-south',
    ]);
    const none = flow({ src_addr: '1.1.1.1', dst_addr: '2.2.2.2' });
    e.enrich(none);
    expect(none.tenant).toBe('');
    expect(inv.value.exporterNames.get('192.0.2.1')).toBe('edge-1');
  });

  it('reports what is wrong with a bad inventory instead of throwing', () => {
    expect(
      parseInventory('tenants: [{ name: x, networks: [{ name: n, subnets: [{ cidr: nope }] }] }]'),
    ).toMatchObject({
      ok: false,
      reason: expect.stringContaining('nope'),
    });
    expect(parseInventory('tenants: [ {')).toMatchObject({ ok: false });
    const dup =
      'tenants: [{name: a, networks: [{name: n, vni: 5}]}, {name: b, networks: [{name: m, vni: 5}]}]';
    expect(parseInventory(dup)).toMatchObject({ ok: false, reason: expect.stringContaining('VNI 5') });
  });
});

describe('sampling policy', () => {
  it('fills unknown rates with the default and lets overrides win', () => {
    const p = createSamplingPolicy({ default: 10, overrides: [{ exporter: '10.0.0.0/8', rate: 1000 }] });
    const unknown = flow({ exporter: '192.0.2.1', sampling_rate: 0 });
    const known = flow({ exporter: '192.0.2.1', sampling_rate: 64 });
    const forced = flow({ exporter: '10.9.9.9', sampling_rate: 64 });
    for (const r of [unknown, known, forced]) p.apply(r);
    expect([unknown.sampling_rate, known.sampling_rate, forced.sampling_rate]).toEqual([10, 64, 1000]);
    expect([p.defaulted, p.overridden]).toEqual([1, 1]);
  });
});

describe('tenant enrichment without a VNI', () => {
  const inv = parseInventory(YAML);
  if (!inv.ok) throw new Error(inv.reason);
  const e = createEnricher(inv.value);

  it('leaves a VNI-less flow unassigned when the subnet is one several tenants reuse', () => {
    const r = flow({ src_addr: '10.0.0.1', dst_addr: '10.0.0.2' });
    e.enrich(r);
    expect([r.tenant, r.network]).toEqual(['', '']);
    const v6 = flow({ src_addr: 'fd00::1', dst_addr: '2001:db8::1' });
    e.enrich(v6);
    expect(v6.tenant).toBe('red'); // fd00::/64 is only red's
  });
});
