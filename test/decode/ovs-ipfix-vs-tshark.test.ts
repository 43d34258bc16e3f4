/**
 * Open vSwitch's own IPFIX export (bridge IPFIX, userspace datapath): OVS carries the VNI as
 * VMware PEN 6876 element 892 (tunnelKey) and the VTEPs as 893/894 on records of packets
 * that arrived from the tunnel. Two tenants use the same inner addresses; only the VNI tells
 * them apart. tshark is the reference; the project decoder must read the same values.
 *
 * testdata/ovs-ipfix-two-tenants.b64 holds datagrams recorded from this lab (one base64
 * datagram per line: domains 11/12, VNIs 1001/1002) for decoder tests that cannot run OVS.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { type UdpSink, udpSinkInNetns } from '../helpers/netns.ts';
import { type OvsLab, startOvsLab } from '../helpers/ovs-lab.ts';
import { udpPcap } from '../helpers/packets.ts';

const PORT = 20_000 + (process.pid % 20_000);
let lab: OvsLab;
let sink: UdpSink;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `vxipfix${process.pid}-`));
  lab = await startOvsLab({ tenants: [{ vni: 1001 }, { vni: 1002 }] });
  // the sink listens on the loopback of the OVS namespace, where ovs-vswitchd sends; it must
  // listen before the bridges get IPFIX: OVS sends an exporter's templates once and then only
  // every 10 minutes, and a bridge whose templates were lost is undecodable (ovs-lab.ts)
  sink = await udpSinkInNetns(lab.ovsNetns, '127.0.0.1', PORT);
  await lab.enableIpfix(`127.0.0.1:${PORT}`);
  await lab.ping(0, { count: 4, size: 64 });
  await lab.ping(1, { count: 4, size: 64 });
  // cache_active_timeout is 2 s: wait until both bridges exported the pings' ICMP records
  // (their IPv6 chatter, which also carries the VNI, can arrive first)
  const end = Date.now() + 30_000;
  while (Date.now() < end && icmpTunnelVnis().size < 2) await new Promise((r) => setTimeout(r, 500));
});

/** VNIs of the ICMP records that came in from the tunnel, as the project decoder sees them */
function icmpTunnelVnis(): Set<number> {
  const decoder = createDecoder();
  const vnis = new Set<number>();
  for (const d of sink.datagrams)
    decoder.decode(d.data, d.from, d.receivedMs, (r) => {
      if (r.vni > 0 && r.proto === 1) vnis.add(r.vni);
    });
  return vnis;
}
afterAll(async () => {
  await sink?.stop();
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** VNIs and VTEP pairs tshark finds in PEN 6876 892/893/894 of the datagrams so far. */
async function tsharkTunnelRecords() {
  const file = join(dir, 'ovs-ipfix.pcap');
  await writeFile(
    file,
    udpPcap(
      sink.datagrams.map((d) => d.data),
      4739,
    ),
  );
  // OVS templates have 61–67 fields, above tshark's default limit of 60
  const { stdout } = await promisify(execFile)(
    'tshark',
    ['-r', file, '-o', 'cflow.max_template_fields:200', '-V'],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  const vnis = new Set<number>();
  const vteps = new Set<string>();
  let src = '';
  for (const m of stdout.matchAll(/VMware Inc\.\) Type (89[234]): Value \(hex bytes\): ([0-9a-f ]+)/g)) {
    const bytes = m[2]
      .trim()
      .split(' ')
      .map((h) => Number.parseInt(h, 16));
    if (m[1] === '892') vnis.add(bytes.reduce((a, b) => a * 256 + b, 0));
    else if (m[1] === '893') src = bytes.join('.');
    else vteps.add(`${src}>${bytes.join('.')}`);
  }
  return { vnis, vteps };
}

describe('OVS IPFIX export', () => {
  it('carries VNI 1001/1002 and the VTEPs in PEN 6876 elements (tshark reference)', async () => {
    const ref = await tsharkTunnelRecords();
    expect(ref.vnis).toEqual(new Set([1001, 1002]));
    expect(ref.vteps).toEqual(new Set([`${lab.vtepB}>${lab.vtepA}`]));
  });

  it('is decoded by the project decoder with the same VNIs, VTEPs and inner addresses', () => {
    const decoder = createDecoder();
    const flows: FlowRecord[] = [];
    for (const d of sink.datagrams) decoder.decode(d.data, d.from, d.receivedMs, (r) => flows.push({ ...r }));
    expect(decoder.stats.templates).toBeGreaterThan(0);
    const icmpFromTunnel = flows.filter((f) => (f.vni as number) > 0 && f.proto === 1);
    expect(new Set(icmpFromTunnel.map((f) => f.vni))).toEqual(new Set([1001, 1002]));
    for (const f of icmpFromTunnel) {
      expect(f.version).toBe(10);
      // bridge br-t1 exports as domain 11 and carries VNI 1001, br-t2 domain 12 / VNI 1002
      expect(f.vni).toBe(f.observation_domain === 11 ? 1001 : 1002);
      expect(f.tunnel_type).toBe(1);
      expect(f.tunnel_src).toBe(lab.vtepB);
      expect(f.tunnel_dst).toBe(lab.vtepA);
      expect(f.src_addr).toBe('10.0.0.2');
      expect(f.dst_addr).toBe('10.0.0.1');
    }
  });
});
