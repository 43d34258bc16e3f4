import type { Command } from 'commander';
import { startEmbedded } from '../../storage/src/server.ts';
import { configFor } from '../context.ts';
import { createLogger } from '../../common/logger.ts';

export function register(program: Command): void {
  program
    .command('clickhouse')
    .description(
      'run the embedded ClickHouse server in the foreground (loopback only, data in clickhouse.dataDir) ' +
        'until interrupted; other vxflow commands started meanwhile reuse it',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const config = configFor(cmd);
      const log = createLogger(config.logLevel, 'clickhouse');
      const c = config.clickhouse;
      const srv = await startEmbedded({
        dataDir: c.dataDir,
        httpPort: c.httpPort,
        tcpPort: c.tcpPort,
        binary: c.binary || undefined,
        log: (m) => log.info(m),
      });
      log.info(`ClickHouse answers on ${srv.url}; press Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await srv.stop();
    });
}
