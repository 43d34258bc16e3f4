import type { Command } from 'commander';
import { UserError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('decode')
    .description('decode NetFlow/IPFIX captures to JSON lines (not built yet)')
    .argument('<file...>')
    .action(() => {
      throw new UserError('decode: not built yet');
    });
}
