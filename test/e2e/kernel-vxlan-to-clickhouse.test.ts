/**
 * Real tenants' traffic from the kernel datapath to ClickHouse: two hosts (namespaces) joined
 * by an underlay veth carry two tenants over kernel VXLAN with the SAME inner addresses
 * (10.0.0.1 ↔ 10.0.0.2), told apart only by the VNI (1001 = red, 1002 = blue). Pings with a
 * fixed count and size run in each tenant while `tcpdump -U -w -` on the underlay is piped
 * into `vxflow exporter --source pcap:-`, which exports (v9 or IPFIX) to our collector
 * (in-process, with a tenant inventory) storing into the suite's ClickHouse. Each tenant's
 * packets and bytes in ClickHouse must be exactly what its pings sent, under its VNI and
 * tenant. Every namespace and process is removed in afterAll, even when a test fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, tempDir, waitFor } from '../collector/harness.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import { collectorTrouble, implausibleTimes, TENANT_OF_VNI, TWO_TENANT_INVENTORY } from './common.ts';
import {
  type KernelVxlanLab,
  startKernelVxlanLab,
  startUnderlayTcpdump,
} from '../helpers/kernel-vxlan-lab.ts';
import { cleanupStack, runIn } from '../helpers/netns.ts';

const repo = resolve(import.meta.dirname, '../..');
const db = useTestClickHouse();
const cleanup = cleanupStack();
const dir = tempDir('e2e-kvx');

const VNIS = [1001, 1002] as const;
type Vni = (typeof VNIS)[number];

let lab: KernelVxlanLab;

async function buildTopology(): Promise<void> {
  lab = await startKernelVxlanLab(VNIS, cleanup);
  // ARP is resolved before capturing so only the pings are on the wire (ARP is no IP flow
  // anyway, but this keeps the first echo from waiting)
  for (const vni of VNIS)
    await runIn(lab.vms[vni][0].name, 'ping', ['-n', '-q', '-c', '1', '-W', '2', '10.0.0.2']);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root for network namespaces (ip netns)');
  writeFileSync(join(dir.path, 'inventory.yaml'), TWO_TENANT_INVENTORY);
  await buildTopology();
}, 60_000);

afterAll(async () => {
  try {
    await cleanup.runAll();
  } finally {
    dir.remove();
  }
});

function spawnTracked(cmd: string, args: string[], opts: Parameters<typeof spawn>[2]): ChildProcess {
  const child = spawn(cmd, args, opts);
  cleanup.defer(`kill ${cmd}`, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** tcpdump on host 1's underlay writing pcap to its stdout */
const startTcpdump = () => startUnderlayTcpdump(lab, ['-w', '-'], cleanup);

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('close', (code) => r(code)));
}

interface TenantTotals {
  vni: number;
  tenant: string;
  network: string;
  flows: number;
  packets: number;
  bytes: number;
}

async function perTenant(version: number): Promise<TenantTotals[]> {
  const rows = await db().query<Record<string, string | number>>(
    `SELECT vni, tenant, network, count() AS flows, sum(packets) AS packets, sum(bytes) AS bytes
     FROM ${db().database}.flows WHERE version = ${version} GROUP BY vni, tenant, network ORDER BY vni`,
  );
  return rows.map((r) => ({
    vni: Number(r.vni),
    tenant: String(r.tenant),
    network: String(r.network),
    flows: Number(r.flows),
    packets: Number(r.packets),
    bytes: Number(r.bytes),
  }));
}

/** each tenant pings a different number of times with a different size, so they cannot be confused */
const PINGS: Record<Vni, { count: number; size: number }> = {
  1001: { count: 5, size: 100 },
  1002: { count: 3, size: 300 },
};
/** IPv4 total length of one echo (request or reply): 20 (IP) + 8 (ICMP) + payload */
const ipLen = (vni: Vni) => 20 + 8 + PINGS[vni].size;

describe('kernel VXLAN → tcpdump → vxflow exporter (pcap:-) → collector → ClickHouse', () => {
  for (const version of [9, 10] as const) {
    it(`stores each tenant's exact packets and bytes under its VNI and tenant (${version === 9 ? 'NetFlow v9' : 'IPFIX'})`, async () => {
      const collector = await startCollector({
        stateDir: join(dir.path, `state-${version}`),
        clickhouse: testClickHouseConfig(db().database),
        inventoryFile: join(dir.path, 'inventory.yaml'),
      });
      cleanup.defer(`stop collector v${version}`, () => collector.stop());
      const tcpdump = await startTcpdump();
      const exporter = spawnTracked(
        process.execPath,
        [
          'bin/vxflow.js',
          'exporter',
          '--source',
          'pcap:-',
          '--to',
          `udp://127.0.0.1:${collector.udpPort}`,
          '--version',
          String(version),
        ],
        { cwd: repo, env: { ...process.env, VXFLOW_CONFIG: '/dev/null' }, stdio: ['pipe', 'ignore', 'pipe'] },
      );
      let exporterLog = '';
      exporter.stderr?.on('data', (d: Buffer) => {
        exporterLog += d.toString();
      });
      tcpdump.stdout?.pipe(exporter.stdin!);

      for (const vni of VNIS) {
        const { count, size } = PINGS[vni];
        await runIn(lab.vms[vni][0].name, 'ping', [
          '-n',
          '-q',
          '-c',
          String(count),
          '-s',
          String(size),
          '-i',
          '0.05',
          '-W',
          '2',
          '10.0.0.2',
        ]);
      }
      // stopping tcpdump ends the exporter's stdin: it flushes every flow and exits 0
      await new Promise((r) => setTimeout(r, 200));
      tcpdump.kill('SIGTERM');
      const code = await Promise.race([
        exited(exporter),
        new Promise((r) => setTimeout(() => r('timeout'), 20_000)),
      ]);
      expect(code, exporterLog).toBe(0);

      const expected: TenantTotals[] = VNIS.map((vni) => ({
        vni,
        tenant: TENANT_OF_VNI[vni],
        network: `${TENANT_OF_VNI[vni]}-net`,
        flows: 2, // echo requests one way, replies the other
        packets: 2 * PINGS[vni].count,
        bytes: 2 * PINGS[vni].count * ipLen(vni),
      }));
      const got = await waitFor(
        'both tenants stored',
        () => perTenant(version),
        (rows) => rows.reduce((s, r) => s + r.packets, 0) >= expected.reduce((s, r) => s + r.packets, 0),
        20_000,
      );
      expect(got).toEqual(expected);

      // per direction: requests 10.0.0.1 → 10.0.0.2 (type 8) and replies (type 0). IPFIX
      // carries the outer source VTEP (PEN 6876/893); NetFlow v9 has no element for it
      const vtep = (host: number) => (version === 10 ? `::ffff:172.16.0.${host}` : '::');
      const rows = await db().query<Record<string, string | number>>(
        `SELECT vni, IPv6NumToString(src_addr) AS src, IPv6NumToString(dst_addr) AS dst, icmp_type,
                packets, bytes, IPv6NumToString(tunnel_src) AS tsrc, src_subnet, traffic_class
         FROM ${db().database}.flows WHERE version = ${version} ORDER BY vni, icmp_type`,
      );
      expect(rows.map((r) => Object.values(r).map(String).join(' '))).toEqual(
        VNIS.flatMap((vni) => [
          `${vni} ::ffff:10.0.0.2 ::ffff:10.0.0.1 0 ${PINGS[vni].count} ${PINGS[vni].count * ipLen(vni)} ${vtep(2)} ${TENANT_OF_VNI[vni]}-sub east-west`,
          `${vni} ::ffff:10.0.0.1 ::ffff:10.0.0.2 8 ${PINGS[vni].count} ${PINGS[vni].count * ipLen(vni)} ${vtep(1)} ${TENANT_OF_VNI[vni]}-sub east-west`,
        ]),
      );
      expect(await collectorTrouble(collector.metrics)).toEqual({
        decodeErrors: 0,
        templateMisses: 0,
        heldExpired: 0,
        lostPackets: 0,
        dropped: 0,
      });
      expect(await implausibleTimes(db(), `version = ${version}`)).toEqual({ rows: 4, implausible: 0 });
    }, 60_000);
  }
});
