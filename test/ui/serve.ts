/**
 * For working on the UI: an embedded ClickHouse in a temp directory with the fixture's
 * flows, and the dashboard on 127.0.0.1:${PORT:-8090}. Prints sign-in links, runs until Ctrl-C.
 *   node bin/run-ts.js test/ui/serve.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { connectClickHouse } from '../../storage/src/clickhouse.ts';
import { ClickHouseConfig } from '../../storage/src/config.ts';
import { migrate } from '../../storage/src/migrations.ts';
import { startEmbedded } from '../../storage/src/server.ts';
import { startUiDashboard } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'vxflow-ui-dev-'));
const server = await startEmbedded({ dataDir: dir, httpPort: 0, tcpPort: 0 });
const ch = await connectClickHouse({
  ...(Value.Default(ClickHouseConfig, {}) as ClickHouseConfig),
  url: server.url,
  database: 'uidev',
});
await migrate(ch);
const ui = await startUiDashboard(ch);
await ui.app.close();
// listen again on a fixed port for the browser
const { buildDashboardApp } = await import('../../dashboard/src/server.ts');
const { DashboardConfig } = await import('../../dashboard/src/config.ts');
const config = Value.Default(DashboardConfig, {}) as import('../../dashboard/src/config.ts').DashboardConfig;
config.rateLimit.perMinute = 100_000;
const { pino } = await import('pino');
const app = await buildDashboardApp({ ch, config }, { logger: pino({ level: 'warn' }) });
const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 8090) });
console.log(`dashboard ${url}  (ClickHouse ${server.url})`);
console.log(`admin  ${url}/#login=${ui.tokens.admin}`);
console.log(`acme   ${url}/#login=${ui.tokens.acme}`);
console.log(`globex ${url}/#login=${ui.tokens.globex}`);
console.log(`range  from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z`);
const stop = async () => {
  await app.close();
  await ch.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
