/**
 * `vxflow exporter`: a source of flows → NetFlow v9 (default), IPFIX or v5 → one or more
 * collectors over UDP. File sources end by themselves (every flow flushed, every datagram
 * sent, exit 0); live sources run until SIGINT/SIGTERM (or --duration), then flush and exit.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import pino, { type Logger } from 'pino';
import { configFor } from '../../cli/context.ts';
import { UserError } from '../../common/errors.ts';
import { createFlowEncoder } from '../../protocol/src/encode/index.ts';
import type { ExporterConfig } from './config.ts';
import { createPipeline, type PipelineStats } from './export/pipeline.ts';
import { parseTarget, resolveTarget } from './export/targets.ts';
import { createOvsSource } from './sources/ovs.ts';
import { CaptureReadError, createPcapSource, type PcapSource } from './sources/pcap.ts';
import { createSimSource } from './sources/sim.ts';
import { writeInventory } from './sources/sim/inventory.ts';
import { createSocketSource } from './sources/socket.ts';
import type { FlowSource } from './sources/source.ts';

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
      const log = pino(
        { name: 'exporter', level: config.logLevel, base: undefined },
        pino.destination({ dest: 2, sync: true }),
      );
      await runExporter(config.exporter, log, opts.duration !== undefined ? Number(opts.duration) : 0);
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

/** Builds the source a --source spec names; user mistakes become UserError. */
export async function createSource(
  ex: ExporterConfig,
  log: Logger,
): Promise<{ source: FlowSource; live: boolean }> {
  const spec = ex.source;
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  switch (kind) {
    case 'sim': {
      const source = createSimSource({
        rate: ex.sim.rate,
        seed: ex.sim.seed,
        tenants: ex.sim.tenants,
        durationS: ex.sim.durationS,
      });
      if (ex.sim.inventoryOut) {
        await writeInventory(ex.sim.inventoryOut, source.cloud);
        log.info({ file: ex.sim.inventoryOut }, 'wrote the simulated tenant inventory');
      }
      return { source, live: ex.sim.durationS === 0 };
    }
    case 'ovs':
      return {
        source: createOvsSource({
          appctl: ex.ovs.appctl.split(/\s+/).filter(Boolean),
          rundir: ex.ovs.rundir,
          datapath: arg,
          pollMs: ex.ovs.pollMs,
          activeTimeoutS: ex.activeTimeoutS,
          includeUnderlay: ex.ovs.includeUnderlay,
          onError: (err) => log.warn({ err: err.message }, 'ovs: dump failed; retrying at the next poll'),
        }),
        live: true,
      };
    case 'pcap': {
      if (!arg) throw new UserError('--source pcap: needs a file: pcap:FILE, or pcap:- for standard input');
      if (arg !== '-' && !existsSync(arg)) throw new UserError(`--source pcap:${arg}: no such file`);
      const source = createPcapSource({
        path: arg,
        cache: {
          activeTimeoutMs: ex.activeTimeoutS * 1000,
          inactiveTimeoutMs: ex.inactiveTimeoutS * 1000,
          maxFlows: ex.maxFlows,
          samplingRate: ex.sampling,
        },
      });
      return { source, live: arg === '-' };
    }
    case 'socket': {
      if (!arg) throw new UserError('--source socket: needs a path: socket:PATH');
      return {
        source: createSocketSource({
          path: arg,
          onProblem: (what, reason) =>
            log.warn(
              { reason },
              what === 'framing' ? 'socket: framing lost, connection closed' : 'socket: bad message skipped',
            ),
          onListening: () => log.info({ path: arg }, 'socket: listening for agents'),
        }),
        live: true,
      };
    }
    default:
      throw new UserError(
        `--source ${spec}: unknown source`,
        'use sim, ovs[:DATAPATH], pcap:FILE, pcap:- or socket:PATH (see vxflow exporter --help)',
      );
  }
}

export async function runExporter(ex: ExporterConfig, log: Logger, durationS = 0): Promise<PipelineStats> {
  const targets = [];
  for (const url of ex.to) {
    const parsed = parseTarget(url);
    if (!parsed.ok) throw new UserError(`--to ${parsed.error}`);
    try {
      targets.push(await resolveTarget(parsed.value));
    } catch (err) {
      throw new UserError(`--to ${url}: cannot resolve ${parsed.value.host}: ${(err as Error).message}`);
    }
  }
  const { source, live } = await createSource(ex, log);
  let pipeline: Awaited<ReturnType<typeof createPipeline>>;
  try {
    pipeline = await createPipeline({
      targets,
      createEncoder: createFlowEncoder,
      batchRecords: ex.sendBatchRecords,
      encoder: {
        version: ex.version,
        observationDomain: ex.observationDomain,
        mtu: ex.mtu,
        templateRefreshPackets: ex.templateRefreshPackets,
        templateRefreshMs: ex.templateRefreshMs,
        bootTimeMs: Date.now(),
        samplingInterval: ex.sampling,
        activeTimeoutS: ex.activeTimeoutS,
        inactiveTimeoutS: ex.inactiveTimeoutS,
      },
    });
  } catch (err) {
    if (err instanceof RangeError) throw new UserError(`exporter: ${err.message}`);
    throw err;
  }
  log.info(
    { source: ex.source, to: ex.to, version: ex.version, observationDomain: ex.observationDomain },
    'exporter started',
  );

  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting without flushing');
      process.exit(130);
    }
    log.info({ signal: sig }, 'stopping: flushing flows');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const durationTimer =
    durationS > 0 && !ex.source.startsWith('sim') ? setTimeout(() => abort.abort(), durationS * 1000) : null;
  let lastProgress = 0;
  const statsTimer = live
    ? setInterval(() => {
        const s = pipeline.stats();
        log.info({ flows: s.exported, dropped: s.dropped }, 'exporting');
      }, 60_000)
    : null;
  statsTimer?.unref();

  try {
    await pipeline.sendTemplates();
    await source.run(
      pipeline.context(abort.signal, (fraction, text) => {
        const now = Date.now();
        if (now - lastProgress < 2000) return;
        lastProgress = now;
        log.info({ done: `${(fraction * 100).toFixed(1)}%`, flows: pipeline.stats().exported }, text);
      }),
    );
  } catch (err) {
    if (err instanceof CaptureReadError) throw new UserError(`--source ${ex.source}: ${err.message}`);
    throw err;
  } finally {
    if (durationTimer) clearTimeout(durationTimer);
    if (statsTimer) clearInterval(statsTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await pipeline.close();
  }
  if (ex.source.startsWith('pcap:')) warnIncompleteCapture(ex.source, (source as PcapSource).stats, log);
  const stats = pipeline.stats();
  for (const t of stats.targets) {
    log.info(
      {
        collector: t.url,
        datagrams: t.datagrams,
        flows: t.flows,
        bytes: t.bytes,
        errors: t.errors,
        lastError: t.lastError,
      },
      'sent',
    );
  }
  log.info({ received: stats.received, exported: stats.exported, dropped: stats.dropped }, 'exporter done');
  return stats;
}

/**
 * A capture cut off mid-write (tcpdump killed, a copy interrupted) ends in part of a
 * packet; one cut inside its first record has no packet at all. Both used to end with exit
 * 0, "0 packets" and not a word; what was whole is still exported, with a warning.
 */
function warnIncompleteCapture(
  source: string,
  s: { frames: number; bytesRead: number; truncatedTailBytes: number },
  log: Logger,
): void {
  if (s.truncatedTailBytes > 0)
    log.warn(
      { source, packets: s.frames, ignoredBytes: s.truncatedTailBytes },
      'capture is truncated: it ends inside a packet record, which was ignored (was the capture cut off?)',
    );
  else if (s.frames === 0 && s.bytesRead > 0)
    log.warn({ source, bytes: s.bytesRead }, 'capture has no complete packet');
}
