/**
 * `vxflow decode …` started on its own (bin/vxflow.js picks this entry when `decode` is the
 * first argument): the same command as through cli/main.ts, without loading every other
 * command's dependencies (the dashboard's web server, the ClickHouse client…), which took
 * 0.6 CPU seconds at each start, longer than decoding a 100,000-flow capture.
 */
import { Command, CommanderError } from 'commander';
import { register } from './commands/decode.ts';
import { UserError } from '../common/errors.ts';

const program = new Command('vxflow')
  .option(
    '-c, --config <file>',
    'YAML configuration file (default: $VXFLOW_CONFIG, else ./vxflow.yaml if present)',
  )
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
register(program);
for (const cmd of program.commands) cmd.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof UserError) {
    process.stderr.write(`vxflow: ${err.message}\n`);
    if (err.hint) process.stderr.write(`vxflow: ${err.hint}\n`);
    process.exit(2);
  }
  throw err;
}
