/**
 * A kernel VXLAN overlay in network namespaces (peers-on-this-machine.md §3): two hosts joined
 * by an underlay veth (u1 172.16.0.1 ↔ u2 172.16.0.2), and per VNI two tenant namespaces
 * holding 10.0.0.1 (behind host 1) and 10.0.0.2 (behind host 2): the SAME inner addresses in
 * every tenant, told apart only by the VNI. Each VXLAN device is created in its host namespace
 * (so its UDP socket stays on the underlay) and then moved into the tenant's namespace. IPv6
 * is off everywhere (no router solicitations, MLD or DAD among counted flows) unless `ipv6`
 * asks for fd00::1/fd00::2 on the overlay devices. Everything goes on the caller's cleanup stack.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type cleanupStack, createNetns, createVeth, type Netns, uniqueName } from './netns.ts';

export interface KernelVxlanLab {
  hosts: [Netns, Netns];
  /** vms[vni][0] holds 10.0.0.1 (behind host 1), vms[vni][1] 10.0.0.2 */
  vms: Record<number, [Netns, Netns]>;
}

export async function startKernelVxlanLab(
  vnis: readonly number[],
  cleanup: ReturnType<typeof cleanupStack>,
  opts: { ipv6?: boolean } = {},
): Promise<KernelVxlanLab> {
  const ns = async (prefix: string, ipv6: boolean) => {
    const n = await createNetns(uniqueName(prefix));
    cleanup.defer(`delete ${n.name}`, () => n.delete());
    // set before any interface exists, so 'default' covers the devices moved in later
    const v = ipv6 ? '0' : '1';
    await n.exec('sysctl', [
      '-qw',
      `net.ipv6.conf.all.disable_ipv6=${v}`,
      `net.ipv6.conf.default.disable_ipv6=${v}`,
    ]);
    return n;
  };
  const hosts: [Netns, Netns] = [await ns('kxh', false), await ns('kxh', false)];
  const vms: Record<number, [Netns, Netns]> = {};
  for (const vni of vnis) vms[vni] = [await ns('kxv', !!opts.ipv6), await ns('kxv', !!opts.ipv6)];
  await createVeth({ name: 'u1', ns: hosts[0].name }, { name: 'u2', ns: hosts[1].name });
  for (const [i, host] of hosts.entries()) {
    const local = `172.16.0.${i + 1}`;
    const remote = `172.16.0.${2 - i}`;
    await host.exec('ip', ['addr', 'add', `${local}/24`, 'dev', `u${i + 1}`]);
    await host.exec('ip', ['link', 'set', `u${i + 1}`, 'up']);
    for (const vni of vnis) {
      const dev = `vx${vni}`;
      const vm = vms[vni][i];
      await host.exec('ip', [
        ...['link', 'add', dev, 'type', 'vxlan', 'id', String(vni)],
        ...['local', local, 'remote', remote, 'dstport', '4789'],
      ]);
      await host.exec('ip', ['link', 'set', dev, 'netns', vm.name]);
      await vm.exec('ip', ['addr', 'add', `10.0.0.${i + 1}/24`, 'dev', dev]);
      // nodad: usable at once, and no DAD probes in the capture
      if (opts.ipv6) await vm.exec('ip', ['-6', 'addr', 'add', `fd00::${i + 1}/64`, 'dev', dev, 'nodad']);
      await vm.exec('ip', ['link', 'set', dev, 'up']);
    }
  }
  return { hosts, vms };
}

/**
 * tcpdump on host 1's underlay (u1); resolves once it listens. --immediate-mode: without it
 * packets wait in the kernel's ring block for up to a second and a quick SIGTERM loses them.
 */
export async function startUnderlayTcpdump(
  lab: KernelVxlanLab,
  args: readonly string[],
  cleanup: ReturnType<typeof cleanupStack>,
): Promise<ChildProcess> {
  const child = spawn(
    'ip',
    ['netns', 'exec', lab.hosts[0].name, 'tcpdump', '-U', '--immediate-mode', '-n', '-i', 'u1', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanup.defer('kill tcpdump', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited ${code}: ${err}`));
    });
  });
  return child;
}
