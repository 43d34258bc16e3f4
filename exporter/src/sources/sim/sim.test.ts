import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { FlowRecord } from '../../../../protocol/src/schema/columns.ts';
import { createSimSource } from '../sim.ts';
import { createGenerator, dailyFactor } from './generate.ts';
import { cloudInventory, inventoryYaml } from './inventory.ts';
import { buildCloud } from './model.ts';

const START = Date.UTC(2026, 10, 25, 12, 0, 0);

async function runSim(opts: Parameters<typeof createSimSource>[0]): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  await createSimSource({ realtime: false, startMs: START, ...opts }).run({
    emit: (recs) => out.push(...recs),
    signal: new AbortController().signal,
  });
  return out;
}

describe('sim source', () => {
  it('is deterministic: the same seed gives the same records, another seed others', async () => {
    const a = await runSim({ rate: 500, seed: 7, tenants: 5, durationS: 4 });
    const b = await runSim({ rate: 500, seed: 7, tenants: 5, durationS: 4 });
    const c = await runSim({ rate: 500, seed: 8, tenants: 5, durationS: 4 });
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toEqual(a);
    expect(c.slice(0, 50)).not.toEqual(a.slice(0, 50));
  });

  it('emits at the configured rate (flat curve: exactly rate × duration)', async () => {
    const recs = await runSim({ rate: 250, seed: 1, tenants: 3, durationS: 8, flat: true });
    expect(recs.length).toBe(2000);
    const times = recs.map((r) => r.flow_end as number);
    expect(Math.min(...times)).toBe(START);
    expect(Math.max(...times)).toBeLessThan(START + 8000);
  });

  it('follows the daily curve: more flows at the afternoon peak than at night', async () => {
    expect(dailyFactor(Date.UTC(2026, 0, 1, 14))).toBeGreaterThan(1.6);
    expect(dailyFactor(Date.UTC(2026, 0, 1, 2))).toBeLessThan(0.5);
    const peak = await runSim({
      rate: 200,
      seed: 1,
      tenants: 3,
      durationS: 5,
      startMs: Date.UTC(2026, 0, 1, 14),
    });
    const night = await runSim({
      rate: 200,
      seed: 1,
      tenants: 3,
      durationS: 5,
      startMs: Date.UTC(2026, 0, 1, 2),
    });
    expect(peak.length).toBeGreaterThan(night.length * 2);
  });

  it('gives tenants overlapping addresses that only the VNI separates', async () => {
    const recs = await runSim({ rate: 2000, seed: 3, tenants: 6, durationS: 5 });
    const cloud = buildCloud({ seed: 3, tenants: 6 });
    const vniTenant = new Map<number, string>();
    for (const t of cloud.tenants) for (const n of t.networks) vniTenant.set(n.vni, t.name);
    // the same inner source address appears under several tenants' VNIs
    const tenantsBySrc = new Map<string, Set<string>>();
    for (const r of recs) {
      const tenant = vniTenant.get(r.vni as number);
      expect(tenant).toBeDefined();
      if (!(r.src_addr as string).startsWith('10.0.')) continue;
      const set = tenantsBySrc.get(r.src_addr as string) ?? new Set();
      set.add(tenant!);
      tenantsBySrc.set(r.src_addr as string, set);
    }
    expect(Math.max(...[...tenantsBySrc.values()].map((s) => s.size))).toBeGreaterThanOrEqual(3);
    // every record is a VXLAN overlay flow between VTEPs
    for (const r of recs) {
      expect(r.tunnel_type).toBe(1);
      expect(r.tunnel_src).toMatch(/^172\.16\./);
      expect(r.tunnel_dst).toMatch(/^172\.16\./);
      expect(r.packets as number).toBeGreaterThan(0);
      expect(r.bytes as number).toBeGreaterThanOrEqual(r.packets as number);
    }
  });

  it('mixes east-west and north-south traffic, with heavy hitters', async () => {
    const recs = await runSim({ rate: 2000, seed: 5, tenants: 6, durationS: 5 });
    const internal = (a: string) => a.startsWith('10.0.') || a.startsWith('fd00:');
    const ew = recs.filter((r) => internal(r.src_addr as string) && internal(r.dst_addr as string)).length;
    const ns = recs.length - ew;
    expect(ew / recs.length).toBeGreaterThan(0.4);
    expect(ns / recs.length).toBeGreaterThan(0.2);
    // Zipf: the busiest VNI carries far more flows than the quietest
    const byVni = new Map<number, number>();
    for (const r of recs) byVni.set(r.vni as number, (byVni.get(r.vni as number) ?? 0) + 1);
    const counts = [...byVni.values()].sort((a, b) => b - a);
    expect(counts[0]).toBeGreaterThan(counts[counts.length - 1] * 5);
    const protos = new Set(recs.map((r) => r.proto));
    for (const p of protos) expect([1, 6, 17, 58]).toContain(p);
    expect(protos.has(6) && protos.has(17)).toBe(true);
  });

  it('has SYN floods now and then: one-packet SYNs against one VM', () => {
    const cloud = buildCloud({ seed: 1, tenants: 4 });
    const gen = createGenerator(cloud, 1);
    let floodAt = -1;
    for (let t = START; t < START + 24 * 3_600_000; t += 10_000) {
      if (gen.floodAt(t)) {
        floodAt = t;
        break;
      }
    }
    expect(floodAt).toBeGreaterThan(0);
    const victim = gen.floodAt(floodAt)!.target;
    const recs = Array.from({ length: 500 }, (_, i) => gen.next(floodAt + i));
    const syns = recs.filter((r) => r.tcp_flags === 0x02 && r.packets === 1 && r.dst_addr === victim);
    expect(syns.length).toBeGreaterThan(100);
  });

  it('writes its inventory in the shared YAML shape', () => {
    const cloud = buildCloud({ seed: 2, tenants: 3 });
    const doc = parse(inventoryYaml(cloud));
    expect(doc).toEqual(cloudInventory(cloud));
    expect(doc.tenants).toHaveLength(3);
    const t0 = doc.tenants[0];
    expect(Object.keys(t0)).toEqual(['name', 'networks']);
    const net = t0.networks[0];
    expect(Object.keys(net)).toEqual(['name', 'vni', 'subnets']);
    expect(net.subnets[0].cidr).toBe('10.0.0.0/24');
    expect(Object.keys(net.subnets[0].ports[0])).toEqual(['name', 'ip', 'mac']);
    expect(net.subnets[0].ports[0].mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const vnis = doc.tenants.flatMap((t: { networks: { vni: number }[] }) => t.networks.map((n) => n.vni));
    expect(new Set(vnis).size).toBe(vnis.length);
  });

  it('stops when aborted, in real time', async () => {
    const ac = new AbortController();
    let n = 0;
    const run = createSimSource({ rate: 1000, seed: 1, tenants: 2 }).run({
      emit: (r) => {
        n += r.length;
      },
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 300);
    await run;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(2000);
  });
});
