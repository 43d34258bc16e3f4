import type { Command } from 'commander';
import { UserError } from '../../cli/errors.ts';

export function register(program: Command): void {
  program
    .command('exporter')
    .description('the exporter (not built yet)')
    .action(() => {
      throw new UserError('exporter: not built yet');
    });
}
