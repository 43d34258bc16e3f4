/**
 * Golden comparison with pmacct's published nfacctd output (tests/<case>/output-flow-00.json)
 * for the same pcaps: addresses, ports, protocol, bytes and packets (pmacct may renormalise
 * by the sampling rate), start times.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capture, decodeFiles, errorCounts } from './helpers.ts';

const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, 'ipv6-icmp': 58, vrrp: 112 };

interface Pm {
  ip_src: string;
  ip_dst: string;
  port_src: number;
  port_dst: number;
  ip_proto: string;
  bytes: number;
  packets: number;
  timestamp_start?: string;
}

const cases = readdirSync(capture('pmacct')).filter((d) =>
  existsSync(capture(`pmacct/${d}/output-flow-00.json`)),
);

describe('pmacct golden outputs', () => {
  for (const dir of cases) {
    const golden: Pm[] = readFileSync(capture(`pmacct/${dir}/output-flow-00.json`), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
    if (golden.length === 0) continue;
    it(dir, () => {
      const pcaps = readdirSync(capture(`pmacct/${dir}`))
        .filter((f) => f.endsWith('.pcap'))
        .map((f) => join(capture(`pmacct/${dir}`), f));
      const { records, decoder } = decodeFiles(pcaps);
      decoder.expire(Number.POSITIVE_INFINITY);
      // 112 starts mid-stream: data sets for templates 313/341/342/348, which never come, expire
      expect(errorCounts(decoder)).toEqual(dir.startsWith('112-') ? { 'held-expired': 4 } : {});
      const key = (s: string, d: string, sp: number, dp: number, p: number) => `${s}|${d}|${sp}|${dp}|${p}`;
      const ours = new Map<
        string,
        { bytes: number; packets: number; scaledBytes: number; starts: Set<number> }
      >();
      for (const r of records) {
        // FlowRecord's column types are widened by columns.ts; the decoder fills numbers and strings
        const k = key(
          String(r.src_addr),
          String(r.dst_addr),
          Number(r.src_port),
          Number(r.dst_port),
          Number(r.proto),
        );
        const e = ours.get(k) ?? { bytes: 0, packets: 0, scaledBytes: 0, starts: new Set<number>() };
        e.bytes += Number(r.bytes);
        e.packets += Number(r.packets);
        e.scaledBytes += Number(r.bytes) * (Number(r.sampling_rate) || 1);
        e.starts.add(Number(r.flow_start));
        ours.set(k, e);
      }
      const theirs = new Map<string, { bytes: number; starts: Set<number> }>();
      for (const g of golden) {
        const k = key(g.ip_src, g.ip_dst, g.port_src, g.port_dst, PROTO[g.ip_proto] ?? Number(g.ip_proto));
        const e = theirs.get(k) ?? { bytes: 0, starts: new Set<number>() };
        e.bytes += g.bytes;
        if (g.timestamp_start) e.starts.add(Math.floor(Number(g.timestamp_start)));
        theirs.set(k, e);
      }
      for (const [k, t] of theirs) {
        const o = ours.get(k);
        expect(o, `flow ${k} decoded`).toBeDefined();
        expect([o!.bytes, o!.scaledBytes], `bytes of ${k}`).toContain(t.bytes);
        // pmacct prints whole seconds; v9 sysUpTime arithmetic keeps ms here
        for (const s of t.starts)
          expect(
            [...o!.starts].some((ms) => Math.abs(ms - s * 1000) < 1000),
            `start ${s} of ${k}`,
          ).toBe(true);
      }
    });
  }
});
