import type { Command } from 'commander';
import { connectClickHouse } from '../../storage/src/clickhouse.ts';
import { checkClusterName, migrateAuto, migrateCluster } from '../../storage/src/cluster-migrate.ts';
import { applyClusterRetention } from '../../storage/src/cluster-retention.ts';
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
    .option(
      '--cluster <name>',
      'create the schema ON CLUSTER <name> (a cluster in remote_servers, with ZooKeeper/Keeper and ' +
        '{shard}/{replica} macros on every node; see deploy/clickhouse/cluster/): flow tables as ' +
        '<table>_local (Replicated*MergeTree, one per shard) under Distributed tables of the usual ' +
        'names, every other table replicated to every node. Run it against any one node; with ' +
        '--retention, partitions are dropped on every shard',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  vxflow migrate\n  CLICKHOUSE_URL=http://ch1:8123 vxflow migrate --cluster vxflow\n  CLICKHOUSE_URL=http://ch1:8123 vxflow migrate --cluster vxflow --retention\n',
    )
    .action(async (opts: { retention?: boolean; cluster?: string }, cmd: Command) => {
      if (opts.cluster !== undefined) checkClusterName(opts.cluster);
      const config = configFor(cmd);
      const log = createLogger(config.logLevel, 'migrate');
      const ch = await connectClickHouse(config.clickhouse, { log: (m) => log.info(m) });
      try {
        log.info(`ClickHouse ${ch.version} at ${ch.url}, database ${ch.database}`);
        const result =
          opts.cluster !== undefined
            ? await migrateCluster(ch, opts.cluster, { log: (m) => log.info(m) })
            : await migrateAuto(ch, { log: (m) => log.info(m) });
        log.info(
          `migrations applied: ${result.applied.length ? result.applied.join(', ') : 'none'}; columns added: ${
            result.addedColumns.length ? result.addedColumns.join(', ') : 'none'
          }`,
        );
        if (opts.retention) {
          const retentionLog = { log: (m: string) => log.info(m) };
          const dropped =
            opts.cluster !== undefined
              ? await applyClusterRetention(ch, opts.cluster, config.clickhouse.retentionDays, retentionLog)
              : await applyRetention(ch, config.clickhouse.retentionDays, retentionLog);
          log.info(`retention: ${dropped.length} partition(s) dropped`);
        }
      } finally {
        await ch.close();
      }
    });
}
