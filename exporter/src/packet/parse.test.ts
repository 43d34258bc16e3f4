import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../../protocol/src/capture/pcap.ts';
import { wordsToAddress } from './addr.ts';
import {
  ethernet,
  geneve,
  gre,
  icmp,
  ipv4,
  ipv6,
  ipv6Extension,
  ipv6Fragment,
  TCP_FLAGS,
  tcp,
  udp,
  vxlan,
} from '../../../test/helpers/packets.ts';
import {
  FRAG_FIRST,
  FRAG_LATER,
  PacketInfo,
  PARSE_NOT_IP,
  PARSE_OK,
  PARSE_TRUNCATED,
  PARSE_UNSUPPORTED_LINK,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_NONE,
  TUNNEL_VXLAN,
  tunnelPorts,
} from './packet-info.ts';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
  parsePacket,
} from './parse.ts';

const captures = join(process.cwd(), '../shared/captures/akvorado/decap');

function parse(frame: Buffer, linkType = LINKTYPE_ETHERNET) {
  const p = new PacketInfo();
  const status = parsePacket(p, linkType, frame, 0, frame.length);
  return {
    status,
    p,
    src: wordsToAddress(p.ipVersion, p.src0, p.src1, p.src2, p.src3),
    dst: wordsToAddress(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3),
    tunnelSrc: wordsToAddress(p.outerVersion, p.outerSrc0, p.outerSrc1, p.outerSrc2, p.outerSrc3),
    tunnelDst: wordsToAddress(p.outerVersion, p.outerDst0, p.outerDst1, p.outerDst2, p.outerDst3),
  };
}

const tenantTcp = () =>
  ethernet(
    { etherType: 0x0800 },
    ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, tos: 0x28 }, tcp(40000, 80, TCP_FLAGS.SYN)),
  );
const underlay = (proto: number, payload: Buffer) =>
  ethernet({ etherType: 0x0800 }, ipv4({ src: '172.16.0.1', dst: '172.16.0.2', proto }, payload));

describe('parsePacket: plain packets', () => {
  it('reads an IPv4 TCP packet over Ethernet: 5-tuple, flags, ToS, L3 length', () => {
    const r = parse(tenantTcp());
    expect(r.status).toBe(PARSE_OK);
    expect(r).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2' });
    expect(r.p).toMatchObject({
      ipVersion: 4,
      proto: 6,
      srcPort: 40000,
      dstPort: 80,
      tcpFlags: 0x02,
      tos: 0x28,
    });
    expect(r.p.ipLength).toBe(40);
    expect(r.p.tunnelType).toBe(TUNNEL_NONE);
    expect(r.p.macOffset).toBe(0);
  });

  it('skips 802.1Q and QinQ tags and keeps the outermost VLAN id', () => {
    const frame = ethernet(
      {
        etherType: 0x0800,
        tags: [
          [0x88a8, 300],
          [0x8100, 42],
        ],
      },
      ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17 }, udp(53, 5353, Buffer.alloc(10))),
    );
    const r = parse(frame);
    expect(r.status).toBe(PARSE_OK);
    expect(r.p.vlan).toBe(300);
    expect(r.p).toMatchObject({ proto: 17, srcPort: 53, dstPort: 5353, ipLength: 38 });
  });

  it('steps over IPv4 options', () => {
    const frame = ethernet(
      { etherType: 0x0800 },
      ipv4(
        {
          src: '192.0.2.1',
          dst: '192.0.2.2',
          proto: 6,
          options: Buffer.from([0x94, 0x04, 0, 0, 1, 1, 1, 0]),
        },
        tcp(1234, 443, TCP_FLAGS.ACK | TCP_FLAGS.PSH),
      ),
    );
    const r = parse(frame);
    expect(r.p).toMatchObject({ srcPort: 1234, dstPort: 443, tcpFlags: 0x18, ipLength: 48 });
  });

  it('marks IPv4 fragments: the first has ports, later ones none', () => {
    const first = parse(
      ethernet(
        { etherType: 0x0800 },
        ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, id: 77, moreFragments: true }, udp(9, 10)),
      ),
    );
    expect(first.p).toMatchObject({ fragment: FRAG_FIRST, fragmentId: 77, srcPort: 9, dstPort: 10 });
    const later = parse(
      ethernet(
        { etherType: 0x0800 },
        ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, id: 77, fragOffset: 185 }, Buffer.alloc(100)),
      ),
    );
    expect(later.status).toBe(PARSE_OK);
    expect(later.p).toMatchObject({
      fragment: FRAG_LATER,
      fragmentId: 77,
      srcPort: 0,
      dstPort: 0,
      ipLength: 120,
    });
  });

  it('walks IPv6 extension headers to the transport header', () => {
    // hop-by-hop → destination options → TCP
    const frame = ethernet(
      { etherType: 0x86dd },
      ipv6(
        { src: '2001:db8::1', dst: '2001:db8::2', next: 0, trafficClass: 0xb8 },
        ipv6Extension(60, 0, ipv6Extension(6, 8, tcp(5555, 22, TCP_FLAGS.FIN | TCP_FLAGS.ACK))),
      ),
    );
    const r = parse(frame);
    expect(r.status).toBe(PARSE_OK);
    expect(r).toMatchObject({ src: '2001:db8::1', dst: '2001:db8::2' });
    expect(r.p).toMatchObject({
      ipVersion: 6,
      proto: 6,
      srcPort: 5555,
      dstPort: 22,
      tcpFlags: 0x11,
      tos: 0xb8,
    });
    expect(r.p.ipLength).toBe(40 + 8 + 16 + 20);
  });

  it('marks IPv6 fragments', () => {
    const first = parse(
      ethernet(
        { etherType: 0x86dd },
        ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 44 }, ipv6Fragment(17, 0, true, 0xabcdef01, udp(1, 2))),
      ),
    );
    expect(first.p).toMatchObject({ proto: 17, fragment: FRAG_FIRST, fragmentId: 0xabcdef01, srcPort: 1 });
    const later = parse(
      ethernet(
        { etherType: 0x86dd },
        ipv6(
          { src: 'fd00::1', dst: 'fd00::2', next: 44 },
          ipv6Fragment(17, 100, false, 0xabcdef01, Buffer.alloc(64)),
        ),
      ),
    );
    expect(later.p).toMatchObject({ proto: 17, fragment: FRAG_LATER, srcPort: 0, dstPort: 0 });
  });

  it('reads ICMP and ICMPv6 type and code', () => {
    const v4 = parse(
      ethernet(
        { etherType: 0x0800 },
        ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, icmp(8, 0, Buffer.alloc(60))),
      ),
    );
    expect(v4.p).toMatchObject({ proto: 1, icmpType: 8, icmpCode: 0, srcPort: 0, dstPort: 0, ipLength: 84 });
    const v6 = parse(
      ethernet({ etherType: 0x86dd }, ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 58 }, icmp(1, 4))),
    );
    expect(v6.p).toMatchObject({ proto: 58, icmpType: 1, icmpCode: 4 });
  });

  it('reads Linux SLL, SLL2 and raw-IP link types', () => {
    const ip = ipv4({ src: '10.1.1.1', dst: '10.1.1.2', proto: 17 }, udp(1000, 2000));
    const sll = Buffer.alloc(16);
    sll.writeUInt16BE(0x0800, 14);
    const sll2 = Buffer.alloc(20);
    sll2.writeUInt16BE(0x0800, 0);
    for (const [link, frame] of [
      [LINKTYPE_LINUX_SLL, Buffer.concat([sll, ip])],
      [LINKTYPE_LINUX_SLL2, Buffer.concat([sll2, ip])],
      [LINKTYPE_RAW, ip],
    ] as const) {
      const r = parse(frame, link);
      expect(r.status, `link ${link}`).toBe(PARSE_OK);
      expect(r).toMatchObject({ src: '10.1.1.1', dst: '10.1.1.2' });
      expect(r.p).toMatchObject({ srcPort: 1000, dstPort: 2000, macOffset: -1 });
    }
    expect(parse(ip, 9999).status).toBe(PARSE_UNSUPPORTED_LINK);
  });

  it('reports non-IP frames', () => {
    expect(parse(ethernet({ etherType: 0x0806 }, Buffer.alloc(28))).status).toBe(PARSE_NOT_IP);
  });
});

describe('parsePacket: overlays', () => {
  it('decapsulates VXLAN: inner 5-tuple, VNI, VTEPs, inner MAC offset', () => {
    const frame = underlay(17, udp(51000, 4789, vxlan(2001, tenantTcp())));
    const r = parse(frame);
    expect(r.status).toBe(PARSE_OK);
    expect(r).toMatchObject({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      tunnelSrc: '172.16.0.1',
      tunnelDst: '172.16.0.2',
    });
    expect(r.p).toMatchObject({ tunnelType: TUNNEL_VXLAN, vni: 2001, proto: 6, srcPort: 40000, dstPort: 80 });
    expect(r.p.ipLength).toBe(40);
    expect(r.p.macOffset).toBe(14 + 20 + 8 + 8);
  });

  it('decapsulates VXLAN on the Linux default port 8472, and only on the ports it is given', () => {
    const on = (port: number) => underlay(17, udp(51000, port, vxlan(7, tenantTcp())));
    expect(parse(on(8472)).p).toMatchObject({ tunnelType: TUNNEL_VXLAN, vni: 7, proto: 6 });
    const custom = new PacketInfo(tunnelPorts([4790], [7000]));
    parsePacket(custom, LINKTYPE_ETHERNET, on(4790), 0, on(4790).length);
    expect(custom).toMatchObject({ tunnelType: TUNNEL_VXLAN, vni: 7 });
    parsePacket(custom, LINKTYPE_ETHERNET, on(4789), 0, on(4789).length);
    expect(custom).toMatchObject({ tunnelType: TUNNEL_NONE, proto: 17, dstPort: 4789 });
    const gen = underlay(17, udp(1, 7000, geneve(9, 0x6558, tenantTcp())));
    parsePacket(custom, LINKTYPE_ETHERNET, gen, 0, gen.length);
    expect(custom).toMatchObject({ tunnelType: TUNNEL_GENEVE, vni: 9 });
  });

  it('keeps a UDP 4789 packet without the VXLAN I flag as an outer flow', () => {
    const bad = vxlan(5, tenantTcp());
    bad[0] = 0;
    const r = parse(underlay(17, udp(51000, 4789, bad)));
    expect(r.p).toMatchObject({ tunnelType: TUNNEL_NONE, vni: 0, proto: 17, dstPort: 4789 });
  });

  it('decapsulates VXLAN over an IPv6 underlay with an IPv6 tenant packet', () => {
    const inner = ethernet(
      { etherType: 0x86dd },
      ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 17 }, udp(123, 123, Buffer.alloc(48))),
    );
    const frame = ethernet(
      { etherType: 0x86dd },
      ipv6(
        { src: '2001:db8:1::1', dst: '2001:db8:2::1', next: 17 },
        udp(40001, 4789, vxlan(0xffffff, inner)),
      ),
    );
    const r = parse(frame);
    expect(r).toMatchObject({
      src: 'fd00::1',
      dst: 'fd00::2',
      tunnelSrc: '2001:db8:1::1',
      tunnelDst: '2001:db8:2::1',
    });
    expect(r.p).toMatchObject({ vni: 0xffffff, ipVersion: 6, outerVersion: 6, proto: 17, ipLength: 40 + 56 });
  });

  it('decapsulates Geneve, skipping its options', () => {
    const frame = underlay(17, udp(50000, 6081, geneve(7777, 0x6558, tenantTcp(), 12)));
    const r = parse(frame);
    expect(r.status).toBe(PARSE_OK);
    expect(r.p).toMatchObject({
      tunnelType: TUNNEL_GENEVE,
      vni: 7777,
      proto: 6,
      srcPort: 40000,
      dstPort: 80,
    });
    expect(r.tunnelSrc).toBe('172.16.0.1');
  });

  it('decapsulates Geneve carrying IP directly', () => {
    const ip = ipv4({ src: '10.9.9.9', dst: '10.9.9.8', proto: 17 }, udp(1, 2));
    const r = parse(underlay(17, udp(50000, 6081, geneve(12, 0x0800, ip))));
    expect(r).toMatchObject({ src: '10.9.9.9', dst: '10.9.9.8' });
    expect(r.p).toMatchObject({ tunnelType: TUNNEL_GENEVE, vni: 12, macOffset: -1 });
  });

  it('decapsulates NVGRE: VSID = key >> 8, inner Ethernet', () => {
    const key = (5001 << 8) | 0x2a; // VSID 5001, flow id 0x2a
    const r = parse(underlay(47, gre({ protocolType: 0x6558, key }, tenantTcp())));
    expect(r.status).toBe(PARSE_OK);
    expect(r.p).toMatchObject({ tunnelType: TUNNEL_GRE, vni: 5001, proto: 6, srcPort: 40000 });
    expect(r).toMatchObject({ src: '10.0.0.1', tunnelDst: '172.16.0.2' });
  });

  it('decapsulates GRE with checksum, key and sequence carrying IP', () => {
    const ip = ipv4({ src: '10.2.0.1', dst: '10.2.0.2', proto: 1 }, icmp(0, 0));
    const r = parse(underlay(47, gre({ protocolType: 0x0800, key: 99, checksum: true, sequence: 5 }, ip)));
    expect(r.p).toMatchObject({ tunnelType: TUNNEL_GRE, vni: 99, proto: 1, icmpType: 0 });
    expect(r.src).toBe('10.2.0.1');
  });

  it('leaves PPTP enhanced GRE and source-routed GRE as the outer flow', () => {
    const inner = ipv4({ src: '10.2.0.1', dst: '10.2.0.2', proto: 17 }, udp(1, 2));
    const pptp = gre({ protocolType: 0x0800 }, inner);
    pptp[1] |= 1; // version 1
    const routed = gre({ protocolType: 0x0800 }, inner);
    routed[0] |= 0x40;
    for (const g of [pptp, routed]) {
      const r = parse(underlay(47, g));
      expect(r.p).toMatchObject({ tunnelType: TUNNEL_NONE, proto: 47 });
      expect(r.src).toBe('172.16.0.1');
    }
  });

  it('reads real GRE captures as tshark does (akvorado test frames)', () => {
    const frames = (name: string) => [...readCapture(readFileSync(join(captures, name)))];
    // tshark: outer 192.168.12.1 → .2, GRE key 1, inner 192.168.1.101 → 192.168.2.102 ICMP type 8, ip.len 100
    const [key] = frames('gre-v4-key.pcap');
    const r1 = parse(key.data, key.linkType);
    expect(r1).toMatchObject({ src: '192.168.1.101', dst: '192.168.2.102', tunnelSrc: '192.168.12.1' });
    expect(r1.p).toMatchObject({ tunnelType: TUNNEL_GRE, vni: 1, proto: 1, icmpType: 8, ipLength: 100 });
    // tshark: inner 66.59.111.190 → 66.59.111.182 UDP 123 → 123, ip.len 76
    const [plain] = frames('gre-v4-plain.pcap');
    const r2 = parse(plain.data, plain.linkType);
    expect(r2).toMatchObject({ src: '66.59.111.190', dst: '66.59.111.182', tunnelDst: '66.59.109.137' });
    expect(r2.p).toMatchObject({ vni: 0, srcPort: 123, dstPort: 123, ipLength: 76 });
    // tshark: IPv4 underlay, inner IPv6 2001:db8::2 → 2001:db8::1 TCP 18716 → 23
    const [v6] = frames('gre-v6-plain.pcap');
    const r3 = parse(v6.data, v6.linkType);
    expect(r3).toMatchObject({ src: '2001:db8::2', dst: '2001:db8::1', tunnelSrc: '172.16.23.2' });
    expect(r3.p).toMatchObject({ ipVersion: 6, srcPort: 18716, dstPort: 23 });
  });
});

/**
 * Sampled packet headers inside real sFlow datagrams (akvorado test captures): finds the
 * raw-packet-header flow records (format 1, length, then protocol 1 = Ethernet, frame
 * length, stripped, header length, header bytes) by their shape, so the third-party bytes
 * are read from ../shared/captures rather than copied into the repository.
 */
function sflowSampledHeaders(name: string): Buffer[] {
  const out: Buffer[] = [];
  for (const f of readCapture(readFileSync(join(captures, '../sflow', name)))) {
    const d = f.data;
    for (let i = 8; i + 16 <= d.length; i += 2) {
      const len = d.readUInt32BE(i + 12);
      if (d.readUInt32BE(i) !== 1 || len < 14 || len > 256 || i + 16 + len > d.length) continue;
      // preceded by its flow record header: format 1 (raw packet header) and the padded length
      if (d.readUInt32BE(i - 8) !== 1 || d.readUInt32BE(i - 4) !== 16 + ((len + 3) & ~3)) continue;
      out.push(d.subarray(i + 16, i + 16 + len));
    }
  }
  return out;
}

describe('parsePacket: real sampled headers (sFlow captures), as tshark reads them', () => {
  it('VXLAN VNI 100 carrying ICMPv6, cut at 128 bytes', () => {
    const [h] = sflowSampledHeaders('data-encap-vxlan.pcap');
    const r = parse(h);
    expect(r.status).toBe(PARSE_OK);
    expect(r).toMatchObject({
      src: '2001:db8:4::1',
      dst: '2001:db8:4::3',
      tunnelSrc: '192.168.108.40',
      tunnelDst: '192.168.15.14',
    });
    // tshark: IPv6 payload length 64, ICMPv6 echo request (128) code 0
    expect(r.p).toMatchObject({
      tunnelType: TUNNEL_VXLAN,
      vni: 100,
      proto: 58,
      icmpType: 128,
      ipLength: 104,
    });
  });

  it('QinQ: outer VLAN 1062, inner 1493, TCP 32017 → 443', () => {
    const [h] = sflowSampledHeaders('data-qinq.pcap');
    const r = parse(h);
    expect(r).toMatchObject({ src: '49.49.49.2', dst: '49.49.49.109' });
    expect(r.p).toMatchObject({ vlan: 1062, proto: 6, srcPort: 32017, dstPort: 443, ipLength: 80 });
  });

  it('ICMP echo request and ICMPv6 neighbour solicitation', () => {
    const v4 = parse(sflowSampledHeaders('data-icmpv4.pcap')[0]);
    expect(v4).toMatchObject({ src: '203.0.113.4', dst: '203.0.113.5' });
    expect(v4.p).toMatchObject({ proto: 1, icmpType: 8, icmpCode: 0, ipLength: 84 });
    const v6 = parse(sflowSampledHeaders('data-icmpv6.pcap')[0]);
    expect(v6).toMatchObject({ src: 'fe80::d05b:45ff:feee:5ecf', dst: '2001:db8::' });
    expect(v6.p).toMatchObject({ proto: 58, icmpType: 135, icmpCode: 0, ipLength: 72 });
  });
});

describe('parsePacket: damaged input', () => {
  it('never throws and reports truncation at every cut of a VXLAN frame', () => {
    const frame = underlay(17, udp(51000, 4789, vxlan(2001, tenantTcp())));
    const p = new PacketInfo();
    for (let len = 0; len < frame.length; len++) {
      const status = parsePacket(p, LINKTYPE_ETHERNET, frame, 0, len);
      // a cut inside the tunnel header leaves a valid outer UDP packet; beyond it, truncation
      expect([PARSE_OK, PARSE_TRUNCATED]).toContain(status);
    }
    expect(parsePacket(p, LINKTYPE_ETHERNET, frame, 0, frame.length - 7)).toBe(PARSE_TRUNCATED);
  });

  it('never throws on random bytes', () => {
    const p = new PacketInfo();
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let i = 0; i < 2000; i++) {
      const base = underlay(17, udp(1, 4789, vxlan(1, tenantTcp())));
      for (let k = 0; k < 6; k++) base[rnd() % base.length] = rnd();
      const status = parsePacket(p, LINKTYPE_ETHERNET, base, 0, base.length);
      expect(status).toBeGreaterThanOrEqual(0);
    }
  });
});
