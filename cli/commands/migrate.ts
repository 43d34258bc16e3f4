import type { Command } from 'commander';
import { UserError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('migrate the schema (not built yet)')
    .action(() => {
      throw new UserError('migrate: not built yet');
    });
}
