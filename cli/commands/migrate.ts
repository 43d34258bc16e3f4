import type { Command } from 'commander';
import { connectClickHouse } from '../../storage/src/clickhouse.ts';
import { migrate } from '../../storage/src/migrations.ts';
import { applyRetention } from '../../storage/src/retention.ts';
import { configFor } from '../context.ts';
import { createLogger } from '../../common/logger.ts';

export function register(program: Command): void {
  program
    .command('migrate')
    .description(
      'create or update the ClickHouse schema (database, flows table, rollups, exporters); idempotent. ' +
        'Uses CLICKHOUSE_URL / clickhouse.url, else starts the embedded server for the run.',
    )
    .option('--retention', 'also drop partitions older than clickhouse.retentionDays')
    .action(async (opts: { retention?: boolean }, cmd: Command) => {
      const config = configFor(cmd);
      const log = createLogger(config.logLevel, 'migrate');
      const ch = await connectClickHouse(config.clickhouse, { log: (m) => log.info(m) });
      try {
        log.info(`ClickHouse ${ch.version} at ${ch.url}, database ${ch.database}`);
        const result = await migrate(ch, { log: (m) => log.info(m) });
        log.info(
          `migrations applied: ${result.applied.length ? result.applied.join(', ') : 'none'}; columns added: ${
            result.addedColumns.length ? result.addedColumns.join(', ') : 'none'
          }`,
        );
        if (opts.retention) {
          const dropped = await applyRetention(ch, config.clickhouse.retentionDays, {
            log: (m) => log.info(m),
          });
          log.info(`retention: ${dropped.length} partition(s) dropped`);
        }
      } finally {
        await ch.close();
      }
    });
}
