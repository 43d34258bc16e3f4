/**
 * The `ovs` source against a real Open vSwitch (userspace datapath) carrying two tenants over
 * VXLAN with the same inner addresses: each tenant's pings must come out with its own VNI,
 * its VTEPs and the exact packet and byte counts, once per direction.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { createOvsSource } from '../../exporter/src/sources/ovs.ts';
import { type OvsLab, startOvsLab } from '../helpers/ovs-lab.ts';

let lab: OvsLab;
beforeAll(async () => {
  lab = await startOvsLab({ tenants: [{ vni: 1001 }, { vni: 1002 }] });
});
afterAll(async () => {
  await lab?.stop();
});

describe('ovs source on a real Open vSwitch', () => {
  it('yields each tenant’s flows with its VNI, VTEPs and exact counts', async () => {
    // Warm-up: the first packet of a datapath flow goes through the upcall that installs the
    // flow and is not counted by the datapath; after this, every ping packet is counted.
    await lab.ping(0, { count: 1 });
    await lab.ping(1, { count: 1 });

    const records: FlowRecord[] = [];
    let polls = 0;
    const ac = new AbortController();
    const source = createOvsSource({
      appctl: lab.appctlCommand,
      pollMs: 300,
      activeTimeoutS: 600,
      onPoll: () => {
        polls += 1;
      },
    });
    const running = source.run({ emit: (r) => records.push(...r), signal: ac.signal });
    const pollsAtLeast = async (n: number) => {
      const end = Date.now() + 10_000;
      while (polls < n && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(polls).toBeGreaterThanOrEqual(n);
    };
    await pollsAtLeast(1);
    await lab.ping(0, { count: 5, size: 100 });
    await lab.ping(1, { count: 3, size: 200 });
    await pollsAtLeast(polls + 2);
    ac.abort();
    await running;

    expect(source.stats().pollErrors).toBe(0);
    const icmp = records.filter((r) => r.proto === 1);
    const summary = icmp
      .map(
        (r) =>
          `${r.vni} ${r.src_addr}>${r.dst_addr} type=${r.icmp_type} packets=${r.packets} bytes=${r.bytes}`,
      )
      .sort();
    // IP bytes: 20 (IPv4) + 8 (ICMP) + payload, once per direction (no underlay double count)
    expect(summary).toEqual([
      '1001 10.0.0.1>10.0.0.2 type=8 packets=5 bytes=640',
      '1001 10.0.0.2>10.0.0.1 type=0 packets=5 bytes=640',
      '1002 10.0.0.1>10.0.0.2 type=8 packets=3 bytes=684',
      '1002 10.0.0.2>10.0.0.1 type=0 packets=3 bytes=684',
    ]);
    for (const r of icmp) {
      const outbound = r.src_addr === '10.0.0.1';
      expect(r.tunnel_type).toBe(1);
      expect(r.tunnel_src).toBe(outbound ? lab.vtepA : lab.vtepB);
      expect(r.tunnel_dst).toBe(outbound ? lab.vtepB : lab.vtepA);
      expect(r.flow_start as number).toBeLessThanOrEqual(r.flow_end as number);
      expect(r.flow_end as number).toBeGreaterThan(Date.now() - 60_000);
      expect(r.in_if).toBeGreaterThan(0);
      expect(r.src_mac).toBeGreaterThan(0);
    }
    // the underlay (outer UDP 4789) flows are left out by default
    expect(records.some((r) => r.dst_port === 4789)).toBe(false);
  });

  it('runs as `vxflow exporter --source ovs` and exports both tenants over IPFIX', async () => {
    // a TOS of 0x10 makes these datapath flows new ones (exact-match keys include the TOS),
    // so the counters the first test left behind do not count here
    await lab.ping(0, { count: 1, tos: 0x10 });
    await lab.ping(1, { count: 1, tos: 0x10 });
    const rx = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    const datagrams: Buffer[] = [];
    rx.on('message', (m) => datagrams.push(m));
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    try {
      const child = spawn(
        process.execPath,
        [
          'bin/vxflow.js',
          'exporter',
          '--source',
          'ovs',
          '--ovs-appctl',
          lab.appctlCommand.join(' '),
          '--ovs-poll-ms',
          '300',
          '--to',
          `udp://127.0.0.1:${rx.address().port}`,
        ],
        {
          cwd: join(import.meta.dirname, '../..'),
          env: { ...process.env, VXFLOW_CONFIG: '/dev/null', VXFLOW_EXPORTER_VERSION: '10' },
        },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const closed = new Promise<number | null>((r) => child.on('close', r));
      const end = Date.now() + 20_000;
      while (!stderr.includes('exporter started') && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1000)); // the first dump is the baseline
      await lab.ping(0, { count: 4, size: 100, tos: 0x10 });
      await lab.ping(1, { count: 2, size: 100, tos: 0x10 });
      await new Promise((r) => setTimeout(r, 700));
      child.kill('SIGTERM');
      expect(await closed).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      const decoder = createDecoder();
      const flows: FlowRecord[] = [];
      for (const d of datagrams) decoder.decode(d, '127.0.0.1', Date.now(), (r) => flows.push({ ...r }));
      const icmp = flows
        .filter((f) => f.proto === 1 && f.tos === 0x10)
        .map(
          (f) => `${f.vni} ${f.src_addr}>${f.dst_addr} ${f.tunnel_src}>${f.tunnel_dst} packets=${f.packets}`,
        )
        .sort();
      expect(icmp).toEqual([
        `1001 10.0.0.1>10.0.0.2 ${lab.vtepA}>${lab.vtepB} packets=4`,
        `1001 10.0.0.2>10.0.0.1 ${lab.vtepB}>${lab.vtepA} packets=4`,
        `1002 10.0.0.1>10.0.0.2 ${lab.vtepA}>${lab.vtepB} packets=2`,
        `1002 10.0.0.2>10.0.0.1 ${lab.vtepB}>${lab.vtepA} packets=2`,
      ]);
    } finally {
      rx.close();
    }
  });
});
