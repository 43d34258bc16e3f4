import type { Command } from 'commander';
import { UserError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the demo (not built yet)')
    .action(() => {
      throw new UserError('demo: not built yet');
    });
}
