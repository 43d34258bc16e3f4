/**
 * `vxflow exporter`: a source of flows → NetFlow v9 (default), IPFIX or v5 → one or more
 * collectors over UDP (exporter/src/exporter.ts). File sources end by themselves (every flow
 * flushed, every datagram sent, exit 0); live sources run until SIGINT/SIGTERM (or
 * --duration), then flush and exit.
 */
import type { Command } from 'commander';
import { UserError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createExporter } from '../../exporter/src/exporter.ts';
import { configFor } from '../context.ts';

const SOURCES_HELP = `
Sources (--source):
  sim                 a deterministic simulated multi-tenant cloud (VXLAN tenants with
                      overlapping addresses, east-west and north-south traffic, daily load
                      curve, heavy hitters, occasional SYN floods); --rate flows/s, --seed,
                      --tenants, --inventory-out FILE writes its tenant inventory (YAML)
  ovs[:DATAPATH]      poll an Open vSwitch datapath (ovs-appctl dpctl/dump-flows -m) every
                      --ovs-poll-ms; counters are diffed per flow, the tunnel key becomes the
                      VNI. --ovs-appctl "ovs-appctl -t /run/openvswitch/ovs-vswitchd.123.ctl"
                      or --ovs-rundir DIR to reach a switch with a private rundir
  pcap:FILE | pcap:-  packets from a pcap/pcapng file (or tcpdump -U -w - on stdin) through
                      the flow cache (VXLAN/Geneve/GRE decapsulated); exits 0 when the file
                      is done and every flow is flushed
  socket:PATH         listen on a Unix stream socket for length-delimited protobuf
                      FlowMessages from any datapath agent (protocol/proto/flow.proto)

Every option can also be set in the config file's "exporter" section.
Examples:
  vxflow exporter --source sim --rate 500 --to udp://127.0.0.1:2055
  vxflow exporter --source pcap:trace.pcap --to udp://127.0.0.1:2055 --to udp://[::1]:4739 --version 10
  tcpdump -i eth0 -U --immediate-mode -w - udp port 4789 | vxflow exporter --source pcap:- --to udp://10.0.0.9:2055
  (--immediate-mode: without it the kernel holds packets up to a second, and a quick stop loses them)
`;

interface CliOptions {
  source?: string;
  to?: string[];
  version?: string;
  observationDomain?: string;
  mtu?: string;
  templateRefreshPackets?: string;
  templateRefreshMs?: string;
  activeTimeout?: string;
  inactiveTimeout?: string;
  maxFlows?: string;
  sampling?: string;
  rate?: string;
  seed?: string;
  tenants?: string;
  duration?: string;
  inventoryOut?: string;
  ovsAppctl?: string;
  ovsRundir?: string;
  ovsPollMs?: string;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function register(program: Command): void {
  program
    .command('exporter')
    .description('export flows from a source (sim, ovs, pcap, socket) as NetFlow v9/IPFIX/v5 to collectors')
    .option('-s, --source <source>', 'sim | ovs[:DATAPATH] | pcap:FILE | pcap:- | socket:PATH (default sim)')
    .option('-t, --to <url>', 'collector udp://HOST:PORT, repeatable (default udp://127.0.0.1:2055)', collect)
    .option('--version <n>', 'export protocol: 9 (NetFlow v9, default), 10 (IPFIX) or 5')
    .option('--observation-domain <n>', 'v9 Source ID / IPFIX Observation Domain ID')
    .option('--mtu <bytes>', 'largest datagram payload (default 1400)')
    .option('--template-refresh-packets <n>', 'resend templates every N datagrams (default 20)')
    .option('--template-refresh-ms <ms>', 'and at least every M ms, even when idle (default 60000)')
    .option('--active-timeout <s>', 'flow cache active timeout, seconds (pcap, ovs; default 60)')
    .option('--inactive-timeout <s>', 'flow cache inactive timeout, seconds (pcap; default 15)')
    .option('--max-flows <n>', 'flow cache size (pcap; default 65536)')
    .option('--sampling <n>', '1-in-N packet sampling (pcap; default 1)')
    .option('--rate <flows/s>', 'sim: mean flows per second (default 500)')
    .option('--seed <n>', 'sim: PRNG seed (default 1)')
    .option('--tenants <n>', 'sim: number of tenants (default 6)')
    .option('--duration <s>', 'stop after this many seconds (sim: simulated seconds)')
    .option('--inventory-out <file>', 'sim: write the simulated tenant inventory (YAML) here')
    .option(
      '--ovs-appctl <command>',
      'ovs: the ovs-appctl command, e.g. "ovs-appctl -t /path/ovs-vswitchd.ctl"',
    )
    .option('--ovs-rundir <dir>', 'ovs: OVS_RUNDIR of the switch')
    .option('--ovs-poll-ms <ms>', 'ovs: dump interval (default 5000)')
    .addHelpText('after', SOURCES_HELP)
    .action(async (opts: CliOptions, cmd: Command) => {
      const config = configFor(cmd, { exporter: overridesFrom(opts) });
      const log = createLogger(config.logLevel, 'exporter');
      await createExporter(config.exporter, { log }).run(
        opts.duration !== undefined ? Number(opts.duration) : 0,
      );
    });
}

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UserError(`--${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}

function overridesFrom(o: CliOptions): Record<string, unknown> {
  const sim: Record<string, unknown> = {
    rate: int(o.rate, 'rate'),
    seed: int(o.seed, 'seed'),
    tenants: int(o.tenants, 'tenants'),
    durationS: int(o.duration, 'duration'),
    inventoryOut: o.inventoryOut,
  };
  const ovs: Record<string, unknown> = {
    appctl: o.ovsAppctl,
    rundir: o.ovsRundir,
    pollMs: int(o.ovsPollMs, 'ovs-poll-ms'),
  };
  return {
    source: o.source,
    to: o.to,
    version: int(o.version, 'version'),
    observationDomain: int(o.observationDomain, 'observation-domain'),
    mtu: int(o.mtu, 'mtu'),
    templateRefreshPackets: int(o.templateRefreshPackets, 'template-refresh-packets'),
    templateRefreshMs: int(o.templateRefreshMs, 'template-refresh-ms'),
    activeTimeoutS: int(o.activeTimeout, 'active-timeout'),
    inactiveTimeoutS: int(o.inactiveTimeout, 'inactive-timeout'),
    maxFlows: int(o.maxFlows, 'max-flows'),
    sampling: int(o.sampling, 'sampling'),
    sim,
    ovs,
  };
}
