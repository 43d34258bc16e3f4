/**
 * `ovs`: polls an Open vSwitch datapath with `ovs-appctl dpctl/dump-flows -m` every pollMs,
 * diffs each flow's counters (ovs/flow-tracker.ts) and emits a record when a flow ends, times
 * out (active timeout) or the source stops. Works with the userspace (netdev) and the kernel
 * datapath: both print the same format.
 *
 * For exact 5-tuple records, OVS should be run with megaflows disabled
 * (`ovs-appctl upcall/disable-megaflows`); with megaflows the datapath flows are wildcarded
 * and fields OVS did not need to match come out empty.
 *
 * Note that the first packet of each datapath flow is handled in the slow path (the upcall
 * that installs the flow) and is not counted by the datapath.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowSource, SourceContext } from './source.ts';
import { mapDpFlow } from './ovs/dpctl-map.ts';
import { parseDpctlDump, parseDpctlShowPorts } from './ovs/dpctl-parse.ts';
import { createFlowTracker } from './ovs/flow-tracker.ts';

export interface OvsSourceOptions {
  /** the ovs-appctl command and any leading arguments, e.g. ['ovs-appctl', '-t', '/run/x.ctl'] */
  appctl: string[];
  /** OVS_RUNDIR of the switch ('' = system default) */
  rundir?: string;
  /** datapath name for dpctl ('' = the only one), e.g. 'netdev@ovs-netdev' */
  datapath?: string;
  pollMs: number;
  activeTimeoutS: number;
  includeUnderlay?: boolean;
  /** observation hooks for logs and tests */
  onPoll?(info: { flows: number; tracked: number; emitted: number }): void;
  onError?(err: Error): void;
}

export interface OvsSourceStats {
  polls: number;
  pollErrors: number;
  lastError: string;
}

/** Builds the ovs-appctl argv for a rundir: its ovs-vswitchd.ctl when present. */
export function appctlCommand(appctl: string[], rundir: string): { argv: string[]; env: NodeJS.ProcessEnv } {
  const env = rundir ? { ...process.env, OVS_RUNDIR: rundir } : process.env;
  const ctl = rundir ? join(rundir, 'ovs-vswitchd.ctl') : '';
  const hasTarget = appctl.includes('-t') || appctl.some((a) => a.startsWith('--target'));
  return { argv: ctl && !hasTarget && existsSync(ctl) ? [...appctl, '-t', ctl] : [...appctl], env };
}

function runAppctl(cmd: { argv: string[]; env: NodeJS.ProcessEnv }, args: string[]): Promise<string> {
  const [bin, ...pre] = cmd.argv;
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      [...pre, ...args],
      { env: cmd.env, maxBuffer: 256 * 1024 * 1024, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${cmd.argv.join(' ')} ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

export function createOvsSource(opts: OvsSourceOptions): FlowSource & { stats(): OvsSourceStats } {
  const cmd = appctlCommand(opts.appctl, opts.rundir ?? '');
  const stats: OvsSourceStats = { polls: 0, pollErrors: 0, lastError: '' };
  let ports = new Map<string, number>();

  async function refreshPorts() {
    try {
      ports = parseDpctlShowPorts(
        await runAppctl(cmd, ['dpctl/show', ...(opts.datapath ? [opts.datapath] : [])]),
      );
    } catch {
      // keep the old map: in_if/out_if of flows on unknown ports stay 0
    }
  }

  return {
    name: 'ovs',
    stats: () => ({ ...stats }),
    async run(ctx: SourceContext) {
      const tracker = createFlowTracker({ activeTimeoutMs: opts.activeTimeoutS * 1000 });
      await refreshPorts();
      const dumpArgs = ['dpctl/dump-flows', '-m', ...(opts.datapath ? [opts.datapath] : [])];
      while (!ctx.signal.aborted) {
        const started = Date.now();
        let text: string | null = null;
        try {
          text = await runAppctl(cmd, dumpArgs);
        } catch (err) {
          stats.pollErrors += 1;
          stats.lastError = (err as Error).message;
          opts.onError?.(err as Error);
        }
        if (text !== null && !ctx.signal.aborted) {
          stats.polls += 1;
          const flows = parseDpctlDump(text);
          let unknown = false;
          const ended = tracker.update(flows, Date.now(), (f) => {
            const m = mapDpFlow(f, ports);
            if (m.unknownPorts.length) unknown = true;
            if (!m.ip || (m.underlay && !opts.includeUnderlay)) return null;
            return m;
          });
          if (ended.length) ctx.emit(ended);
          opts.onPoll?.({ flows: flows.length, tracked: tracker.size, emitted: ended.length });
          if (unknown) await refreshPorts();
        }
        await sleep(Math.max(0, opts.pollMs - (Date.now() - started)), ctx.signal);
      }
      // stopping: one last dump so the counters are current, then end every record
      try {
        const flows = parseDpctlDump(await runAppctl(cmd, dumpArgs));
        const ended = tracker.update(flows, Date.now(), (f) => {
          const m = mapDpFlow(f, ports);
          return !m.ip || (m.underlay && !opts.includeUnderlay) ? null : m;
        });
        if (ended.length) ctx.emit(ended);
      } catch (err) {
        opts.onError?.(err as Error);
      }
      const rest = tracker.flushAll(Date.now());
      if (rest.length) ctx.emit(rest);
    },
  };
}

/** Waits ms, or less when the signal aborts (never rejects). */
const sleep = (ms: number, signal: AbortSignal): Promise<unknown> =>
  delay(ms, undefined, { signal }).catch(() => undefined);
