/**
 * A real Open vSwitch lab (userspace `netdev` datapath; no kernel module needed) for tests:
 *
 *   netns A (ovs-vswitchd, private rundir)                netns B (Linux kernel VXLAN)
 *   ┌────────────────────────────────────────┐            ┌───────────────────────────────┐
 *   │ br-phy 192.168.50.1 ── uA ─────────────┼── veth ────┼─ uB 192.168.50.2               │
 *   │ br-t<i>: a<i> (veth) + vx<i> (vxlan,   │            │ vxlan<vni> (noudpcsum) + br   │
 *   │          key=<vni>, remote .50.2)      │            │   + b<i> (veth)               │
 *   └────┬───────────────────────────────────┘            └────┬──────────────────────────┘
 *   tenant netns At<i>: eth0 10.0.0.1/24            tenant netns Bt<i>: eth0 10.0.0.2/24
 *
 * Every tenant uses the SAME inner addresses (10.0.0.1 ↔ 10.0.0.2): only the VNI tells them
 * apart. The workarounds from ../shared/reference/peers-on-this-machine.md §2 are applied:
 * kernel VXLAN with `noudpcsum`, tx checksum offload off on the veths that feed OVS, and no
 * `enable-*-sampling` keys on IPFIX (they disable sampling in OVS 3.1). Megaflows are
 * disabled so that every datapath flow is an exact match (full 5-tuple in dpctl output).
 *
 * Bridge IPFIX is NOT configured by `startOvsLab`: call `lab.enableIpfix(target)` once the
 * collector listens in `ovsNetns`. OVS sends an exporter's templates once, at its first
 * export, and then only every 10 minutes (IPFIX_TEMPLATE_INTERVAL in ofproto-dpif-ipfix.c);
 * a template sent before the collector listens is lost (`sending to collector failed
 * (Connection refused)` in ovs-vswitchd.log, `tx errs` in `ovs-ofctl dump-ipfix-bridge`) and
 * that bridge's data sets stay undecodable. The collector can only listen once the lab's
 * namespace exists, so the lab cannot configure IPFIX while it is being built.
 *
 * `stop()` removes everything (daemons, namespaces, rundir) and is safe to call after a
 * failed start: `startOvsLab` cleans up by itself when it throws.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupStack, createNetns, createVeth, run, runIn, uniqueName } from './netns.ts';

export interface OvsLabTenantOptions {
  vni: number;
}

export interface OvsLabOptions {
  tenants: OvsLabTenantOptions[];
  /** keep megaflows (wildcarded datapath flows); default false = exact-match flows */
  megaflows?: boolean;
}

export interface OvsLabTenant {
  vni: number;
  /** OVS bridge of this tenant in netns A */
  bridge: string;
  /** OVS port names: the veth to the tenant namespace, and the VXLAN port */
  vethPort: string;
  vxlanPort: string;
  /** namespaces of the tenant's VM on side A (10.0.0.1) and side B (10.0.0.2) */
  vmA: string;
  vmB: string;
  addrA: string;
  addrB: string;
}

export interface OvsLab {
  rundir: string;
  /** netns where ovs-vswitchd runs (the IPFIX target's loopback is here) */
  ovsNetns: string;
  /** netns of the remote VTEP (kernel VXLAN) */
  remoteNetns: string;
  vtepA: string;
  vtepB: string;
  tenants: OvsLabTenant[];
  /** unixctl socket of ovs-vswitchd: `ovs-appctl -t <this> …` */
  vswitchdCtl: string;
  /** the command prefix that reaches this switch's ovs-appctl (for `--ovs-appctl`) */
  appctlCommand: string[];
  appctl(args: readonly string[]): Promise<string>;
  vsctl(args: readonly string[]): Promise<string>;
  /**
   * Gives every tenant bridge an IPFIX exporter to `target` ('host:port' as seen from inside
   * `ovsNetns`, whose loopback is 127.0.0.1): observation domain `domainBase + i` (default 11)
   * for tenant i, sampling 1, cache_active_timeout 2 s. The collector must already listen
   * (see the top of this file); a loopback target with no UDP socket bound is refused.
   */
  enableIpfix(target: string, opts?: { domainBase?: number }): Promise<void>;
  /** `ovs-appctl dpctl/dump-flows -m` output */
  dumpFlows(): Promise<string>;
  /** pings from tenant i's side-A VM to its side-B VM; resolves with ping's stdout */
  ping(
    tenant: number,
    opts?: { count?: number; size?: number; intervalS?: number; tos?: number },
  ): Promise<string>;
  stop(): Promise<void>;
}

const VTEP_A = '192.168.50.1';
const VTEP_B = '192.168.50.2';

export async function startOvsLab(opts: OvsLabOptions): Promise<OvsLab> {
  const cleanup = cleanupStack();
  try {
    return await build(opts, cleanup);
  } catch (err) {
    await cleanup.runAll().catch(() => {});
    throw err;
  }
}

async function build(opts: OvsLabOptions, cleanup: ReturnType<typeof cleanupStack>): Promise<OvsLab> {
  // unix socket paths are limited to 108 bytes: keep the rundir short
  const rundir = await mkdtemp(join(tmpdir(), `vxovs${process.pid}-`));
  cleanup.defer('remove rundir', () => rm(rundir, { recursive: true, force: true }));
  const env = { ...process.env, OVS_RUNDIR: rundir, OVS_DBDIR: rundir, OVS_LOGDIR: rundir };
  const dbSock = join(rundir, 'db.sock');
  const vswitchdCtl = join(rundir, 'ovs-vswitchd.ctl');
  const dbCtl = join(rundir, 'ovsdb-server.ctl');

  await run('ovsdb-tool', ['create', join(rundir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], {
    env,
  });
  await run(
    'ovsdb-server',
    [
      join(rundir, 'conf.db'),
      `--remote=punix:${dbSock}`,
      `--pidfile=${join(rundir, 'ovsdb-server.pid')}`,
      `--log-file=${join(rundir, 'ovsdb-server.log')}`,
      `--unixctl=${dbCtl}`,
      '--detach',
    ],
    { env },
  );
  cleanup.defer('stop ovsdb-server', () => stopDaemon(dbCtl, join(rundir, 'ovsdb-server.pid')));
  const vsctl = async (args: readonly string[]) =>
    (await run('ovs-vsctl', [`--db=unix:${dbSock}`, '--timeout=20', ...args], { env })).stdout;
  await vsctl(['--no-wait', 'init']);

  const nsA = await createNetns(uniqueName('vxA'));
  cleanup.defer('delete netns A', () => nsA.delete());
  const nsB = await createNetns(uniqueName('vxB'));
  cleanup.defer('delete netns B', () => nsB.delete());

  await runIn(
    nsA.name,
    'ovs-vswitchd',
    [
      `unix:${dbSock}`,
      `--pidfile=${join(rundir, 'ovs-vswitchd.pid')}`,
      `--log-file=${join(rundir, 'ovs-vswitchd.log')}`,
      `--unixctl=${vswitchdCtl}`,
      '--detach',
    ],
    { env },
  );
  cleanup.defer('stop ovs-vswitchd', () => stopDaemon(vswitchdCtl, join(rundir, 'ovs-vswitchd.pid')));
  const appctl = async (args: readonly string[]) =>
    (await run('ovs-appctl', ['-t', vswitchdCtl, ...args], { env })).stdout;
  if (!opts.megaflows) await appctl(['upcall/disable-megaflows']);

  // underlay
  await createVeth({ name: 'uA', ns: nsA.name }, { name: 'uB', ns: nsB.name });
  await vsctl(['add-br', 'br-phy', '--', 'set', 'Bridge', 'br-phy', 'datapath_type=netdev']);
  await vsctl(['add-port', 'br-phy', 'uA']);
  // The userspace datapath reads uA over AF_PACKET, so netns A's kernel sees uA's frames too
  // and would answer ARP for the VTEP address (on br-phy) with uA's MAC, racing OVS's answer
  // with br-phy's. VXLAN sent to uA's MAC bypasses OVS's tunnel pop and reaches the kernel,
  // which has no socket on 4789: an ICMP port unreachable on the underlay. Only br-phy answers.
  await nsA.exec('sysctl', ['-qw', 'net.ipv4.conf.uA.arp_ignore=1']);
  await nsA.exec('ip', ['link', 'set', 'uA', 'up']);
  await nsA.exec('ip', ['addr', 'add', `${VTEP_A}/24`, 'dev', 'br-phy']);
  await nsA.exec('ip', ['link', 'set', 'br-phy', 'up']);
  await nsB.exec('ip', ['addr', 'add', `${VTEP_B}/24`, 'dev', 'uB']);
  await nsB.exec('ip', ['link', 'set', 'uB', 'up']);
  await nsB.exec('ethtool', ['-K', 'uB', 'tx', 'off']);

  const tenants: OvsLabTenant[] = [];
  for (const [i, t] of opts.tenants.entries()) {
    const n = i + 1;
    const bridge = `br-t${n}`;
    const vethPort = `a${n}`;
    const vxlanPort = `vx${n}`;
    const vmA = await createNetns(uniqueName(`vxa${n}`));
    cleanup.defer(`delete VM A${n}`, () => vmA.delete());
    const vmB = await createNetns(uniqueName(`vxb${n}`));
    cleanup.defer(`delete VM B${n}`, () => vmB.delete());

    // Both tunnel endpoints first, then the VMs: a VM's link coming up sends IPv6 chatter (DAD,
    // MLD) that the tunnel carries at once. Sent before netns B's VXLAN socket exists, it gets
    // an ICMP port unreachable back (192.168.50.2 → .1), an underlay ICMP datapath flow that
    // the ovs source reports as an ICMP flow without VNI.

    // side A: OVS bridge with a VXLAN port keyed by the VNI
    await vsctl(['add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=netdev']);
    await vsctl([
      'add-port',
      bridge,
      vxlanPort,
      '--',
      'set',
      'Interface',
      vxlanPort,
      'type=vxlan',
      `options:remote_ip=${VTEP_B}`,
      `options:key=${t.vni}`,
    ]);

    // side B: kernel VXLAN (noudpcsum: OVS's tnl_pop rejects partial checksums) + bridge
    const vx = `vxlan${t.vni}`;
    const br = `br${t.vni}`;
    await nsB.exec('ip', [
      'link',
      'add',
      vx,
      'type',
      'vxlan',
      'id',
      String(t.vni),
      'local',
      VTEP_B,
      'remote',
      VTEP_A,
      'dstport',
      '4789',
      'noudpcsum',
    ]);
    await nsB.exec('ip', ['link', 'add', br, 'type', 'bridge']);
    await nsB.exec('ip', ['link', 'set', vx, 'master', br]);
    for (const dev of [vx, br]) await nsB.exec('ip', ['link', 'set', dev, 'up']);

    // the VMs: a veth into the OVS bridge on side A, into the Linux bridge on side B
    await createVeth({ name: vethPort, ns: nsA.name }, { name: 'eth0', ns: vmA.name });
    await vsctl(['add-port', bridge, vethPort]);
    await nsA.exec('ip', ['link', 'set', vethPort, 'up']);
    await vmA.exec('ethtool', ['-K', 'eth0', 'tx', 'off']);
    await vmA.exec('ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
    await vmA.exec('ip', ['link', 'set', 'eth0', 'mtu', '1450', 'up']);
    await createVeth({ name: `b${n}`, ns: nsB.name }, { name: 'eth0', ns: vmB.name });
    await nsB.exec('ip', ['link', 'set', `b${n}`, 'master', br]);
    await nsB.exec('ip', ['link', 'set', `b${n}`, 'up']);
    await vmB.exec('ethtool', ['-K', 'eth0', 'tx', 'off']);
    await vmB.exec('ip', ['addr', 'add', '10.0.0.2/24', 'dev', 'eth0']);
    await vmB.exec('ip', ['link', 'set', 'eth0', 'mtu', '1450', 'up']);

    tenants.push({
      vni: t.vni,
      bridge,
      vethPort,
      vxlanPort,
      vmA: vmA.name,
      vmB: vmB.name,
      addrA: '10.0.0.1',
      addrB: '10.0.0.2',
    });
  }

  const lab: OvsLab = {
    rundir,
    ovsNetns: nsA.name,
    remoteNetns: nsB.name,
    vtepA: VTEP_A,
    vtepB: VTEP_B,
    tenants,
    vswitchdCtl,
    appctlCommand: ['ovs-appctl', '-t', vswitchdCtl],
    appctl,
    vsctl,
    async enableIpfix(target, o = {}) {
      const m = /^(.*):(\d+)$/.exec(target);
      if (!m) throw new Error(`IPFIX target ${target}: expected host:port`);
      const host = m[1].replace(/^\[|\]$/g, '');
      if (['127.0.0.1', '::1', 'localhost'].includes(host)) {
        // a template sent to a port nobody listens on is gone for 10 minutes
        const { stdout } = await nsA.exec('ss', ['-Hnlu', `sport = :${m[2]}`]);
        if (!stdout.trim())
          throw new Error(
            `IPFIX target ${target}: nothing listens there in ${nsA.name}; start the collector first`,
          );
      }
      for (const [i, t] of tenants.entries()) {
        await vsctl([
          '--',
          'set',
          'Bridge',
          t.bridge,
          'ipfix=@i',
          '--',
          '--id=@i',
          'create',
          'IPFIX',
          `targets="${target}"`,
          `obs_domain_id=${(o.domainBase ?? 11) + i}`,
          'obs_point_id=1',
          'sampling=1',
          'cache_active_timeout=2',
          'cache_max_flows=1000',
          'other_config:enable-tunnel-sampling=true',
        ]);
      }
    },
    dumpFlows: () => appctl(['dpctl/dump-flows', '-m']),
    async ping(tenant, p = {}) {
      const t = tenants[tenant];
      if (!t) throw new Error(`no tenant ${tenant}`);
      const args = ['-n', '-q', '-c', String(p.count ?? 3), '-s', String(p.size ?? 56)];
      if (p.tos !== undefined) args.push('-Q', String(p.tos));
      args.push('-i', String(p.intervalS ?? 0.2), '-W', '2', t.addrB);
      return (await runIn(t.vmA, 'ping', args)).stdout;
    },
    stop: () => cleanup.runAll(),
  };
  return lab;
}

/** Asks a daemon to exit over its unixctl socket; kills it by its pidfile if that fails. */
async function stopDaemon(ctl: string, pidfile: string): Promise<void> {
  try {
    await run('ovs-appctl', ['-t', ctl, '--timeout=5', 'exit']);
    return;
  } catch {
    // fall through: kill by pid
  }
  const { readFile } = await import('node:fs/promises');
  const pid = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
