/**
 * `vxflow collector`: receive NetFlow v5/v9 and IPFIX (UDP, and IPFIX over TCP), enrich
 * with tenants, store in ClickHouse and/or write JSON lines / protobuf. SIGTERM and SIGINT
 * flush every queue (to ClickHouse, else to the spool) before the process exits.
 */
import type { Command } from 'commander';
import { configFor } from '../context.ts';
import { UserError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createCollector } from '../../collector/src/collector.ts';

interface Flags {
  listen?: string[];
  output?: string[];
  clickhouse: boolean;
  inventory?: string;
  metricsListen?: string;
  stateDir?: string;
  workers?: string;
  check?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('collector')
    .description('receive NetFlow v5/v9 and IPFIX, enrich with tenants, store in ClickHouse')
    .option(
      '--listen <url>',
      'udp://ADDR:PORT or tcp://ADDR:PORT, repeatable (replaces the defaults udp://[::]:2055 and udp://[::]:4739)',
      collect,
    )
    .option(
      '--output <spec>',
      "clickhouse (default), jsonl:PATH ('-' = stdout) or protobuf:PATH; repeatable",
      collect,
    )
    .option('--no-clickhouse', 'do not store in ClickHouse (file outputs only)')
    .option('--inventory <file>', 'tenant inventory YAML (reloaded on change)')
    .option('--metrics-listen <host:port>', "where /metrics and /healthz listen ('' = off)")
    .option('--state-dir <dir>', 'where templates.json and the spool live')
    .option('--workers <n>', 'decode worker threads (0 = one per core)')
    .option('--check', 'validate the configuration and exit')
    .action(async (flags: Flags, cmd: Command) => {
      const collectorOverrides: Record<string, unknown> = {};
      if (flags.listen) collectorOverrides.listen = flags.listen;
      let outputs = flags.output;
      if (!flags.clickhouse) {
        outputs = (outputs ?? []).filter((o) => o !== 'clickhouse');
        if (outputs.length === 0)
          throw new UserError(
            '--no-clickhouse leaves no output',
            'add --output jsonl:PATH or --output protobuf:PATH',
          );
      }
      if (outputs) collectorOverrides.outputs = outputs;
      if (flags.metricsListen !== undefined) collectorOverrides.metricsListen = flags.metricsListen;
      if (flags.stateDir) collectorOverrides.stateDir = flags.stateDir;
      if (flags.workers !== undefined) {
        if (!/^\d+$/.test(flags.workers) || Number(flags.workers) > 64)
          throw new UserError(
            `--workers: ${flags.workers} is not a whole number from 0 to 64 (0 = one per CPU core)`,
          );
        collectorOverrides.workers = Number(flags.workers);
      }
      const config = configFor(cmd, {
        collector: collectorOverrides,
        ...(flags.inventory !== undefined ? { inventory: flags.inventory } : {}),
      });
      // logs go to stderr: stdout may carry the JSON-lines output
      const log = createLogger(config.logLevel, 'collector');
      const collector = createCollector(
        { log },
        {
          config: config.collector,
          clickhouse: config.collector.outputs.includes('clickhouse') ? config.clickhouse : null,
          inventoryFile: config.inventory,
        },
      );
      if (flags.check) {
        collector.check();
        process.stderr.write('collector: configuration is valid\n');
        // nothing was started, but exit now rather than wait on anything creation left behind
        process.exit(0);
      }
      const boundMs = config.collector.shutdownTimeoutMs;
      let stopping: Promise<void> | undefined;
      const stop = (signal: string) => {
        if (stopping) return;
        log.info({ signal, boundMs }, 'signal received');
        // stop() bounds every step; this is the backstop should something still hang
        setTimeout(() => {
          log.error({ boundMs }, 'shutdown took longer than its bound: exiting now');
          process.exit(1);
        }, boundMs + 5000).unref();
        stopping = collector.stop().then(
          () => process.exit(0),
          (err: Error) => {
            log.error({ err: err.message }, 'stop failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      try {
        await collector.start();
      } catch (err) {
        // bind failures arrive as UserErrors naming the address and its flag (collector.ts)
        await collector.stop().catch(() => {});
        throw err;
      }
      // keep running until a signal arrives
      await new Promise<never>(() => {});
    });
}
