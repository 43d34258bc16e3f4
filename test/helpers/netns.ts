/**
 * Small, reusable pieces for tests that build networks out of Linux network namespaces:
 * running commands (optionally inside a namespace), unique short names (interface names are
 * limited to 15 characters and parallel test runs must not clash), a cleanup stack that runs
 * every step even when some fail, and a UDP sink that listens inside a namespace.
 *
 * Needs root (or CAP_NET_ADMIN) and iproute2; nothing here touches the host's own interfaces.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell) and resolves with its output; rejects with stderr on failure. */
export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<RunResult>((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || err.message}`, { cause: err }),
          );
        } else resolve({ stdout, stderr });
      },
    );
  });
}

/** Runs a program inside a network namespace. */
export function runIn(
  ns: string,
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv } = {},
) {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

let counter = 0;
/**
 * A short name unique to this process and call: prefix + base-36 pid + counter. Keep the
 * prefix short (≤ 5 characters) when the name is used for an interface.
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid.toString(36)}${counter.toString(36)}`;
}

/**
 * Cleanup steps run in reverse order of registration; every step runs even if an earlier one
 * throws, and the first error is rethrown at the end (so a broken teardown is not silent).
 */
export function cleanupStack() {
  const steps: { what: string; fn: () => unknown | Promise<unknown> }[] = [];
  return {
    defer(what: string, fn: () => unknown | Promise<unknown>) {
      steps.push({ what, fn });
    },
    async runAll(): Promise<void> {
      const errors: Error[] = [];
      while (steps.length) {
        const step = steps.pop()!;
        try {
          await step.fn();
        } catch (err) {
          errors.push(new Error(`cleanup "${step.what}": ${(err as Error).message}`));
        }
      }
      if (errors.length) throw errors[0];
    },
  };
}

/** Creates a network namespace with its loopback up; `delete()` removes it (idempotent). */
export async function createNetns(name: string) {
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  let deleted = false;
  return {
    name,
    exec: (cmd: string, args: readonly string[]) => runIn(name, cmd, args),
    async delete() {
      if (deleted) return;
      deleted = true;
      // kill anything still running inside, then remove the namespace
      const pids = await run('ip', ['netns', 'pids', name]).catch(() => ({ stdout: '' }));
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await run('ip', ['netns', 'delete', name]);
    },
  };
}
export type Netns = Awaited<ReturnType<typeof createNetns>>;

/** Creates a veth pair with each end placed directly in its namespace (undefined = this one). */
export async function createVeth(
  a: { name: string; ns?: string },
  b: { name: string; ns?: string },
): Promise<void> {
  const args = ['link', 'add', a.name];
  if (a.ns) args.push('netns', a.ns);
  args.push('type', 'veth', 'peer', 'name', b.name);
  if (b.ns) args.push('netns', b.ns);
  await run('ip', args);
}

export interface UdpSink {
  /** every datagram received so far, in arrival order */
  readonly datagrams: { data: Buffer; from: string; receivedMs: number }[];
  /** resolves once at least n datagrams arrived, or rejects after timeoutMs */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A UDP receiver listening on host:port inside a namespace (where the test's own process
 * cannot bind): a child `node` process inside the namespace prints each datagram as one
 * base64 line, which this side collects.
 */
export async function udpSinkInNetns(ns: string, host: string, port: number): Promise<UdpSink> {
  const script = `
    const s = require('node:dgram').createSocket(${JSON.stringify(host.includes(':') ? 'udp6' : 'udp4')});
    s.on('message', (m, r) => process.stdout.write(r.address + ' ' + m.toString('base64') + '\\n'));
    s.on('listening', () => process.stdout.write('LISTENING\\n'));
    s.bind(${port}, ${JSON.stringify(host)});
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  `;
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const datagrams: UdpSink['datagrams'] = [];
  const waiters = new Set<() => void>();
  let listening!: () => void;
  let failed!: (err: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    listening = res;
    failed = rej;
  });
  child.once('exit', (code) => failed(new Error(`udp sink in ${ns} exited early (code ${code})`)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'LISTENING') return listening();
    const [from, b64] = line.split(' ');
    datagrams.push({ data: Buffer.from(b64 ?? '', 'base64'), from: from ?? '', receivedMs: Date.now() });
    for (const w of waiters) w();
  });
  const timer = setTimeout(() => failed(new Error(`udp sink in ${ns} did not start`)), 10_000);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  return {
    datagrams,
    waitFor(n, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (datagrams.length >= n) {
            waiters.delete(check);
            clearTimeout(t);
            resolve();
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`udp sink: ${datagrams.length} of ${n} datagrams after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin?.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}
