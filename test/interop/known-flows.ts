/**
 * A fixed, known set of flows for the interop tests: IPv4 and IPv6, several VNIs and
 * tunnel kinds, ICMP, distinct 5-tuples (so no collector merges two of them) and counters
 * that are easy to total. Deterministic: same input every run.
 */
import { emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import { canonicalAddress } from './normalize.ts';

export const KNOWN_VNIS = [1001, 1002, 5001, 16_777_215] as const;

export interface KnownFlows {
  records: FlowRecord[];
  totalBytes: number;
  totalPackets: number;
}

/** `count` flows ending at endMs; every third flow is IPv6, every fifth TCP flow is UDP, 1 in 16 ICMP. */
export function knownFlows(count: number, endMs: number): KnownFlows {
  const records: FlowRecord[] = [];
  let totalBytes = 0;
  let totalPackets = 0;
  for (let i = 0; i < count; i++) {
    const r = emptyFlow();
    const v6 = i % 3 === 0;
    const icmp = i % 16 === 7;
    const hi = (i >> 8) & 0xff;
    const lo = i & 0xff;
    r.src_addr = canonicalAddress(
      v6 ? `2001:db8:${hi.toString(16)}::${lo.toString(16)}` : `10.${hi}.${lo}.1`,
    );
    r.dst_addr = v6 ? `fd00::${(i % 7) + 1}` : `172.16.${i % 7}.${(i % 200) + 1}`;
    r.ip_version = v6 ? 6 : 4;
    r.proto = icmp ? (v6 ? 58 : 1) : i % 5 === 0 ? 17 : 6;
    if (icmp) {
      r.icmp_type = v6 ? 128 : 8;
      r.icmp_code = 0;
    } else {
      r.src_port = 20_000 + i;
      r.dst_port = [80, 443, 53, 8080][i % 4];
    }
    r.tcp_flags = r.proto === 6 ? 0x1b : 0;
    r.tos = (i % 4) * 8;
    r.packets = 1 + (i % 50);
    r.bytes = (r.packets as number) * (64 + (i % 1400));
    r.flow_start = endMs - 30_000 - (i % 1000);
    r.flow_end = endMs - 1_000 - (i % 500);
    r.in_if = 1 + (i % 8);
    r.out_if = 9 + (i % 8);
    r.direction = i % 2;
    r.flow_end_reason = 1 + (i % 5);
    r.vni = KNOWN_VNIS[i % KNOWN_VNIS.length];
    r.tunnel_type = i % 10 === 9 ? 3 : 1; // mostly VXLAN, some Geneve
    r.tunnel_src = '192.168.50.1';
    r.tunnel_dst = `192.168.50.${2 + (i % 3)}`;
    r.src_mac = 0x02_00_00_00_00_00 + i;
    r.dst_mac = 0x02_00_00_00_ff_00 + (i % 7);
    totalBytes += r.bytes as number;
    totalPackets += r.packets as number;
    records.push(r);
  }
  return { records, totalBytes, totalPackets };
}

/** Key that identifies one flow of the set in any tool's output. */
export function flowKey(src: string, dst: string, srcPort: number, dstPort: number, proto: number): string {
  return `${src}|${dst}|${srcPort}|${dstPort}|${proto}`;
}
