import { describe, expect, it } from 'vitest';
import {
  END_ACTIVE,
  END_FORCED,
  END_IDLE,
  END_LACK_OF_RESOURCES,
  END_OF_FLOW,
} from '../../protocol/src/ie/flow-end-reason.ts';
import { createFlowCache, type FlowCache, type FlowCacheOptions } from './flow-cache.ts';
import { ethernet, icmp, ipv4, ipv6, TCP_FLAGS, tcp, udp, vxlan } from '../../test/helpers/packets.ts';
import { PacketInfo, PARSE_OK } from './packet/packet-info.ts';
import { LINKTYPE_ETHERNET, parsePacket } from './packet/parse.ts';

interface Pkt {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  flags?: number;
  vni?: number;
  payload?: number;
  proto?: 'tcp' | 'udp' | 'icmp';
  icmpType?: number;
  id?: number;
  fragOffset?: number;
  moreFragments?: boolean;
}

function frame(k: Pkt): Buffer {
  const proto = k.proto ?? 'tcp';
  const body = Buffer.alloc(k.payload ?? 0);
  const l4 =
    proto === 'tcp'
      ? tcp(k.sport ?? 1000, k.dport ?? 80, k.flags ?? TCP_FLAGS.ACK, body)
      : proto === 'udp'
        ? udp(k.sport ?? 1000, k.dport ?? 53, body)
        : icmp(k.icmpType ?? 8, 0, body);
  const inner = ethernet(
    { etherType: 0x0800, src: '02:aa:bb:cc:dd:01', dst: '02:aa:bb:cc:dd:02' },
    ipv4(
      {
        src: k.src ?? '10.0.0.1',
        dst: k.dst ?? '10.0.0.2',
        proto: proto === 'tcp' ? 6 : proto === 'udp' ? 17 : 1,
        id: k.id,
        fragOffset: k.fragOffset,
        moreFragments: k.moreFragments,
      },
      k.fragOffset ? body : l4,
    ),
  );
  if (k.vni === undefined) return inner;
  return ethernet(
    { etherType: 0x0800 },
    ipv4({ src: '172.16.0.1', dst: '172.16.0.2', proto: 17 }, udp(50000, 4789, vxlan(k.vni, inner))),
  );
}

const info = new PacketInfo();
function feed(cache: FlowCache, timeMs: number, k: Pkt = {}): void {
  const f = frame(k);
  expect(parsePacket(info, LINKTYPE_ETHERNET, f, 0, f.length)).toBe(PARSE_OK);
  cache.add(info, f, timeMs);
}

const T0 = 1_764_000_000_000;
const make = (o: FlowCacheOptions = {}) => createFlowCache(o);

describe('flow cache: accounting', () => {
  it('aggregates packets of one flow: L3 bytes, packets, times, flags union, tunnel fields', () => {
    const c = make();
    feed(c, T0, { vni: 2001, flags: TCP_FLAGS.SYN, payload: 0 });
    feed(c, T0 + 10, { vni: 2001, flags: TCP_FLAGS.ACK, payload: 100 });
    feed(c, T0 + 20.7, { vni: 2001, flags: TCP_FLAGS.ACK | TCP_FLAGS.PSH, payload: 200 });
    expect(c.size).toBe(1);
    c.flush();
    const [r] = c.drain();
    expect(r).toMatchObject({
      src_addr: '10.0.0.1',
      dst_addr: '10.0.0.2',
      src_port: 1000,
      dst_port: 80,
      proto: 6,
      ip_version: 4,
      bytes: 40 + 140 + 240,
      packets: 3,
      tcp_flags: 0x1a,
      flow_start: T0,
      flow_end: T0 + 20,
      vni: 2001,
      tunnel_type: 1,
      tunnel_src: '172.16.0.1',
      tunnel_dst: '172.16.0.2',
      src_mac: 0x02aabbccdd01,
      dst_mac: 0x02aabbccdd02,
      flow_end_reason: END_FORCED,
      sampling_rate: 1,
      exporter: '',
    });
    expect(c.drain()).toEqual([]);
  });

  it('separates flows by VNI, ports, protocol and ICMP type', () => {
    const c = make();
    feed(c, T0, { vni: 1 });
    feed(c, T0, { vni: 2 });
    feed(c, T0, { vni: 2, sport: 1001 });
    feed(c, T0, { vni: 2, proto: 'udp' });
    feed(c, T0, { vni: 2, proto: 'icmp', icmpType: 8 });
    feed(c, T0, { vni: 2, proto: 'icmp', icmpType: 0 });
    feed(c, T0, { proto: 'icmp', icmpType: 0 });
    feed(c, T0 + 1, { vni: 2, proto: 'icmp', icmpType: 0 });
    expect(c.size).toBe(7);
    c.flush();
    const recs = c.drain();
    expect(recs.find((r) => r.vni === 2 && r.proto === 1 && r.icmp_type === 0)?.packets).toBe(2);
    expect(recs.filter((r) => r.vni === 0)).toHaveLength(1);
  });

  it('keeps IPv6 flows with every address word in the key', () => {
    const c = make();
    for (const dst of ['fd00::2', 'fd00:0:0:1::2', 'fd00::2']) {
      const f = ethernet({ etherType: 0x86dd }, ipv6({ src: 'fd00::1', dst, next: 17 }, udp(5, 6)));
      parsePacket(info, LINKTYPE_ETHERNET, f, 0, f.length);
      c.add(info, f, T0);
    }
    c.flush();
    const recs = c.drain();
    expect(recs.map((r) => [r.dst_addr, r.packets])).toEqual([
      ['fd00:0:0:1::2', 1],
      ['fd00::2', 2],
    ]);
    expect(recs[0].bytes).toBe(48);
  });

  it('tracks 20 000 distinct flows without merging any (hash collisions resolved by key)', () => {
    const c = make({ maxFlows: 100_000 });
    for (let i = 0; i < 20_000; i++) {
      feed(c, T0, { vni: i % 7, src: `10.${(i >> 8) & 255}.${i & 255}.1`, sport: 1024 + (i % 3) });
    }
    expect(c.size).toBe(20_000);
    expect(c.stats.flowsCreated).toBe(20_000);
  });
});

describe('flow cache: expiry', () => {
  it('expires an idle flow after the inactive timeout (reason 1), driven by packet time', () => {
    const c = make({ inactiveTimeoutMs: 15_000 });
    feed(c, T0, { sport: 1 });
    feed(c, T0 + 14_999, { sport: 2 });
    expect(c.drain()).toEqual([]);
    feed(c, T0 + 15_000, { sport: 2 });
    const out = c.drain();
    expect(out.map((r) => [r.src_port, r.flow_end_reason])).toEqual([[1, END_IDLE]]);
    expect(c.size).toBe(1);
  });

  it('expires by a clock tick with no packets (live capture)', () => {
    const c = make({ inactiveTimeoutMs: 1000 });
    feed(c, T0);
    c.expire(T0 + 999);
    expect(c.size).toBe(1);
    c.expire(T0 + 1000);
    expect(c.drain().map((r) => r.flow_end_reason)).toEqual([END_IDLE]);
  });

  it('exports a long-lived flow at the active timeout (reason 2) and starts a new one', () => {
    const c = make({ activeTimeoutMs: 60_000, inactiveTimeoutMs: 15_000 });
    for (let s = 0; s <= 70; s++) feed(c, T0 + s * 1000);
    const out = c.drain();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      packets: 60,
      flow_start: T0,
      flow_end: T0 + 59_000,
      flow_end_reason: END_ACTIVE,
    });
    c.flush();
    expect(c.drain()[0]).toMatchObject({ packets: 11, flow_start: T0 + 60_000, flow_end_reason: END_FORCED });
  });

  it('ends a flow a grace period after FIN, keeping the closing ACK (reason 3)', () => {
    const c = make({ finTimeoutMs: 2000 });
    feed(c, T0, { flags: TCP_FLAGS.SYN });
    feed(c, T0 + 100, { flags: TCP_FLAGS.FIN | TCP_FLAGS.ACK });
    feed(c, T0 + 500, { flags: TCP_FLAGS.ACK });
    feed(c, T0 + 2099, { sport: 9 });
    expect(c.drain()).toEqual([]);
    feed(c, T0 + 2100, { sport: 9 });
    const [r] = c.drain();
    expect(r).toMatchObject({ src_port: 1000, packets: 3, tcp_flags: 0x13, flow_end_reason: END_OF_FLOW });
  });

  it('ends a reset flow after the grace (reason 3); a flush before it is a forced end (4)', () => {
    const c = make({ finTimeoutMs: 2000 });
    feed(c, T0, { flags: TCP_FLAGS.RST });
    c.expire(T0 + 2000);
    expect(c.drain()[0].flow_end_reason).toBe(END_OF_FLOW);
    feed(c, T0 + 3000, { flags: TCP_FLAGS.RST });
    c.flush();
    expect(c.drain()[0].flow_end_reason).toBe(END_FORCED);
  });

  it('bounds the cache: a new flow evicts the least recently seen (reason 5)', () => {
    const c = make({ maxFlows: 3 });
    feed(c, T0, { sport: 1 });
    feed(c, T0 + 1, { sport: 2 });
    feed(c, T0 + 2, { sport: 3 });
    feed(c, T0 + 3, { sport: 1 }); // 1 is now the most recent; 2 the oldest
    feed(c, T0 + 4, { sport: 4 });
    expect(c.size).toBe(3);
    expect(c.drain().map((r) => [r.src_port, r.flow_end_reason])).toEqual([[2, END_LACK_OF_RESOURCES]]);
    expect(c.stats.expired[END_LACK_OF_RESOURCES]).toBe(1);
  });

  it('flushes everything with reason 4, oldest activity first', () => {
    const c = make();
    feed(c, T0, { sport: 1 });
    feed(c, T0 + 1, { sport: 2 });
    c.flush();
    expect(c.drain().map((r) => [r.src_port, r.flow_end_reason])).toEqual([
      [1, END_FORCED],
      [2, END_FORCED],
    ]);
    expect(c.size).toBe(0);
  });
});

describe('flow cache: sampling and fragments', () => {
  it('samples 1 in N deterministically and stamps the rate', () => {
    const c = make({ samplingRate: 10 });
    let kept = 0;
    for (let i = 0; i < 100; i++) {
      if (!c.sample()) continue;
      kept++;
      feed(c, T0 + i);
    }
    expect(kept).toBe(10);
    c.flush();
    expect(c.drain()[0]).toMatchObject({ packets: 10, sampling_rate: 10 });
  });

  it('attributes later IPv4 fragments to the first fragment ports', () => {
    const c = make();
    feed(c, T0, { proto: 'udp', sport: 7, dport: 9, id: 4242, moreFragments: true, payload: 1472 });
    feed(c, T0 + 1, { proto: 'udp', id: 4242, fragOffset: 185, payload: 500 });
    feed(c, T0 + 2, { proto: 'udp', id: 999, fragOffset: 185, payload: 500 }); // first never seen
    c.flush();
    const recs = c.drain();
    expect(recs.map((r) => [r.src_port, r.dst_port, r.packets, r.bytes])).toEqual([
      [7, 9, 2, 1500 + 520],
      [0, 0, 1, 520],
    ]);
    expect(c.stats).toMatchObject({ laterFragments: 2, laterFragmentsAttributed: 1 });
  });

  it('attributes fragments per tenant when two VNIs reuse the same addresses and IP id', () => {
    const c = make();
    feed(c, T0, { vni: 1, proto: 'udp', sport: 7, dport: 9, id: 5, moreFragments: true, payload: 100 });
    feed(c, T0, { vni: 2, proto: 'udp', sport: 8, dport: 10, id: 5, moreFragments: true, payload: 100 });
    feed(c, T0 + 1, { vni: 2, proto: 'udp', id: 5, fragOffset: 14, payload: 50 });
    feed(c, T0 + 1, { vni: 1, proto: 'udp', id: 5, fragOffset: 14, payload: 50 });
    c.flush();
    expect(c.drain().map((r) => [r.vni, r.src_port, r.packets])).toEqual([
      [2, 8, 2],
      [1, 7, 2],
    ]);
  });

  it('rejects options out of range', () => {
    expect(() => make({ maxFlows: 0 })).toThrow(/maxFlows/);
    expect(() => make({ samplingRate: 1.5 })).toThrow(/samplingRate/);
    expect(() => make({ inactiveTimeoutMs: -1 })).toThrow(/inactiveTimeoutMs/);
  });
});
