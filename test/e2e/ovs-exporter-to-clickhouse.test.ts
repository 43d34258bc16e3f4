/**
 * Real tenants' traffic from an Open vSwitch datapath to ClickHouse: the two-tenant OVS lab
 * (userspace datapath, VXLAN VNIs 1001/1002, the SAME inner addresses in both tenants) is
 * polled by `vxflow exporter --source ovs` (spawned, dpctl/dump-flows every 500 ms), which
 * exports NetFlow v9 to our collector (in-process, with a tenant inventory) storing into the
 * suite's ClickHouse. Each tenant's ping packets and bytes must land exactly, under its VNI
 * and tenant. The lab, the exporter and the collector are removed even when the test fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector, tempDir, waitFor } from '../collector/harness.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import { collectorTrouble, implausibleTimes, TENANT_OF_VNI, TWO_TENANT_INVENTORY } from './common.ts';
import { cleanupStack } from '../helpers/netns.ts';
import { startOvsLab } from '../helpers/ovs-lab.ts';

const repo = resolve(import.meta.dirname, '../..');
const db = useTestClickHouse();
const cleanup = cleanupStack();
const dir = tempDir('e2e-ovs-src');

afterAll(async () => {
  try {
    await cleanup.runAll();
  } finally {
    dir.remove();
  }
});

/** different counts and sizes per tenant, so the two cannot be confused */
const PINGS = [
  { vni: 1001, tenant: TENANT_OF_VNI[1001], count: 5, size: 100 },
  { vni: 1002, tenant: TENANT_OF_VNI[1002], count: 3, size: 300 },
];

describe('OVS datapath → vxflow exporter --source ovs → collector → ClickHouse', () => {
  it("stores each tenant's exact ping packets and IP bytes under its VNI and tenant", async () => {
    writeFileSync(join(dir.path, 'inventory.yaml'), TWO_TENANT_INVENTORY);
    const collector = await startCollector({
      stateDir: join(dir.path, 'state'),
      clickhouse: testClickHouseConfig(db().database),
      inventoryFile: join(dir.path, 'inventory.yaml'),
    });
    cleanup.defer('stop collector', () => collector.stop());
    const lab = await startOvsLab({ tenants: PINGS.map((p) => ({ vni: p.vni })) });
    cleanup.defer('stop OVS lab', () => lab.stop());

    // Warm-up: the first packet of a datapath flow takes the upcall that installs the flow and
    // is not counted by dpctl. These flows then exist in the exporter's first dump, its
    // baseline, so the warm-up packets are not exported either.
    for (const [i] of PINGS.entries()) await lab.ping(i, { count: 1 });

    const exporter: ChildProcess = spawn(
      process.execPath,
      [
        'bin/vxflow.js',
        'exporter',
        '--source',
        'ovs',
        '--ovs-appctl',
        lab.appctlCommand.join(' '),
        '--ovs-poll-ms',
        '500',
        '--to',
        `udp://127.0.0.1:${collector.udpPort}`,
      ],
      { cwd: repo, env: { ...process.env, VXFLOW_CONFIG: '/dev/null' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    cleanup.defer('kill exporter', () => {
      if (exporter.exitCode === null && exporter.signalCode === null) exporter.kill('SIGKILL');
    });
    let log = '';
    exporter.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const closed = new Promise<number | null>((r) => exporter.once('close', (code) => r(code)));
    await waitFor(
      'exporter started',
      () => log.includes('exporter started') || exporter.exitCode !== null,
      Boolean,
    );
    await new Promise((r) => setTimeout(r, 1200)); // at least one dump: the baseline

    for (const [i, p] of PINGS.entries())
      await lab.ping(i, { count: p.count, size: p.size, intervalS: 0.05 });
    await new Promise((r) => setTimeout(r, 1200)); // two more dumps see every ping packet
    exporter.kill('SIGTERM'); // flushes every flow it holds, then exits 0
    expect(await closed, log).toBe(0);

    const query = () =>
      db().query<Record<string, string | number>>(
        `SELECT vni, tenant, network, count() AS flows, sum(packets) AS packets, sum(bytes) AS bytes
         FROM ${db().database}.flows WHERE proto = 1 GROUP BY vni, tenant, network ORDER BY vni`,
      );
    const total = PINGS.reduce((s, p) => s + 2 * p.count, 0);
    const rows = await waitFor(
      'ICMP flows stored',
      query,
      (rs) => rs.reduce((s, r) => s + Number(r.packets), 0) >= total,
    );
    // echo requests one way and replies the other, each counted once (the ovs source reports
    // the inner flow, never the outer UDP 4789 one), in IP bytes: 20 + 8 + payload. Ethernet
    // bytes would add 14 per packet: dpctl counts frames, the source subtracts the header.
    expect(rows.map((r) => Object.values(r).join(' '))).toEqual(
      PINGS.map(
        (p) => `${p.vni} ${p.tenant} ${p.tenant}-net 2 ${2 * p.count} ${2 * p.count * (28 + p.size)}`,
      ),
    );

    // Other datapath flows are the namespaces' own IPv6 chatter (MLD reports from link-local
    // addresses on the underlay bridge): no VNI, and they must stay unassigned rather than be
    // guessed into a tenant. Every VNI-carrying flow is under its VNI's tenant.
    const byVni = await db().query<Record<string, string | number>>(
      `SELECT vni, tenant, ip_version, count() AS n FROM ${db().database}.flows
       GROUP BY vni, tenant, ip_version ORDER BY vni, tenant, ip_version`,
    );
    for (const r of byVni) {
      if (Number(r.vni) === 0) {
        expect(r.tenant).toBe('');
        expect(Number(r.ip_version)).toBe(6);
      } else expect(r.tenant).toBe(PINGS.find((p) => p.vni === Number(r.vni))?.tenant);
    }
    expect([...new Set(byVni.map((r) => Number(r.vni)).filter((v) => v !== 0))]).toEqual(
      PINGS.map((p) => p.vni),
    );
    expect(await collectorTrouble(collector.metrics)).toEqual({
      decodeErrors: 0,
      templateMisses: 0,
      heldExpired: 0,
      lostPackets: 0,
      dropped: 0,
    });
    expect(await implausibleTimes(db(), 'proto = 1')).toEqual({ rows: 4, implausible: 0 });
  }, 60_000);
});
