/**
 * The embedded ClickHouse: with no URL configured, vxflow runs its own `clickhouse-server`
 * on loopback with data under a project-local directory, waits until it answers, and stops
 * it on exit. A second start reuses the data; a server already started by another vxflow
 * process on the same directory (pid file + ping) is reused and left running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { UserError } from '../../common/errors.ts';

export interface EmbeddedOptions {
  dataDir: string;
  httpPort: number;
  tcpPort: number;
  binary?: string;
  /** how long to wait for the server to answer (ms) */
  startTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface EmbeddedServer {
  url: string;
  /** the server was started by this process (and stop() will stop it) */
  owned: boolean;
  stop(): Promise<void>;
}

export const INSTALL_HINT =
  'install it with `bash deploy/install-deps.sh` (Debian: apt-get install clickhouse-server), ' +
  'or point vxflow at an existing server with CLICKHOUSE_URL=http://host:8123 (or clickhouse.url in the config file)';

const CANDIDATES = [
  '/usr/bin/clickhouse-server',
  '/usr/sbin/clickhouse-server',
  '/usr/local/bin/clickhouse-server',
];

export function findClickHouseBinary(explicit?: string, candidates: readonly string[] = CANDIDATES): string {
  if (explicit) {
    if (!isExecutable(explicit))
      throw new UserError(`clickhouse.binary: ${explicit} is not an executable file`, INSTALL_HINT);
    return explicit;
  }
  const fromPath = (process.env.PATH ?? '').split(':').map((d) => join(d, 'clickhouse-server'));
  for (const p of [...fromPath, ...candidates]) if (isExecutable(p)) return p;
  // newer releases ship one `clickhouse` binary with a `server` mode
  for (const d of [
    ...(process.env.PATH ?? '').split(':'),
    ...candidates.map((c) => c.replace(/\/[^/]+$/, '')),
  ]) {
    const p = join(d, 'clickhouse');
    if (isExecutable(p)) return p;
  }
  throw new UserError('clickhouse-server was not found (needed for the embedded ClickHouse)', INSTALL_HINT);
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function ping(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return r.ok && (await r.text()).startsWith('Ok');
  } catch {
    return false;
  }
}

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  // Only what 18.16 needs and current releases accept; loopback only.
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/log/clickhouse-server.log</log>
    <errorlog>${dir}/log/clickhouse-server.err.log</errorlog>
    <size>100M</size>
    <count>3</count>
  </logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>512</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>536870912</mark_cache_size>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/etc/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <max_table_size_to_drop>0</max_table_size_to_drop>
  <max_partition_size_to_drop>0</max_partition_size_to_drop>
  <!-- zstd for parts of 16 MiB and more: the ones merges write, so data at rest takes
       about 20 bytes per realistic flow instead of about 46 with LZ4, while inserts (smaller
       parts) keep LZ4's lower CPU (bench/storage.bench.ts measures both) -->
  <compression>
    <case>
      <min_part_size>16777216</min_part_size>
      <min_part_size_ratio>0</min_part_size_ratio>
      <method>zstd</method>
    </case>
  </compression>
</yandex>
`;
}

/**
 * The read-only SQL user's profile (POST /api/v1/sql). readonly=1 forbids writes, SET and
 * table functions, and accepts a per-query setting only when it equals the profile's value,
 * so the dashboard sends exactly these (its sqlLimits defaults) and a query cannot raise
 * them. readonly=2 is not an option on 18.16: it lets url() run and SETTINGS raise limits.
 * Predicate pushdown (off by default on 18.16) lets the tenant wrapper's WHERE meet the
 * user's. deploy/clickhouse/users.d/vxflow-ro.xml carries the same profile for your own
 * server (a test keeps them equal).
 */
export const SQL_READONLY_PROFILE = {
  readonly: 1,
  max_execution_time: 10,
  max_memory_usage: 2_000_000_000,
  max_result_rows: 100_000,
  max_result_bytes: 100_000_000,
  result_overflow_mode: 'break',
  enable_optimize_predicate_expression: 1,
} as const;

export function readonlyProfileSettingsXml(indent: string): string {
  return Object.entries(SQL_READONLY_PROFILE)
    .map(([k, v]) => `${indent}<${k}>${v}</${k}>`)
    .join('\n');
}

/** Users: `default` for vxflow itself (loopback only), `vxflow_ro` for read-only SQL with limits. */
export function usersXml(): string {
  return `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
    <readonly>
${readonlyProfileSettingsXml('      ')}
    </readonly>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <vxflow_ro>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>readonly</profile>
      <quota>default</quota>
    </vxflow_ro>
  </users>
  <quotas>
    <default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default>
  </quotas>
</yandex>
`;
}

interface PidFile {
  pid: number;
  httpPort: number;
  tcpPort: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = opts.log ?? (() => {});
  const dir = resolve(opts.dataDir);
  const pidPath = join(dir, 'vxflow-server.json');
  if (existsSync(pidPath)) {
    try {
      const prev = JSON.parse(readFileSync(pidPath, 'utf8')) as PidFile;
      const url = `http://127.0.0.1:${prev.httpPort}`;
      if (alive(prev.pid) && (await ping(url))) {
        log(`reusing the embedded ClickHouse already running on ${url} (pid ${prev.pid})`);
        return { url, owned: false, stop: async () => {} };
      }
    } catch {
      // a stale or unreadable pid file: start afresh
    }
    rmSync(pidPath, { force: true });
  }
  const binary = findClickHouseBinary(opts.binary);
  const httpPort = opts.httpPort || (await freePort());
  const tcpPort = opts.tcpPort || (await freePort());
  for (const sub of ['etc', 'data', 'tmp', 'log', 'user_files', 'format_schemas']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  const configPath = join(dir, 'etc', 'config.xml');
  writeFileSync(configPath, configXml(dir, httpPort, tcpPort));
  writeFileSync(join(dir, 'etc', 'users.xml'), usersXml());
  const args = binary.endsWith('/clickhouse')
    ? ['server', `--config-file=${configPath}`]
    : [`--config-file=${configPath}`];
  const url = `http://127.0.0.1:${httpPort}`;
  if (await ping(url)) {
    throw new UserError(
      `clickhouse.httpPort ${httpPort}: another server already answers there`,
      'choose another port (clickhouse.httpPort, 0 = any free port) or set CLICKHOUSE_URL to use that server',
    );
  }
  log(`starting the embedded ClickHouse (${binary}) on ${url}, data in ${dir}`);
  const child: ChildProcess = spawn(binary, args, {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: false,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  while (!(await ping(url))) {
    if (exited !== null) {
      const errLog = join(dir, 'log', 'clickhouse-server.err.log');
      const tail = existsSync(errLog) ? readFileSync(errLog, 'utf8').split('\n').slice(-5).join('\n') : '';
      throw new UserError(
        `the embedded ClickHouse exited with code ${exited} before answering`,
        `see ${errLog}\n${(stderr || tail).trim()}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new UserError(
        `the embedded ClickHouse did not answer on ${url} within ${opts.startTimeoutMs ?? 60_000} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  writeFileSync(pidPath, JSON.stringify({ pid: child.pid ?? 0, httpPort, tcpPort } satisfies PidFile));
  // If we die without stop(), take the server with us.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  return {
    url,
    owned: true,
    stop: async () => {
      process.removeListener('exit', onExit);
      if (exited !== null) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
      rmSync(pidPath, { force: true });
      log('stopped the embedded ClickHouse');
    },
  };
}
