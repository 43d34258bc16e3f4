/**
 * `vxflow`: one program, one subcommand per part. cli/ owns the command line: every
 * subcommand's registration lives in cli/commands/ (flags → configuration → the part's plain
 * factory: createCollector, createExporter, createDashboard), config loading in config.ts
 * and context.ts. No part imports cli/. This file only assembles the subcommands and turns
 * user errors into one line.
 */
import { Command, CommanderError } from 'commander';
import { register as registerCollector } from './commands/collector.ts';
import { register as registerDashboard } from './commands/dashboard.ts';
import { register as registerExporter } from './commands/exporter.ts';
import { ConfigError } from './config.ts';
import { register as registerDecode } from './commands/decode.ts';
import { register as registerDemo } from './commands/demo.ts';
import { register as registerMigrate } from './commands/migrate.ts';
import { register as registerRollup } from './commands/rollup.ts';
import { register as registerClickhouse } from './commands/clickhouse.ts';
import { register as registerConfig } from './commands/config.ts';
import { UserError } from '../common/errors.ts';
import { VERSION } from '../common/version.ts';

// `--version` belongs to subcommands too (`vxflow exporter --version 10`), so the program's
// own version is answered only as the first argument.
if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`${VERSION}\n`);
  process.exit(0);
}

const program = new Command('vxflow')
  .description(
    'Overlay-aware, multi-tenant flow telemetry: NetFlow v9/IPFIX/v5 export, collection, storage, dashboard',
  )
  .option(
    '-c, --config <file>',
    'YAML configuration file (default: $VXFLOW_CONFIG, else ./vxflow.yaml if present)',
  )
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
  .addHelpText('after', `\nvxflow ${VERSION}: \`vxflow --version\` prints the version.`)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

for (const register of [
  registerDemo,
  registerCollector,
  registerExporter,
  registerDashboard,
  registerDecode,
  registerMigrate,
  registerRollup,
  registerClickhouse,
  registerConfig,
]) {
  register(program);
}
for (const cmd of program.commands) cmd.exitOverride();

function fail(message: string, hint?: string): never {
  process.stderr.write(`vxflow: ${message}\n`);
  if (hint) process.stderr.write(`vxflow: ${hint}\n`);
  process.exit(2);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode);
  }
  if (err instanceof ConfigError) fail(err.message);
  if (err instanceof UserError) fail(err.message, err.hint);
  // ClickHouse refusing a request (authentication, permissions, a full disk) is the user's
  // to fix, and its message says what: one line, no stack
  if (err instanceof Error && err.name === 'ClickHouseQueryError') fail(`ClickHouse: ${err.message}`);
  throw err;
}
