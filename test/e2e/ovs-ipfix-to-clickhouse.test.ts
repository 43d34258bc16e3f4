/**
 * Open vSwitch's OWN IPFIX export (bridge IPFIX; VMware PEN 6876 element 892 carries the VNI)
 * from the two-tenant lab into our collector into ClickHouse. Both tenants use the SAME
 * inner addresses (10.0.0.1 ↔ 10.0.0.2); only the VNI tells them apart.
 *
 * OVS sends to the loopback of its own namespace, where this process cannot bind: a relay
 * listens there (udpSinkInNetns) and this process forwards each datagram, byte for byte, to
 * the in-process collector on the host loopback.
 *
 * Order matters: OVS sends its templates once when an exporter is created and then only
 * every 10 minutes (IPFIX_TEMPLATE_INTERVAL in ofproto-dpif-ipfix.c); changing options such
 * as cache_active_timeout does not resend them. So the relay and the collector are up BEFORE
 * the bridges get their IPFIX configuration, or every data set waits for a template that
 * never comes (an earlier version of this test saw datagrams but no flows for that reason).
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, tempDir, waitFor } from '../collector/harness.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import { collectorTrouble, implausibleTimes, TENANT_OF_VNI, TWO_TENANT_INVENTORY } from './common.ts';
import { cleanupStack, udpSinkInNetns } from '../helpers/netns.ts';
import { type OvsLab, startOvsLab } from '../helpers/ovs-lab.ts';

const db = useTestClickHouse();
const cleanup = cleanupStack();
const dir = tempDir('e2e-ovs-ipfix');
const PORT = 20_000 + ((process.pid * 7) % 20_000);

/** tenant i: bridge br-t<i+1> exports as observation domain 11 + i */
const PINGS = [
  { vni: 1001, tenant: TENANT_OF_VNI[1001], domain: 11, count: 4, size: 64 },
  { vni: 1002, tenant: TENANT_OF_VNI[1002], domain: 12, count: 6, size: 200 },
];
const ipLen = (size: number) => 20 + 8 + size;

let lab: OvsLab;
let collector: Awaited<ReturnType<typeof startCollector>>;

beforeAll(async () => {
  writeFileSync(join(dir.path, 'inventory.yaml'), TWO_TENANT_INVENTORY);
  collector = await startCollector({
    stateDir: join(dir.path, 'state'),
    clickhouse: testClickHouseConfig(db().database),
    inventoryFile: join(dir.path, 'inventory.yaml'),
  });
  const c = collector;
  cleanup.defer('stop collector', () => c.stop());
  lab = await startOvsLab({ tenants: PINGS.map((p) => ({ vni: p.vni })) });
  cleanup.defer('stop OVS lab', () => lab.stop());
  const sink = await udpSinkInNetns(lab.ovsNetns, '127.0.0.1', PORT);
  cleanup.defer('stop relay', () => sink.stop());
  const tx = createSocket('udp4');
  cleanup.defer('close relay socket', () => tx.close());
  let forwarded = 0;
  const relay = setInterval(() => {
    while (forwarded < sink.datagrams.length)
      tx.send(sink.datagrams[forwarded++].data, c.udpPort, '127.0.0.1');
  }, 20);
  cleanup.defer('stop relaying', () => clearInterval(relay));

  // now that the relay and the collector listen (see above; domains 11 and 12 as in PINGS)
  await lab.enableIpfix(`127.0.0.1:${PORT}`);
  for (const [i, p] of PINGS.entries()) await lab.ping(i, { count: p.count, size: p.size, intervalS: 0.05 });
}, 60_000);

afterAll(async () => {
  try {
    await cleanup.runAll();
  } finally {
    dir.remove();
  }
});

interface Row {
  vni: number;
  tenant: string;
  network: string;
  od: number;
  src: string;
  dst: string;
  icmp: number;
  tsrc: string;
  tdst: string;
  packets: number;
  bytes: number;
}

async function icmpRows(where: string): Promise<Row[]> {
  const rows = await db().query<Record<string, string | number>>(
    `SELECT vni, tenant, network, observation_domain AS od, IPv6NumToString(src_addr) AS src,
            IPv6NumToString(dst_addr) AS dst, icmp_type AS icmp, IPv6NumToString(tunnel_src) AS tsrc, IPv6NumToString(tunnel_dst) AS tdst,
            sum(packets) AS packets, sum(bytes) AS bytes
     FROM ${db().database}.flows WHERE proto = 1 AND ${where}
     GROUP BY vni, tenant, network, od, src, dst, icmp, tsrc, tdst ORDER BY od, vni, icmp`,
  );
  return rows.map((r) => ({
    vni: Number(r.vni),
    tenant: String(r.tenant),
    network: String(r.network),
    od: Number(r.od),
    src: String(r.src),
    dst: String(r.dst),
    icmp: Number(r.icmp),
    tsrc: String(r.tsrc),
    tdst: String(r.tdst),
    packets: Number(r.packets),
    bytes: Number(r.bytes),
  }));
}

describe('OVS bridge IPFIX → collector → ClickHouse (two tenants, same addresses)', () => {
  it("files each tenant's tunnel flows under its VNI and tenant with the pings' packet counts", async () => {
    // What OVS reports (peers-on-this-machine.md §2.4): the PEN 6876 tunnel elements (VNI,
    // VTEPs) are only on records of packets that ARRIVED from the tunnel, i.e. the echo
    // replies B → A, ingress on the VXLAN port. Each reply is reported a second time as it
    // leaves towards the VM (egress, no tunnel elements), and each request A → B only once,
    // as ingress from the VM (no tunnel elements either). So the right comparison is: the
    // VNI-carrying ICMP records of a tenant hold exactly its `count` echo replies, once each,
    // in IP bytes (20 + 8 + payload) — not 2 × count, which would double-count the replies.
    const expected: Row[] = PINGS.map((p) => ({
      vni: p.vni,
      tenant: p.tenant,
      network: `${p.tenant}-net`,
      od: p.domain,
      src: '::ffff:10.0.0.2',
      dst: '::ffff:10.0.0.1',
      icmp: 0,
      tsrc: `::ffff:${lab.vtepB}`,
      tdst: `::ffff:${lab.vtepA}`,
      packets: p.count,
      bytes: p.count * ipLen(p.size),
    }));
    const got = await waitFor(
      'both tenants’ tunnel flows stored',
      () => icmpRows('vni != 0'),
      (rows) => rows.reduce((s, r) => s + r.packets, 0) >= PINGS.reduce((s, p) => s + p.count, 0),
      30_000,
    );
    expect(got).toEqual(expected);
    expect(await collectorTrouble(collector.metrics)).toEqual({
      decodeErrors: 0,
      templateMisses: 0,
      heldExpired: 0,
      lostPackets: 0,
      dropped: 0,
    });
    // OVS's flowStart/EndDeltaMicroseconds are relative to the export time
    const times = await implausibleTimes(db(), 'proto = 1');
    expect(times.rows).toBeGreaterThan(0);
    expect(times.implausible).toBe(0);
  });

  it('reports every ping packet of each bridge: requests once, replies twice (ingress + egress)', async () => {
    const total = PINGS.reduce((s, p) => s + 3 * p.count, 0);
    const rows = await waitFor(
      'all ICMP records stored',
      () => icmpRows('1'),
      (rs) => rs.reduce((s, r) => s + r.packets, 0) >= total,
      30_000,
    );
    for (const p of PINGS) {
      const mine = rows.filter((r) => r.od === p.domain);
      const sum = (type: number) => mine.filter((r) => r.icmp === type).reduce((s, r) => s + r.packets, 0);
      expect(sum(8)).toBe(p.count);
      expect(sum(0)).toBe(2 * p.count);
    }
  });

  // The VNI-less records (requests ingress from the VM, replies egress to it) carry 10.0.0.x,
  // which both tenants' overlay subnets contain: only a VNI could tell them apart, so the
  // collector must leave them unassigned rather than pick a tenant.
  it('leaves VNI-less records with an address both tenants use unassigned', async () => {
    const rows = await waitFor(
      'VNI-less ICMP records stored',
      () => icmpRows('vni = 0'),
      (rs) => rs.length > 0,
      30_000,
    );
    expect(rows.map((r) => r.tenant)).toEqual(rows.map(() => ''));
  });
});
