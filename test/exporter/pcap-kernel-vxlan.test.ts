/**
 * The pcap source on real kernel VXLAN traffic (peers-on-this-machine.md §3): two hosts
 * (namespaces) joined by an underlay veth, two tenants with the SAME inner addresses
 * 10.0.0.1/10.0.0.2 on VNIs 2001 and 2002. Each tenant's VXLAN device is created in its
 * host namespace (so its UDP socket stays on the underlay) and then moved into the tenant's
 * own namespace. Pings with a fixed count and size run while tcpdump captures the
 * underlay; every tenant's ICMP flows must come out under the right VNI with exactly the
 * packets sent. Needs root (network namespaces); the lab is test/helpers/kernel-vxlan-lab.ts,
 * removed in afterAll.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import {
  type KernelVxlanLab,
  startKernelVxlanLab,
  startUnderlayTcpdump,
} from '../helpers/kernel-vxlan-lab.ts';
import { cleanupStack } from '../helpers/netns.ts';
import { createPcapSource } from '../../exporter/src/sources/pcap.ts';

const cleanup = cleanupStack();
let lab: KernelVxlanLab;
const dir = mkdtempSync(join(tmpdir(), `vxflow-kvx-${process.pid}-`));
const children: ChildProcess[] = [];

const COUNT = 7;
const SIZE = 100; // ICMP payload: IP total length = 20 + 8 + 100
const IP_LEN = 20 + 8 + SIZE;

function sh(ns: string | null, ...args: string[]): string {
  const argv = ns === null ? args : ['netns', 'exec', ns, ...args];
  return execFileSync(ns === null ? args[0] : 'ip', ns === null ? args.slice(1) : argv, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const startTcpdump = async (args: string[]): Promise<ChildProcess> => {
  const child = await startUnderlayTcpdump(lab, args, cleanup);
  children.push(child);
  return child;
};

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** COUNT echo requests of SIZE bytes from 10.0.0.1 (fd00::1) to 10.0.0.2 (fd00::2) in a tenant */
function ping(vni: 2001 | 2002, v6 = false): void {
  sh(
    lab.vms[vni][0].name,
    ...['ping', ...(v6 ? ['-6'] : []), '-n', '-q', '-c', String(COUNT), '-s', String(SIZE)],
    ...['-i', '0.02', '-W', '2', v6 ? 'fd00::2' : '10.0.0.2'],
  );
}

/** echo request/reply flows of a VNI (ICMPv6: 128/129 only, not neighbour discovery or MLD) */
function icmpFlows(records: FlowRecord[], vni: number, proto: 1 | 58 = 1) {
  return records
    .filter(
      (r) => r.vni === vni && r.proto === proto && (proto === 1 || [128, 129].includes(Number(r.icmp_type))),
    )
    .map((r) => ({
      src: r.src_addr,
      dst: r.dst_addr,
      type: Number(r.icmp_type),
      packets: r.packets,
      bytes: r.bytes,
      tunnel: `${r.tunnel_src}>${r.tunnel_dst}`,
    }))
    .sort((a, b) => a.type - b.type);
}

/** what each tenant's ping gives: the same for both, told apart only by the VNI */
const expected = () => [
  {
    src: '10.0.0.2',
    dst: '10.0.0.1',
    type: 0,
    packets: COUNT,
    bytes: COUNT * IP_LEN,
    tunnel: '172.16.0.2>172.16.0.1',
  },
  {
    src: '10.0.0.1',
    dst: '10.0.0.2',
    type: 8,
    packets: COUNT,
    bytes: COUNT * IP_LEN,
    tunnel: '172.16.0.1>172.16.0.2',
  },
];

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root for network namespaces (ip netns)');
  lab = await startKernelVxlanLab([2001, 2002], cleanup, { ipv6: true });
}, 60_000);

afterAll(async () => {
  try {
    for (const c of children) await stop(c);
    await cleanup.runAll();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('pcap source on a kernel VXLAN capture (two tenants, same inner addresses)', () => {
  it('a capture file: each tenant ICMP flows under its VNI, exact packets and bytes', async () => {
    const file = join(dir, 'underlay.pcap');
    const tcpdump = await startTcpdump(['-w', file]);
    ping(2001);
    ping(2002);
    ping(2001, true);
    await new Promise((r) => setTimeout(r, 200));
    await stop(tcpdump);

    const source = createPcapSource({ path: file, cache: {} });
    const records: FlowRecord[] = [];
    await source.run({ emit: (r) => records.push(...r), signal: new AbortController().signal });
    expect(icmpFlows(records, 2001)).toEqual(expected());
    expect(icmpFlows(records, 2002)).toEqual(expected());
    // IPv6 inside VNI 2001 only: 40-byte header + 8 ICMPv6 + SIZE
    const v6Bytes = COUNT * (40 + 8 + SIZE);
    expect(icmpFlows(records, 2001, 58)).toEqual([
      {
        src: 'fd00::1',
        dst: 'fd00::2',
        type: 128,
        packets: COUNT,
        bytes: v6Bytes,
        tunnel: '172.16.0.1>172.16.0.2',
      },
      {
        src: 'fd00::2',
        dst: 'fd00::1',
        type: 129,
        packets: COUNT,
        bytes: v6Bytes,
        tunnel: '172.16.0.2>172.16.0.1',
      },
    ]);
    expect(icmpFlows(records, 2002, 58)).toEqual([]);
    expect(records.filter((r) => r.tunnel_type !== 1)).toEqual([]);

    // tshark's view of the same file agrees on the echo requests per VNI
    for (const vni of [2001, 2002]) {
      const out = sh(
        null,
        'tshark',
        '-r',
        file,
        '-Y',
        `vxlan.vni == ${vni} && icmp.type == 8`,
        '-T',
        'fields',
        '-e',
        'ip.len',
      );
      const lens = out.trim().split('\n');
      expect(lens).toHaveLength(COUNT);
      expect(lens.every((l) => l.endsWith(`,${IP_LEN}`))).toBe(true);
    }
  });

  it('a live stream: `tcpdump -U -w -` piped in (pcap:-)', async () => {
    const tcpdump = await startTcpdump(['-w', '-']);
    const source = createPcapSource({
      path: '-',
      cache: {},
      input: tcpdump.stdout ?? undefined,
      tickMs: 100,
    });
    const records: FlowRecord[] = [];
    const running = source.run({ emit: (r) => records.push(...r), signal: new AbortController().signal });
    ping(2002);
    await new Promise((r) => setTimeout(r, 200));
    await stop(tcpdump);
    await running;
    expect(icmpFlows(records, 2002)).toEqual(expected());
    expect(icmpFlows(records, 2001)).toEqual([]);
  });
});
