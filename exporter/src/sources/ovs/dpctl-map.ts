/**
 * Maps a parsed datapath flow to the canonical record (without counters or times: the flow
 * tracker adds those from the counter deltas).
 *
 * - `tunnel(tun_id=…,src=…,dst=…,tp_dst=…)` in the key (traffic arriving from a tunnel, after
 *   tnl_pop): VNI = tun_id's low 24 bits, tunnel_src/dst = the outer addresses.
 * - `tnl_push(…header(…ipv4(src,dst),udp(…),vxlan(vni=…)))` in the actions (traffic leaving
 *   into a tunnel): the same, from the header OVS pushes. So each direction of a tenant's
 *   flow carries its VNI, and each packet is counted once per direction.
 * - flows whose actions pop a tunnel (`tnl_pop`) are the underlay packets that carry the
 *   tenant flows above; `underlay` marks them so the source can leave them out.
 * - bytes: dpctl counts whole Ethernet frames; NetFlow counts IP bytes, so 14 bytes per packet
 *   (18 with a VLAN tag) come off (`l2Overhead`).
 */
import { emptyFlow, type FlowRecord } from '../../../../protocol/src/schema/columns.ts';
import type { DpFlow, DpItem } from './dpctl-parse.ts';
import { parseItem, splitTopLevel } from './dpctl-parse.ts';

export interface MappedFlow {
  record: FlowRecord;
  /** the datapath flow carries IP (ARP, LLDP … are skipped by the source) */
  ip: boolean;
  underlay: boolean;
  /** Ethernet header bytes per packet to take off the byte counter */
  l2Overhead: number;
  /** port names seen that the port map did not know (the source refreshes the map) */
  unknownPorts: string[];
}

const stripMask = (v: string | undefined) => (v === undefined ? undefined : v.split('/')[0]);
const num = (v: string | undefined): number => {
  const s = stripMask(v);
  if (s === undefined || s === '') return 0;
  const n = Number(s); // handles 0x… too
  return Number.isFinite(n) ? n : 0;
};

export function macToNumber(mac: string | undefined): number {
  const s = stripMask(mac);
  if (!s || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s)) return 0;
  return Number.parseInt(s.replaceAll(':', ''), 16);
}

/** TCP flags as OVS prints them (F S R P U . E C) → the TCP header bits. */
export function tcpFlagsFromLetters(s: string): number {
  let f = 0;
  for (const ch of s) {
    f |=
      ch === 'F' ? 0x01 : ch === 'S' ? 0x02 : ch === 'R' ? 0x04 : ch === 'P' ? 0x08 : ch === '.' ? 0x10 : 0;
    f |= ch === 'U' ? 0x20 : ch === 'E' ? 0x40 : ch === 'C' ? 0x80 : 0;
  }
  return f;
}

function tunnelType(tpDst: number, kind: string): number {
  if (kind === 'geneve' || tpDst === 6081) return 3;
  if (kind === 'gre') return 2;
  return 1; // VXLAN (4789, or a tunnel with a key and no other hint)
}

function portNumber(v: string, ports: ReadonlyMap<string, number>, unknown: string[]): number {
  if (/^\d+$/.test(v)) return Number(v);
  const n = ports.get(v);
  if (n === undefined) {
    unknown.push(v);
    return 0;
  }
  return n;
}

/** Finds the first nested item called `name` inside an item's bare parts, depth-first. */
function findNested(item: DpItem, name: string): DpItem | undefined {
  for (const b of item.bare) {
    const sub = parseItem(b);
    if (sub.name === name) return sub;
    const deeper = findNested(sub, name);
    if (deeper) return deeper;
  }
  return undefined;
}

export function mapDpFlow(f: DpFlow, ports: ReadonlyMap<string, number>): MappedFlow {
  const r = emptyFlow();
  const unknownPorts: string[] = [];
  // 802.1Q frames: the kernel datapath nests the inner headers in encap(…)
  const k = new Map(f.key);
  const encap = k.get('encap');
  if (encap) {
    for (const b of encap.bare) {
      const item = parseItem(b);
      if (!k.has(item.name)) k.set(item.name, item);
    }
  }
  const inPort = k.get('in_port');
  if (inPort) r.in_if = portNumber(stripMask(inPort.bare[0] ?? '') ?? '', ports, unknownPorts);

  const eth = k.get('eth');
  if (eth) {
    r.src_mac = macToNumber(eth.args.get('src'));
    r.dst_mac = macToNumber(eth.args.get('dst'));
  }
  let l2Overhead = 14;
  const vlan = k.get('vlan');
  if (vlan) {
    r.vlan = num(vlan.args.get('vid'));
    l2Overhead += 4;
  }

  const v4 = k.get('ipv4');
  const v6 = k.get('ipv6');
  const ip = v4 ?? v6;
  if (ip) {
    r.ip_version = v4 ? 4 : 6;
    r.src_addr = stripMask(ip.args.get('src')) ?? '';
    r.dst_addr = stripMask(ip.args.get('dst')) ?? '';
    r.proto = num(ip.args.get('proto'));
    r.tos = num(v4 ? ip.args.get('tos') : ip.args.get('tclass'));
  }
  for (const l4 of ['tcp', 'udp', 'sctp'] as const) {
    const item = k.get(l4);
    if (item) {
      r.src_port = num(item.args.get('src'));
      r.dst_port = num(item.args.get('dst'));
    }
  }
  const icmp = k.get('icmp') ?? k.get('icmpv6');
  if (icmp) {
    r.icmp_type = num(icmp.args.get('type'));
    r.icmp_code = num(icmp.args.get('code'));
  }
  r.tcp_flags = tcpFlagsFromLetters(f.tcpFlags);

  const tun = k.get('tunnel');
  if (tun) {
    r.vni = num(tun.args.get('tun_id')) & 0xffffff;
    r.tunnel_src = stripMask(tun.args.get('src') ?? tun.args.get('ipv6_src')) ?? '';
    r.tunnel_dst = stripMask(tun.args.get('dst') ?? tun.args.get('ipv6_dst')) ?? '';
    const kind = tun.bare.some((b) => b.startsWith('geneve(')) ? 'geneve' : '';
    r.tunnel_type = tunnelType(num(tun.args.get('tp_dst')), kind);
  }

  let underlay = false;
  for (const a of f.actions) {
    if (a.name === 'tnl_pop') underlay = true;
    else if (a.name === 'tnl_push') applyTnlPush(r, a);
    else if (a.name === 'clone') {
      // clone(tnl_push(…),…) on some versions
      for (const inner of splitTopLevel(a.raw.slice(6, -1)).map(parseItem)) {
        if (inner.name === 'tnl_push') applyTnlPush(r, inner);
      }
    } else if (a.bare.length === 0 && a.args.size === 0 && !a.raw.includes('(')) {
      // a plain output port: the last one wins as the egress interface
      const n = portNumber(a.name, ports, []);
      if (n) r.out_if = n;
    }
  }
  r.direction = 0;
  r.sampling_rate = 1;
  return { record: r, ip: ip !== undefined, underlay, l2Overhead, unknownPorts };
}

/** tnl_push(tnl_port(…),header(size=…,type=…,eth(…),ipv4(src,dst,…),udp(…),vxlan(flags,vni))) */
function applyTnlPush(r: FlowRecord, push: DpItem): void {
  const header = findNested(push, 'header');
  if (!header) return;
  const outer = findNested(header, 'ipv4') ?? findNested(header, 'ipv6');
  if (outer) {
    r.tunnel_src = stripMask(outer.args.get('src')) ?? '';
    r.tunnel_dst = stripMask(outer.args.get('dst')) ?? '';
  }
  const vxlan = findNested(header, 'vxlan');
  const geneve = findNested(header, 'geneve');
  const gre = findNested(header, 'gre');
  const udp = findNested(header, 'udp');
  if (vxlan) {
    r.vni = num(vxlan.args.get('vni')) & 0xffffff;
    r.tunnel_type = 1;
  } else if (geneve) {
    r.vni = num(geneve.args.get('vni')) & 0xffffff;
    r.tunnel_type = 3;
  } else if (gre) {
    r.vni = (num(gre.args.get('key')) >>> 8) & 0xffffff; // NVGRE: VSID in the key's top 24 bits
    r.tunnel_type = 2;
  } else if (udp) r.tunnel_type = tunnelType(num(udp.args.get('dst')), '');
}
