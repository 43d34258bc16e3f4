import type { Command } from 'commander';
import { stringify } from 'yaml';
import { configFor } from '../context.ts';

export function register(program: Command): void {
  program
    .command('config')
    .description(
      'validate the configuration (file, VXFLOW_* environment, CLICKHOUSE_URL) and print the effective result as YAML',
    )
    .option('--check', 'only validate: print nothing and exit 0 when the configuration is valid')
    .action((opts: { check?: boolean }, cmd: Command) => {
      const config = configFor(cmd);
      if (!opts.check) process.stdout.write(stringify(config));
    });
}
