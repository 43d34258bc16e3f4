/**
 * exporter/: a source of flows (Open vSwitch, pcap/pcapng or tcpdump on stdin, a protobuf
 * socket, the simulator) → the flow cache → NetFlow v9 (default), IPFIX or v5 → one or more
 * collectors over UDP. createExporter() is the part's factory; `vxflow exporter`
 * (cli/commands/exporter.ts) only turns flags into its configuration. File sources end by
 * themselves (every flow flushed, every datagram sent); live sources run until
 * SIGINT/SIGTERM (or the duration), then flush.
 */
import { existsSync } from 'node:fs';
import { UserError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
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

export interface Exporter {
  /** Exports until the source ends (or a signal, or durationS seconds for live sources); resolves once every flow is flushed. */
  run(durationS?: number): Promise<PipelineStats>;
}

/** The exporter as a plain component: configuration and a logger in, run() out. */
export function createExporter(config: ExporterConfig, deps: { log: Logger }): Exporter {
  return { run: (durationS = 0) => runExporter(config, deps.log, durationS) };
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
