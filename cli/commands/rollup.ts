/**
 * `vxflow rollup --since TIME [--until TIME] [--dry-run]`: the backfill that brings rows
 * another tool inserted into `flows` into flows_1m / flows_5m / flows_1h
 * (storage/src/rollup-backfill.ts). Since migration 5 the collector sends its own rollup
 * rows, and ClickHouse no longer rolls up what is inserted into flows.
 */
import type { Command } from 'commander';
import { UserError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { connectClickHouse } from '../../storage/src/clickhouse.ts';
import { migrateAuto } from '../../storage/src/cluster-migrate.ts';
import { type BackfillStep, backfillRollups } from '../../storage/src/rollup-backfill.ts';
import { configFor } from '../context.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A time option: ISO 8601, Unix seconds, or a span back from now (`90m`, `36h`, `2d`); Unix seconds out. */
export function parseTimeOption(option: string, value: string, nowSec: number): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const span = /^(\d+)([smhd])$/.exec(v);
  if (span) return nowSec - Number(span[1]) * UNIT_SECONDS[span[2]];
  const ms = Date.parse(v);
  if (/^\d{4}-\d{2}-\d{2}/.test(v) && Number.isFinite(ms)) return Math.floor(ms / 1000);
  throw new UserError(
    `${option} ${JSON.stringify(value)}: not a time`,
    'use ISO 8601 (2026-12-06T10:00:00Z), Unix seconds, or a span back from now (90m, 36h, 2d)',
  );
}

const fmt = (n: number) => n.toLocaleString('en-US');
const day = (sec: number) => new Date(sec * 1000).toISOString().slice(0, 10);
const hhmm = (sec: number) => new Date(sec * 1000).toISOString().slice(11, 16);

function describe(s: BackfillStep, dryRun: boolean): string {
  const span = `${day(s.fromSec)} ${hhmm(s.fromSec)}–${s.toSec % 86_400 === 0 ? '24:00' : hhmm(s.toSec)} UTC`;
  if (s.rows === 0) return `${span}: nothing missing (${s.ms} ms)`;
  const what = `${fmt(s.flows)} flows, ${fmt(s.bytes)} bytes, ${fmt(s.packets)} packets in ${fmt(s.rows)} rollup rows`;
  return `${span}: ${what} ${dryRun ? 'missing (dry run: nothing written)' : 'added'} (${s.ms} ms)`;
}

export function register(program: Command): void {
  program
    .command('rollup')
    .description(
      'add to the rollups (flows_1m, flows_5m, flows_1h) the rows of flows that reached it without the ' +
        'collector: another tool inserting into flows, a bulk load, an older collector still running after ' +
        'the upgrade. The collector rolls up its own rows, so this is never needed for them. Safe to repeat: ' +
        'per minute and rollup key it adds only what flows has and flows_1m lacks, so a second run over the ' +
        'same time adds nothing, and rows the collector rolled up are never added twice. One line per day.',
    )
    .requiredOption('--since <time>', 'start: ISO 8601, Unix seconds, or a span back from now (2d, 36h, 90m)')
    .option('--until <time>', 'end (exclusive), same forms (default: now)')
    .option('--dry-run', 'only report what is missing, write nothing')
    .addHelpText(
      'after',
      '\nTimes are rounded out to whole minutes. Days older than clickhouse.retentionDays.flows_1m are refused:\n' +
        'their 1-minute rollup is gone, so what flows_5m and flows_1h already hold would be added again.\n' +
        'Example: vxflow rollup --since 2026-12-01T00:00:00Z --until 2026-12-02T00:00:00Z',
    )
    .action(async (opts: { since: string; until?: string; dryRun?: boolean }, cmd: Command) => {
      const config = configFor(cmd);
      const log = createLogger(config.logLevel, 'rollup');
      const nowSec = Math.floor(Date.now() / 1000);
      const fromSec = parseTimeOption('--since', opts.since, nowSec);
      const toSec = opts.until === undefined ? nowSec + 60 : parseTimeOption('--until', opts.until, nowSec);
      if (toSec <= fromSec)
        throw new UserError(`--until ${opts.until ?? '(now)'} is not after --since ${opts.since}`);
      const keepDays = config.clickhouse.retentionDays.flows_1m;
      const oldest = (Math.floor(nowSec / 86_400) - keepDays + 1) * 86_400;
      if (fromSec < oldest)
        throw new UserError(
          `--since ${opts.since} is before ${day(oldest)}: clickhouse.retentionDays.flows_1m (${keepDays}) has dropped the 1-minute rollup of older days`,
          `use --since ${day(oldest)} or later`,
        );
      const ch = await connectClickHouse(config.clickhouse, { log: (m) => log.info(m) });
      try {
        await migrateAuto(ch, { log: (m) => log.info(m) });
        console.log(
          `${opts.dryRun ? 'looking for' : 'adding'} rows of ${ch.database}.flows missing from the rollups, ${day(fromSec)} ${hhmm(fromSec)} to ${day(toSec)} ${hhmm(toSec)} UTC`,
        );
        const steps = await backfillRollups(
          ch,
          { fromSec, toSec },
          { dryRun: opts.dryRun, onStep: (s) => console.log(describe(s, opts.dryRun ?? false)) },
        );
        const flows = steps.reduce((n, s) => n + s.flows, 0);
        console.log(
          flows === 0
            ? 'done: the rollups had every flow of the range'
            : `done: ${fmt(flows)} flows ${opts.dryRun ? 'missing (dry run)' : 'added to the rollups'}`,
        );
      } finally {
        await ch.close();
      }
    });
}
