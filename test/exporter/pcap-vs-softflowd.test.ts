/**
 * Our pcap source against a real peer on the same plain (non-overlay) capture: softflowd
 * 1.1.0 reads the file with -r and exports NetFlow v9 to a local socket, the project's
 * decoder reads that export, and every flow must agree with ours: key, packets, layer-3
 * bytes, TCP flags, and times (durations to the millisecond). softflowd does not
 * decapsulate, so an overlay capture would not compare; the VXLAN path is checked against
 * the kernel and tshark in pcap-kernel-vxlan.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { ethernet, icmp, ipv4, ipv6, TCP_FLAGS, tcp, udp } from '../helpers/packets.ts';
import { pcapFile } from '../helpers/packets.ts';
import { createPcapSource } from '../../exporter/src/sources/pcap.ts';

// softflowd silently truncates long -r paths: a short directory
const dir = `/tmp/vxs${process.pid}`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_764_000_000_000;

/** 40 flows of 10 packets each (TCP, UDP, ICMP echo, IPv6 UDP), one direction each, interleaved */
function capture(): Buffer {
  const frames: { timeMs: number; data: Buffer }[] = [];
  for (let round = 0; round < 10; round++) {
    for (let f = 0; f < 40; f++) {
      const size = 10 * f + round; // payload bytes vary per flow and packet
      const body = Buffer.alloc(size, f);
      let data: Buffer;
      if (f < 15) {
        const flags = round === 0 ? TCP_FLAGS.SYN : TCP_FLAGS.ACK | TCP_FLAGS.PSH;
        data = ethernet(
          { etherType: 0x0800 },
          ipv4({ src: `10.1.0.${f + 1}`, dst: '10.2.0.1', proto: 6 }, tcp(30000 + f, 443, flags, body)),
        );
      } else if (f < 30) {
        data = ethernet(
          { etherType: 0x0800 },
          ipv4({ src: `10.1.1.${f + 1}`, dst: '10.2.0.2', proto: 17 }, udp(40000 + f, 53, body)),
        );
      } else if (f < 35) {
        data = ethernet(
          { etherType: 0x0800 },
          ipv4({ src: `10.1.2.${f + 1}`, dst: '10.2.0.3', proto: 1 }, icmp(8, 0, body)),
        );
      } else {
        data = ethernet(
          { etherType: 0x86dd },
          ipv6({ src: `fd00::${f + 1}`, dst: 'fd00::ffff', next: 17 }, udp(50000 + f, 123, body)),
        );
      }
      frames.push({ timeMs: T0 + round * 1000 + f * 7, data });
    }
  }
  return pcapFile(frames);
}

const key = (r: FlowRecord) =>
  `${r.src_addr} ${r.dst_addr} ${r.proto} ${Number(r.proto) === 1 ? '' : `${r.src_port} ${r.dst_port}`}`;

it('agrees with softflowd -r flow by flow on a plain capture', async () => {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'p.pcap');
  writeFileSync(file, capture());

  // softflowd → v9 on a local socket → the project's decoder
  const sock = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  const datagrams: Buffer[] = [];
  sock.on('message', (m) => datagrams.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  try {
    const run = spawnSync(
      'softflowd',
      [
        '-c',
        join(dir, 'c'),
        '-r',
        file,
        '-n',
        `127.0.0.1:${port}`,
        '-v',
        '9',
        '-6',
        '-d',
        '-a',
        '-p',
        join(dir, 'pid'),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.status, `softflowd: ${run.stderr}`).toBe(0);
    const deadline = Date.now() + 5000;
    while (datagrams.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100)); // the rest of its datagrams
  } finally {
    sock.close();
  }
  const decoder = createDecoder();
  const peer: FlowRecord[] = [];
  for (const d of datagrams) decoder.decode(d, '127.0.0.1', Date.now(), (r) => peer.push({ ...r }));

  const source = createPcapSource({ path: file, cache: {} });
  const ours: FlowRecord[] = [];
  await source.run({ emit: (r) => ours.push(...r), signal: new AbortController().signal });

  expect(ours).toHaveLength(40);
  expect(peer).toHaveLength(40);
  const peerByKey = new Map(peer.map((r) => [key(r), r]));
  for (const r of ours) {
    const p = peerByKey.get(key(r));
    expect(p, `softflowd has no flow ${key(r)}`).toBeDefined();
    if (!p) continue;
    expect([r.packets, r.bytes, r.ip_version], key(r)).toEqual([
      Number(p.packets),
      Number(p.bytes),
      p.ip_version,
    ]);
    // v9 times are sysUptime offsets from a header time in whole seconds: absolute times
    // agree to within that second, durations to the millisecond
    expect(Math.abs(Number(r.flow_start) - Number(p.flow_start)), `${key(r)} start`).toBeLessThan(1000);
    const duration = (x: FlowRecord) => Number(x.flow_end) - Number(x.flow_start);
    expect(Math.abs(duration(r) - duration(p)), `${key(r)} duration`).toBeLessThanOrEqual(1);
    if (r.proto === 6) expect(r.tcp_flags, key(r)).toBe(p.tcp_flags);
  }
});
