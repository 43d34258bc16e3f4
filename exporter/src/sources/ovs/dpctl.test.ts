/**
 * The dpctl parser, mapper and flow tracker on real `ovs-appctl dpctl/dump-flows -m` output
 * recorded from the OVS lab (test/helpers/ovs-lab.ts: two tenants, VNI 1001 and 1002, with
 * the same inner addresses; 5 pings of 100 bytes in tenant 1, 3 pings of 200 bytes in tenant 2).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../../../protocol/src/schema/columns.ts';
import { macToNumber, mapDpFlow, tcpFlagsFromLetters } from './dpctl-map.ts';
import { parseDpctlDump, parseDpctlLine, parseDpctlShowPorts, splitTopLevel } from './dpctl-parse.ts';
import {
  END_ACTIVE,
  END_FORCED,
  END_IDLE,
  END_OF_FLOW,
} from '../../../../protocol/src/ie/flow-end-reason.ts';
import { createFlowTracker } from './flow-tracker.ts';

const data = (f: string) => readFileSync(new URL(`./testdata/${f}`, import.meta.url), 'utf8');
const ports = parseDpctlShowPorts(data('dpctl-show.txt'));

function icmpFlows(text: string) {
  return parseDpctlDump(text)
    .map((f) => ({ f, m: mapDpFlow(f, ports) }))
    .filter(({ m }) => m.record.proto === 1);
}

describe('dpctl parser', () => {
  it('reads the port map from dpctl/show', () => {
    expect(ports.get('a1')).toBe(4);
    expect(ports.get('vxlan_sys_4789')).toBe(5);
    expect(ports.get('a2')).toBe(7);
  });

  it('parses every flow line of a real dump and skips the header', () => {
    const text = data('dump-flows-m-poll1.txt');
    const lines = text.split('\n').filter((l) => l.includes('packets:'));
    const flows = parseDpctlDump(text);
    expect(flows.length).toBe(lines.length);
    expect(flows.length).toBeGreaterThan(20);
    expect(parseDpctlLine('flow-dump from the main thread:')).toBeNull();
    for (const f of flows) expect(f.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('maps tunnel ingress flows: VNI from tun_id, VTEPs from the tunnel key', () => {
    const replies = icmpFlows(data('dump-flows-m-poll1.txt')).filter(({ m }) => m.record.icmp_type === 0);
    expect(replies.map(({ m }) => m.record.vni).sort()).toEqual([1001, 1002]);
    for (const { f, m } of replies) {
      const r = m.record;
      expect(r).toMatchObject({
        src_addr: '10.0.0.2',
        dst_addr: '10.0.0.1',
        proto: 1,
        ip_version: 4,
        tunnel_src: '192.168.50.2',
        tunnel_dst: '192.168.50.1',
        tunnel_type: 1,
        in_if: 5,
      });
      expect(r.out_if).toBe(r.vni === 1001 ? 4 : 7);
      expect(m.underlay).toBe(false);
      expect(f.packets).toBe(r.vni === 1001 ? 4 : 2);
    }
  });

  it('maps flows into a tunnel: VNI and VTEPs from the tnl_push header', () => {
    const requests = icmpFlows(data('dump-flows-m-poll1.txt')).filter(({ m }) => m.record.icmp_type === 8);
    expect(requests.map(({ m }) => m.record.vni).sort()).toEqual([1001, 1002]);
    for (const { m } of requests) {
      expect(m.record).toMatchObject({
        src_addr: '10.0.0.1',
        dst_addr: '10.0.0.2',
        tunnel_src: '192.168.50.1',
        tunnel_dst: '192.168.50.2',
        tunnel_type: 1,
        in_if: m.record.vni === 1001 ? 4 : 7,
        out_if: 2, // uA, after the push
      });
    }
  });

  it('marks the underlay (tnl_pop) flows and non-IP flows', () => {
    const all = parseDpctlDump(data('dump-flows-m-poll1.txt')).map((f) => mapDpFlow(f, ports));
    const underlay = all.filter((m) => m.underlay);
    expect(underlay.length).toBeGreaterThan(0);
    for (const m of underlay) expect(m.record).toMatchObject({ proto: 17, dst_port: 4789, vni: 0 });
    expect(all.some((m) => !m.ip)).toBe(true); // ARP
  });

  it('reads the plain (non -m) format with port numbers', () => {
    const flows = parseDpctlDump(data('dump-flows-plain.txt'));
    expect(flows.length).toBeGreaterThan(20);
    const replies = flows
      .map((f) => mapDpFlow(f, new Map()))
      .filter((m) => m.record.icmp_type === 0 && m.record.proto === 1);
    expect(replies.map((m) => m.record.out_if).sort()).toEqual([4, 7]);
  });

  it('reads kernel-datapath style lines with masks, VLANs, TCP flags and IPv6', () => {
    const line =
      'recirc_id(0),in_port(3),eth(src=52:54:00:12:34:56/ff:ff:ff:ff:ff:ff,dst=52:54:00:ab:cd:ef),eth_type(0x8100),vlan(vid=42,pcp=0),encap(eth_type(0x86dd),ipv6(src=2001:db8::1/ffff:ffff:ffff:ffff::,dst=2001:db8::2,label=0/0,proto=6,tclass=0x20,hlimit=64,frag=no),tcp(src=443,dst=51514),tcp_flags(0/0)), packets:12, bytes:9000, used:0.512s, flags:SFP., actions:2';
    const f = parseDpctlLine(line)!;
    expect(f.packets).toBe(12);
    expect(f.usedS).toBeCloseTo(0.512);
    expect(f.tcpFlags).toBe('SFP.');
    const m = mapDpFlow(f, new Map());
    expect(m.record).toMatchObject({ src_addr: '2001:db8::1', dst_addr: '2001:db8::2', ip_version: 6 });
    expect(m.record).toMatchObject({ proto: 6, tos: 0x20, src_port: 443, dst_port: 51514 });
    expect(m.record.in_if).toBe(3);
    expect(m.record.vlan).toBe(42);
    expect(m.record.src_mac).toBe(0x525400123456);
    expect(m.record.tcp_flags).toBe(0x1b);
    expect(m.record.out_if).toBe(2);
    expect(m.l2Overhead).toBe(18);
  });

  it('reads a Geneve tunnel key and masks on IPv4 fields', () => {
    const line =
      'tunnel(tun_id=0x1388,src=10.1.0.1,dst=10.1.0.2,ttl=64,tp_dst=6081,geneve(),flags(-df+csum+key)),in_port(1),eth_type(0x0800),ipv4(src=172.16.0.5/255.255.255.255,dst=172.16.0.6,proto=17,tos=0/0xfc,frag=no),udp(src=5353,dst=53), packets:2, bytes:200, used:never, actions:drop';
    const m = mapDpFlow(parseDpctlLine(line)!, new Map());
    expect(m.record).toMatchObject({
      vni: 5000,
      tunnel_type: 3,
      tunnel_src: '10.1.0.1',
      src_addr: '172.16.0.5',
      dst_port: 53,
      tos: 0,
    });
  });

  it('never throws on damaged or unknown input', () => {
    const text = data('dump-flows-m-poll1.txt');
    const samples = [
      '',
      'packets:1, bytes:2, used:never',
      'garbage((((, packets:1, bytes:2, used:never, actions:',
      'in_port(1),newfield(x=1,y=(2)),eth_type(0x0800), packets:3, bytes:4, used:1.0s, actions:1',
      ')))(((, packets:1, bytes:1, used:5s',
    ];
    for (let cut = 0; cut < 2000; cut += 37) samples.push(text.slice(cut, cut + 400));
    for (const s of samples) {
      const flows = parseDpctlDump(s);
      for (const f of flows) expect(() => mapDpFlow(f, ports)).not.toThrow();
    }
    const unknown = parseDpctlLine(samples[3])!;
    expect(unknown.key.get('newfield')?.args.get('x')).toBe('1');
    expect(splitTopLevel('a(b,c),d')).toEqual(['a(b,c)', 'd']);
    expect(macToNumber('zz:zz')).toBe(0);
    expect(tcpFlagsFromLetters('R')).toBe(4);
  });
});

describe('flow tracker', () => {
  const line = (packets: number, bytes: number, used = '0.100s', flags = '') =>
    `ufid:00000000-0000-0000-0000-000000000001, in_port(4),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=40000,dst=80), packets:${packets}, bytes:${bytes}, used:${used}${flags ? `, flags:${flags}` : ''}, dp:ovs, actions:5`;
  const map = (f: ReturnType<typeof parseDpctlLine>) => mapDpFlow(f!, new Map());
  const dump = (...lines: string[]) => lines.map((l) => parseDpctlLine(l)!);

  it('diffs counters between polls and ends a vanished flow as idle', () => {
    const t = createFlowTracker({ activeTimeoutMs: 60_000 });
    expect(t.update(dump(line(0, 0, 'never')), 1000, map)).toEqual([]);
    expect(t.update(dump(line(3, 300)), 2000, map)).toEqual([]);
    expect(t.update(dump(line(10, 1000)), 3000, map)).toEqual([]);
    const ended = t.update([], 4000, map);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({
      packets: 10,
      bytes: 1000 - 10 * 14,
      flow_end_reason: END_IDLE,
      flow_end: 2900,
    });
    expect(ended[0].flow_start).toBe(1900);
    expect(t.size).toBe(0);
  });

  it('treats counters that went down as a new flow', () => {
    const t = createFlowTracker({ activeTimeoutMs: 60_000 });
    t.update(dump(line(5, 500)), 1000, map);
    const ended = t.update(dump(line(2, 200)), 2000, map);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ packets: 5, flow_end_reason: END_FORCED });
    const rest = t.flushAll(3000);
    expect(rest).toHaveLength(1);
    expect(rest[0]).toMatchObject({ packets: 2, bytes: 200 - 28, flow_end_reason: END_FORCED });
  });

  it('splits long flows at the active timeout and reports FIN as end of flow', () => {
    const t = createFlowTracker({ activeTimeoutMs: 5000 });
    t.update(dump(line(1, 100)), 1000, map);
    const first = t.update(dump(line(4, 400)), 6000, map);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ packets: 4, flow_end_reason: END_ACTIVE });
    t.update(dump(line(6, 600, '0.001s', 'SF.')), 7000, map);
    const last = t.update([], 8000, map);
    expect(last).toHaveLength(1);
    expect(last[0]).toMatchObject({ packets: 2, flow_end_reason: END_OF_FLOW, tcp_flags: 0x13 });
  });

  it('never emits a record without packets', () => {
    const t = createFlowTracker({ activeTimeoutMs: 1000 });
    t.update(dump(line(0, 0, 'never')), 1000, map);
    t.update(dump(line(0, 0, 'never')), 5000, map);
    const out: FlowRecord[] = [...t.update([], 9000, map), ...t.flushAll(9000)];
    expect(out).toEqual([]);
  });

  it('follows the real lab dumps: two tenants, same addresses, their own VNIs and counts', () => {
    const t = createFlowTracker({ activeTimeoutMs: 60_000 });
    const mapIp = (f: Parameters<typeof mapDpFlow>[0]) => {
      const m = mapDpFlow(f, ports);
      return m.ip && !m.underlay ? m : null;
    };
    t.update(parseDpctlDump(data('dump-flows-m-poll1.txt')), 10_000, mapIp);
    t.update(parseDpctlDump(data('dump-flows-m-poll2.txt')), 11_500, mapIp);
    const recs = t.flushAll(12_000).filter((r) => r.proto === 1);
    const key = (r: FlowRecord) => `${r.vni} ${r.src_addr}>${r.dst_addr} ${r.packets} ${r.bytes}`;
    // the first packet of each direction went through the upcall, not the datapath counters
    expect(recs.map(key).sort()).toEqual([
      '1001 10.0.0.1>10.0.0.2 4 512',
      '1001 10.0.0.2>10.0.0.1 4 512',
      '1002 10.0.0.1>10.0.0.2 2 456',
      '1002 10.0.0.2>10.0.0.1 2 456',
    ]);
  });
});
