import type { Command } from 'commander';
import { UserError } from '../../cli/errors.ts';

export function register(program: Command): void {
  program
    .command('collector')
    .description('the collector (not built yet)')
    .action(() => {
      throw new UserError('collector: not built yet');
    });
}
