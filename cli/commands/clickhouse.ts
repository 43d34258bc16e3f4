import type { Command } from 'commander';
import { UserError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('clickhouse')
    .description('run the embedded ClickHouse server (not built yet)')
    .action(() => {
      throw new UserError('clickhouse: not built yet');
    });
}
