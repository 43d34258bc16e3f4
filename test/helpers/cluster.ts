/**
 * A real ClickHouse cluster on loopback for tests and benches: one ZooKeeper (Debian's
 * `zookeeper` package, run from its jar with a generated zoo.cfg, not the system service)
 * and three `clickhouse-server` processes forming cluster `vxflow`: shard 1 with replicas
 * ch1 and ch2, shard 2 with ch3. Each server is the embedded server of storage/src/server.ts
 * (same config.xml and users.xml) plus config.d / users.d files rendered from the
 * deployment templates in deploy/clickhouse/cluster/ (remote_servers, macros, zookeeper,
 * interserver, insert-sync), so the tests run the configuration the README documents.
 *
 *   const c = await startTestCluster();   // benches, scripts
 *   … c.node('ch3').stop() … c.connect('db') … c.config('db', 'ch2') …
 *   await c.stop();
 *
 * In a vitest file, useTestCluster() (test/helpers/use-test-cluster.ts) starts it in
 * beforeAll and stops it in afterAll. This module does not import vitest, so benches can
 * use it.
 *
 * Every process is stopped and the temp directory removed by stop() (afterAll), and, if the
 * process ends without it (a crash, a failed hook), by an exit handler.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { type ClickHouse, connectClickHouse } from '../../storage/src/clickhouse.ts';
import { ClickHouseConfig } from '../../storage/src/config.ts';
import { type EmbeddedServer, freePort, startEmbedded } from '../../storage/src/server.ts';

export const CLUSTER_NAME = 'vxflow';

const TEMPLATES = resolve(dirname(fileURLToPath(import.meta.url)), '../../deploy/clickhouse/cluster');
const ZOOKEEPER_JARS = ['/usr/share/java/zookeeper.jar'];

export interface ClusterNode {
  /** ch1, ch2, ch3: also its {replica} macro */
  name: string;
  /** its {shard} macro: 1 or 2 */
  shard: number;
  url: string;
  httpPort: number;
  tcpPort: number;
  interserverPort: number;
  dir: string;
  running: boolean;
  /** the server's process id while it runs (for CPU accounting from /proc) */
  pid(): number | undefined;
  /** stops the server (SIGTERM, waits for it to exit); its data stays */
  stop(): Promise<void>;
  /** starts it again on the same ports and data, and waits until it answers */
  start(): Promise<void>;
}

export interface ZooKeeperProcess {
  host: string;
  port: number;
  running: boolean;
  pid(): number | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface TestCluster {
  name: string;
  zookeeper: ZooKeeperProcess;
  /** ch1 (shard 1), ch2 (shard 1), ch3 (shard 2) */
  nodes: ClusterNode[];
  node(name: string): ClusterNode;
  /** a ClickHouse config (for connectClickHouse, a collector, a dashboard) on one node */
  config(database: string, node?: string): ClickHouseConfig;
  /** a connection to one node (default ch1); closed by stop() if still open */
  connect(database: string, node?: string): Promise<ClickHouse>;
  /** the temp directory with every process's data and logs */
  dir: string;
  /**
   * Restarts any process that should be running and is not (said on stderr): ClickHouse
   * 18.16 can die of a NULL pointer when its ZooKeeper session expires, which happens when
   * the 2 cores are starved. Tests that stop a node on purpose are not affected.
   */
  reviveDead(): Promise<void>;
  stop(): Promise<void>;
}

/** Fills ${NAME} fields; throws on a field with no value so a template change cannot go unnoticed. */
export function renderTemplate(text: string, values: Readonly<Record<string, string | number>>): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`cluster template field \${${k}} has no value`);
    return String(v);
  });
}

function template(file: string, values: Readonly<Record<string, string | number>>): string {
  return renderTemplate(readFileSync(join(TEMPLATES, file), 'utf8'), values);
}

async function zooKeeperAnswers(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('ruok'));
    s.on('data', (d) => {
      got += d.toString();
    });
    s.on('close', () => res(got === 'imok'));
  });
}

function startZooKeeper(dir: string, port: number, children: Set<ChildProcess>): ZooKeeperProcess {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
      'tickTime=500',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      // sessions of 1..20 s (2..40 ticks): ClickHouse asks for 30 s and gets 20
      'minSessionTimeout=1000',
      'maxSessionTimeout=20000',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok',
      'snapCount=10000',
      'preAllocSize=1024',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const zk: ZooKeeperProcess = {
    host: '127.0.0.1',
    port,
    running: false,
    pid: () => (child && child.exitCode === null ? child.pid : undefined),
    async start() {
      const jar = ZOOKEEPER_JARS.find((j) => existsSync(j));
      if (!jar)
        throw new Error(
          `ZooKeeper is not installed (${ZOOKEEPER_JARS.join(', ')} missing): run bash deploy/install-deps.sh`,
        );
      let log = '';
      child = spawn(
        'java',
        [
          // small and quick to start: one client, a few MB of data
          '-Xmx256m',
          '-Xss512k',
          '-XX:+UseSerialGC',
          '-XX:TieredStopAtLevel=1',
          '-Dzookeeper.admin.enableServer=false',
          '-cp',
          jar,
          'org.apache.zookeeper.server.ZooKeeperServerMain',
          cfg,
        ],
        { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.add(child);
      child.stderr?.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-4000);
      });
      const c = child;
      c.once('exit', () => {
        children.delete(c);
        zk.running = false;
      });
      const deadline = Date.now() + 30_000;
      while (!(await zooKeeperAnswers(port))) {
        if (c.exitCode !== null) throw new Error(`ZooKeeper exited with code ${c.exitCode}: ${log.trim()}`);
        if (Date.now() > deadline) throw new Error(`ZooKeeper did not answer on port ${port} within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      zk.running = true;
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const done = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    },
  };
  return zk;
}

/** Waits (at most 60 s) until a node can read ZooKeeper through its own session. */
async function zooKeeperSession(n: { name: string; url: string }): Promise<void> {
  const query = encodeURIComponent("SELECT count() FROM system.zookeeper WHERE path = '/'");
  const deadline = Date.now() + 60_000;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`${n.url}/?query=${query}`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return;
      last = (await res.text()).split('\n')[0];
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`test cluster: ${n.name} has no ZooKeeper session after 60 s: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A node that died under the tests (a full suite once saw one drop its connections in the
 * middle of an ON CLUSTER statement) leaves its reason only in its error log, which goes
 * with the temp directory: print the end of any log that names a fatal error or a signal.
 */
function reportCrashes(dir: string): void {
  for (const n of TOPOLOGY) {
    const file = join(dir, n.name, 'log', 'clickhouse-server.err.log');
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    if (!lines.some((l) => /<Fatal>|Received signal|Segmentation fault|std::bad_alloc/.test(l))) continue;
    process.stderr.write(`cluster harness: ${n.name} logged a fatal error; the end of its error log:\n`);
    process.stderr.write(`${lines.slice(-40).join('\n')}\n`);
  }
}

interface NodeSpec {
  name: string;
  shard: number;
}

const TOPOLOGY: readonly NodeSpec[] = [
  { name: 'ch1', shard: 1 },
  { name: 'ch2', shard: 1 },
  { name: 'ch3', shard: 2 },
];

/** Starts ZooKeeper and the three servers; everything goes on stop() or at process exit. */
export async function startTestCluster(opts: { log?: (msg: string) => void } = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'vxflow-cluster-'));
  const children = new Set<ChildProcess>();
  const servers = new Map<string, EmbeddedServer>();
  const connections = new Set<ClickHouse>();
  // last resort: a worker that exits without afterAll still takes its processes and files
  const onExit = () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped = false;

  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    for (const ch of connections) await ch.close().catch(() => {});
    await Promise.all([...servers.values()].map((s) => s.stop().catch(() => {})));
    await zk.stop().catch(() => {});
    for (const c of children) c.kill('SIGKILL');
    reportCrashes(dir);
    if (!process.env.VXFLOW_KEEP_CLUSTER) rmSync(dir, { recursive: true, force: true });
    process.removeListener('exit', onExit);
  };

  const zk = startZooKeeper(join(dir, 'zookeeper'), await freePort(), children);
  try {
    const ports = new Map<string, { http: number; tcp: number; interserver: number }>();
    for (const n of TOPOLOGY)
      ports.set(n.name, { http: await freePort(), tcp: await freePort(), interserver: await freePort() });
    const p = (name: string) => ports.get(name) as { http: number; tcp: number; interserver: number };
    const remoteServers = template('remote_servers.xml', {
      CLUSTER: CLUSTER_NAME,
      SHARD1_REPLICA1_HOST: '127.0.0.1',
      SHARD1_REPLICA1_PORT: p('ch1').tcp,
      SHARD1_REPLICA2_HOST: '127.0.0.1',
      SHARD1_REPLICA2_PORT: p('ch2').tcp,
      SHARD2_REPLICA1_HOST: '127.0.0.1',
      SHARD2_REPLICA1_PORT: p('ch3').tcp,
    });
    const zookeeperXml = template('zookeeper.xml', { ZK_HOST: zk.host, ZK_PORT: zk.port });
    const insertSync = template('insert-sync.xml', {});

    const nodes: ClusterNode[] = TOPOLOGY.map((spec) => {
      const nodeDir = join(dir, spec.name);
      const np = p(spec.name);
      const configD = join(nodeDir, 'etc', 'config.d');
      const usersD = join(nodeDir, 'etc', 'users.d');
      mkdirSync(configD, { recursive: true });
      mkdirSync(usersD, { recursive: true });
      writeFileSync(join(configD, 'remote_servers.xml'), remoteServers);
      writeFileSync(join(configD, 'zookeeper.xml'), zookeeperXml);
      writeFileSync(
        join(configD, 'macros.xml'),
        template('macros.xml', { SHARD: spec.shard, REPLICA: spec.name }),
      );
      writeFileSync(
        join(configD, 'interserver.xml'),
        template('interserver.xml', { INTERSERVER_HOST: '127.0.0.1', INTERSERVER_PORT: np.interserver }),
      );
      writeFileSync(join(usersD, 'insert-sync.xml'), insertSync);
      const node: ClusterNode = {
        name: spec.name,
        shard: spec.shard,
        url: `http://127.0.0.1:${np.http}`,
        httpPort: np.http,
        tcpPort: np.tcp,
        interserverPort: np.interserver,
        dir: nodeDir,
        running: false,
        pid() {
          if (!node.running) return undefined;
          try {
            return (JSON.parse(readFileSync(join(nodeDir, 'vxflow-server.json'), 'utf8')) as { pid: number })
              .pid;
          } catch {
            return undefined;
          }
        },
        async start() {
          if (node.running) return;
          const srv = await startEmbedded({
            dataDir: nodeDir,
            httpPort: np.http,
            tcpPort: np.tcp,
            startTimeoutMs: 60_000,
            log: opts.log,
          });
          servers.set(spec.name, srv);
          node.running = true;
        },
        async stop() {
          const srv = servers.get(spec.name);
          if (!srv) return;
          servers.delete(spec.name);
          node.running = false;
          await srv.stop();
        },
      };
      return node;
    });

    await zk.start();
    await Promise.all(nodes.map((n) => n.start()));
    // a node that answers HTTP may not have its ZooKeeper session yet, and ON CLUSTER
    // statements then fail (18.16 has died of it): wait until every node reads ZooKeeper
    await Promise.all(nodes.map((n) => zooKeeperSession(n)));
    const byName = (name: string): ClusterNode => {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`test cluster: no node ${name} (have ${nodes.map((x) => x.name).join(', ')})`);
      return n;
    };
    const config = (database: string, node = 'ch1'): ClickHouseConfig => ({
      ...(Value.Default(ClickHouseConfig, {}) as ClickHouseConfig),
      url: byName(node).url,
      database,
    });
    return {
      name: CLUSTER_NAME,
      zookeeper: zk,
      nodes,
      node: byName,
      config,
      async connect(database, node = 'ch1') {
        const ch = await connectClickHouse(config(database, node));
        connections.add(ch);
        const close = ch.close.bind(ch);
        ch.close = async () => {
          connections.delete(ch);
          await close();
        };
        return ch;
      },
      dir,
      async reviveDead() {
        const alive = (pid: number | undefined) => {
          if (pid === undefined) return false;
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        };
        if (zk.running && !alive(zk.pid())) {
          process.stderr.write('cluster harness: ZooKeeper had died: started again\n');
          await zk.stop().catch(() => {});
          await zk.start();
        }
        for (const n of nodes) {
          if (!n.running || alive(n.pid())) continue;
          process.stderr.write(`cluster harness: ${n.name} had died: started again\n`);
          servers.delete(n.name);
          n.running = false;
          await n.start();
          await zooKeeperSession(n);
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
