/**
 * Round trip through the project's own decoder: random FlowRecords → encode (random MTU,
 * refresh settings and call sizes) → decode every datagram → the same canonical fields,
 * for each field the protocol carries. Records may come back in another order (the
 * encoders group them by template), so both sides are compared as sorted lists.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4ToString, ipv6ToString } from '../capture/udp.ts';
import { createDecoder } from '../decode/index.ts';
import { COLUMN_NAMES, type ColumnName, emptyFlow, type FlowRecord } from '../schema/columns.ts';
import { createFlowEncoder } from './index.ts';
import { ipfixTemplates, netflowV9Templates, type TemplateSet } from './templates.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0) + 789;
const BOOT = NOW - 20 * 86_400_000;

const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
const v4 = bytesOf(4).map((b) => ipv4ToString(b, 0));
const v6 = bytesOf(16).map((b) => ipv6ToString(b, 0));
const u64Full = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 }),
  fc.maxSafeInteger().filter((n) => n >= 0),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
);
/** v5 splits big counters into at most V5_MAX_SPLIT records: stay within what splits exactly */
const u64Split = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 }),
  fc.integer({ min: 0, max: 255 * 0xffffffff }),
);

/** A canonical record as an exporter would hand it over (v4 and v6 flows, tunnels or not). */
const flowArb = (maxTunnelType: number, u64 = u64Full) =>
  fc
    .record({
      v6: fc.boolean(),
      a: v4,
      b: v4,
      a6: v6,
      b6: v6,
      hop: fc.option(fc.boolean(), { nil: undefined }),
      proto: fc.constantFrom(6, 17, 1, 47), // 1 stands for ICMP: ICMPv6 (58) on IPv6 flows
      src_port: fc.integer({ min: 0, max: 65535 }),
      dst_port: fc.integer({ min: 0, max: 65535 }),
      icmp_type: fc.integer({ min: 0, max: 255 }),
      icmp_code: fc.integer({ min: 0, max: 255 }),
      tcp_flags: fc.integer({ min: 0, max: 255 }),
      tos: fc.integer({ min: 0, max: 255 }),
      bytes: u64,
      packets: u64,
      start: fc.integer({ min: 0, max: 19 * 86_400_000 }),
      duration: fc.integer({ min: 0, max: 86_400_000 }),
      in_if: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      out_if: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      direction: fc.integer({ min: 0, max: 1 }),
      vlan: fc.integer({ min: 0, max: 4095 }),
      src_mac: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      dst_mac: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      src_mask: fc.integer({ min: 0, max: 32 }),
      dst_mask: fc.integer({ min: 0, max: 32 }),
      flow_end_reason: fc.integer({ min: 0, max: 5 }),
      vni: fc.integer({ min: 0, max: 0xffffff }),
      tunnel_type: fc.integer({ min: 0, max: maxTunnelType }),
      vteps: fc.constantFrom('v4', 'none'),
      t1: v4,
      t2: v4,
    })
    .map((x): FlowRecord => {
      const r = emptyFlow();
      r.src_addr = x.v6 ? x.a6 : x.a;
      r.dst_addr = x.v6 ? x.b6 : x.b;
      r.next_hop = x.hop === undefined ? '' : x.v6 ? x.b6 : x.b;
      r.ip_version = x.v6 ? 6 : 4;
      const icmp = x.proto === 1;
      r.proto = icmp && x.v6 ? 58 : x.proto;
      r.src_port = icmp ? 0 : x.src_port;
      r.dst_port = icmp ? 0 : x.dst_port;
      r.icmp_type = icmp ? x.icmp_type : 0;
      r.icmp_code = icmp ? x.icmp_code : 0;
      r.tcp_flags = x.tcp_flags;
      r.tos = x.tos;
      r.bytes = x.bytes;
      r.packets = x.packets;
      r.flow_start = BOOT + x.start;
      r.flow_end = Math.min(BOOT + x.start + x.duration, NOW);
      r.in_if = x.in_if;
      r.out_if = x.out_if;
      r.direction = x.direction;
      r.vlan = x.vlan;
      r.src_mac = x.src_mac;
      r.dst_mac = x.dst_mac;
      r.src_mask = x.src_mask;
      r.dst_mask = x.dst_mask;
      r.flow_end_reason = x.flow_end_reason;
      r.vni = x.vni;
      r.tunnel_type = x.tunnel_type;
      r.tunnel_src = x.tunnel_type && x.vteps === 'v4' ? x.t1 : '';
      r.tunnel_dst = x.tunnel_type && x.vteps === 'v4' ? x.t2 : '';
      return r as unknown as FlowRecord;
    });

const COMMON = [
  'src_addr',
  'dst_addr',
  'src_port',
  'dst_port',
  'proto',
  'tcp_flags',
  'tos',
  'icmp_type',
  'icmp_code',
  'bytes',
  'packets',
  'flow_start',
  'flow_end',
  'in_if',
  'out_if',
  'next_hop',
  'src_mask',
  'dst_mask',
] as const satisfies readonly (keyof FlowRecord)[];
/** the columns a version's templates carry, as their field writers name them (schema order) */
const carried = (set: TemplateSet): ColumnName[] => {
  const sent = new Set(set.templates.flatMap((t) => t.fields.flatMap((f) => f.columns)));
  return COLUMN_NAMES.filter((c) => sent.has(c));
};
const V9_FIELDS = carried(netflowV9Templates(BOOT));
const IPFIX_FIELDS = carried(ipfixTemplates());

type Field = ColumnName;

/** The record reduced to the fields a version carries, in a comparable text form. */
function project(r: FlowRecord, fields: readonly Field[], version: number): string {
  return JSON.stringify(
    fields.map((f) => {
      const v = r[f];
      if (f === 'bytes' || f === 'packets') return BigInt(v as number | bigint).toString();
      // an absent address goes out as zeros; decoders may give back '' or the zero address
      if (v === '0.0.0.0' || v === '::') return '';
      if (version === 5) {
        // v5 has 16-bit interface indexes and no next hop for IPv6 (IPv6 flows are skipped)
        if (f === 'in_if' || f === 'out_if') return Math.min(v as number, 0xffff);
      }
      return v;
    }),
  );
}

interface Scenario {
  version: 5 | 9 | 10;
  fields: readonly Field[];
  maxTunnelType: number;
}

function roundTrip({ version, fields, maxTunnelType }: Scenario) {
  const arb = fc.record({
    calls: fc.array(fc.array(flowArb(maxTunnelType, version === 5 ? u64Split : u64Full), { maxLength: 60 }), {
      minLength: 1,
      maxLength: 4,
    }),
    mtu: fc.integer({ min: 576, max: 9000 }),
    refreshPackets: fc.integer({ min: 1, max: 30 }),
    samplingInterval: fc.integer({ min: 1, max: 1000 }),
  });
  fc.assert(
    fc.property(arb, ({ calls, mtu, refreshPackets, samplingInterval }) => {
      const enc = createFlowEncoder({
        version,
        observationDomain: 77,
        bootTimeMs: BOOT,
        mtu,
        templateRefreshPackets: refreshPackets,
        samplingInterval,
      });
      const dec = createDecoder();
      const got: string[] = [];
      const rates = new Set<number>();
      calls.forEach((records, i) => {
        for (const d of enc.encode(records, NOW + i)) {
          expect(d.length).toBeLessThanOrEqual(mtu);
          const summary = dec.decode(d, '127.0.0.1', NOW + i, (rec) => {
            got.push(project(rec, fields, version));
            rates.add(Number(rec.sampling_rate));
          });
          expect(summary.errors).toBe(0);
        }
      });
      const sent = calls
        .flat()
        .map((r) => r)
        .filter((r) => version !== 5 || !r.src_addr.includes(':'));
      const want = sent
        .flatMap((r) => (version === 5 ? v5Records(r) : [r]))
        .map((r) => project(r, fields, version));
      expect(got.sort()).toEqual(want.sort());
      if (version !== 5 && got.length > 0) expect([...rates]).toEqual([samplingInterval]);
    }),
    { numRuns: 60 },
  );
}

/** v5 splits counters above 2^32-1 over several records; the expected records, likewise. */
function v5Records(r: FlowRecord): FlowRecord[] {
  const max = 0xffffffffn;
  const b = BigInt(r.bytes);
  const p = BigInt(r.packets);
  if (b <= max && p <= max) return [{ ...r, bytes: Number(b), packets: Number(p) }];
  const ceil = (x: bigint) => (x + max - 1n) / max;
  let n = ceil(b); // Math.max does not take bigints
  if (ceil(p) > n) n = ceil(p);
  const out: FlowRecord[] = [];
  for (let i = 0n; i < n; i++) {
    const part = (x: bigint) => Number(x / n + (i < x % n ? 1n : 0n));
    out.push({ ...r, bytes: part(b), packets: part(p) });
  }
  return out;
}

describe('encode → project decoder round trip', () => {
  it('NetFlow v9 keeps every carried field', () =>
    roundTrip({ version: 9, fields: V9_FIELDS, maxTunnelType: 0 }));
  it('IPFIX keeps every carried field, tunnels included', () =>
    roundTrip({ version: 10, fields: IPFIX_FIELDS, maxTunnelType: 3 }));
  it('NetFlow v5 keeps the IPv4 fields it carries, splitting 64-bit counters', () =>
    roundTrip({ version: 5, fields: COMMON, maxTunnelType: 0 }));
});
