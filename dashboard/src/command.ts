import type { Command } from 'commander';
import { UserError } from '../../cli/errors.ts';

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('the dashboard (not built yet)')
    .action(() => {
      throw new UserError('dashboard: not built yet');
    });
}
