/**
 * `vxflow dashboard`: the API and the web UI. `vxflow token …`: create, list and revoke
 * the tokens it accepts (DESIGN.md contract: `create` prints `id: ID` and then the token
 * alone on the last line of stdout).
 */
import type { Command } from 'commander';
import { configFor } from '../context.ts';
import { UserError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { connectClickHouse } from '../../storage/src/clickhouse.ts';
import { migrateAuto } from '../../storage/src/cluster-migrate.ts';
import { createTokenStore, TokenError } from '../../dashboard/src/auth/tokens.ts';
import { parseTime } from '../../dashboard/src/query/time-range.ts';
import { createDashboard, parseListen } from '../../dashboard/src/server.ts';

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('serve the dashboard: the API under /api/v1 (OpenAPI at /docs) and the web UI')
    .option('--listen <host:port>', 'where to listen (default 127.0.0.1:8080, dashboard.listen)')
    .option('--check', 'validate the configuration and exit')
    .addHelpText(
      'after',
      '\nMake a token first: vxflow token create --admin --name me\nThen: curl -H "Authorization: Bearer TOKEN" http://127.0.0.1:8080/api/v1/me',
    )
    .action(async (flags: { listen?: string; check?: boolean }, cmd: Command) => {
      const config = configFor(
        cmd,
        flags.listen !== undefined ? { dashboard: { listen: flags.listen } } : {},
      );
      try {
        parseListen(config.dashboard.listen);
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      if (flags.check) {
        process.stderr.write('dashboard: configuration is valid\n');
        return;
      }
      const log = createLogger(config.logLevel, 'dashboard');
      let dashboard: Awaited<ReturnType<typeof createDashboard>>;
      try {
        dashboard = await createDashboard(config, { log });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
          throw new UserError(
            `dashboard: cannot listen on ${config.dashboard.listen}: ${code}`,
            'pick another with --listen',
          );
        throw err;
      }
      log.info(
        { url: dashboard.url },
        `dashboard listening on ${dashboard.url} (API docs at ${dashboard.url}/docs)`,
      );
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping: finishing requests in flight');
        // a bound on shutdown: a stuck request must not keep the process alive
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        dashboard.stop().then(
          () => process.exit(0),
          (err: Error) => {
            log.error({ err: err.message }, 'stop failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      await new Promise<never>(() => {});
    });

  const token = program
    .command('token')
    .description('create, list and revoke dashboard tokens (stored hashed in ClickHouse)');

  async function withStore<T>(
    cmd: Command,
    fn: (store: ReturnType<typeof createTokenStore>) => Promise<T>,
  ): Promise<T> {
    const config = configFor(cmd);
    const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'token');
    const ch = await connectClickHouse(config.clickhouse, { log: (m) => log.info(m) });
    try {
      await migrateAuto(ch, { log: (m) => log.info(m) });
      return await fn(createTokenStore(ch));
    } catch (err) {
      if (err instanceof TokenError) throw new UserError(`token: ${err.message}`);
      throw err;
    } finally {
      await ch.close();
    }
  }

  token
    .command('create')
    .description('make a token; prints "id: ID", then the token alone on the last line (shown only once)')
    .option('--admin', 'an admin token: sees every tenant, manages tokens and the inventory')
    .option('--tenant <name>', 'a tenant token: sees only this tenant')
    .option('--name <label>', 'a label to recognise it by')
    .option('--expires <time>', 'expiry, ISO 8601 or Unix seconds (default: never)')
    .action(
      async (opts: { admin?: boolean; tenant?: string; name?: string; expires?: string }, cmd: Command) => {
        if (!!opts.admin === (opts.tenant !== undefined))
          throw new UserError('token create: give exactly one of --admin or --tenant NAME');
        let expires: Date | undefined;
        if (opts.expires !== undefined) {
          try {
            expires = new Date(parseTime('--expires', opts.expires) * 1000);
          } catch (err) {
            throw new UserError((err as Error).message);
          }
        }
        const made = await withStore(cmd, (store) =>
          store.create({
            role: opts.admin ? 'admin' : 'tenant',
            ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
            ...(opts.name !== undefined ? { name: opts.name } : {}),
            ...(expires ? { expires } : {}),
          }),
        );
        const scope = made.info.role === 'admin' ? 'admin' : `tenant ${made.info.tenant}`;
        process.stdout.write(`id: ${made.info.id}\nscope: ${scope}\n${made.token}\n`);
      },
    );

  token
    .command('list')
    .description('one line per token: id, label, scope, created, last used, expires')
    .option('--revoked', 'include revoked tokens')
    .action(async (opts: { revoked?: boolean }, cmd: Command) => {
      const list = await withStore(cmd, (store) => store.list({ includeRevoked: !!opts.revoked }));
      const rows = [
        ['ID', 'LABEL', 'SCOPE', 'CREATED', 'LAST USED', 'EXPIRES', ...(opts.revoked ? ['REVOKED'] : [])],
        ...list.map((t) => [
          t.id,
          t.name || '-',
          t.role === 'admin' ? 'admin' : `tenant:${t.tenant}`,
          t.created.slice(0, 19).replace('T', ' '),
          t.lastUsed ? t.lastUsed.slice(0, 19).replace('T', ' ') : 'never',
          t.expires ? t.expires.slice(0, 19).replace('T', ' ') : 'never',
          ...(opts.revoked ? [t.revoked ? 'yes' : 'no'] : []),
        ]),
      ];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows)
        process.stdout.write(
          `${r
            .map((c, i) => c.padEnd(widths[i]))
            .join('  ')
            .trimEnd()}\n`,
        );
    });

  token
    .command('revoke')
    .description('revoke a token: it and its browser sessions stop working within 5 s')
    .argument('<id>', 'the id that `token create` and `token list` print')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const done = await withStore(cmd, (store) => store.revoke(id));
      if (!done)
        throw new UserError(`token revoke: no active token with id ${id}`, 'vxflow token list shows them');
      process.stdout.write(`revoked ${id}\n`);
    });
}
