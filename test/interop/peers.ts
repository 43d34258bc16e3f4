/**
 * Running the real collectors for interop tests: free UDP ports, sending datagrams on
 * loopback, starting a daemon and stopping it (always, even when a test fails).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** A UDP port the kernel just handed out on 127.0.0.1 (free at the time of the call). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Sends each datagram to 127.0.0.1:port, one at a time, with a short pause between them. */
export async function sendAll(port: number, datagrams: readonly Buffer[]): Promise<void> {
  const s = dgram.createSocket('udp4');
  try {
    for (const d of datagrams) {
      await new Promise<void>((resolve, reject) =>
        s.send(d, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
      // loopback never drops, but the collector's socket buffer can: keep the pace gentle
      await sleep(2);
    }
  } finally {
    s.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Daemon {
  readonly proc: ChildProcess;
  output(): string;
  /** sends the signal and waits for exit (SIGKILL after timeoutMs) */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export function startDaemon(cmd: string, args: string[], cwd?: string): Daemon {
  const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null) resolve();
    proc.once('exit', () => resolve());
  });
  return {
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM', timeoutMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls until pred() holds or timeoutMs passes. */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(50);
  }
  return pred();
}

/** True when something listens on UDP port (per /proc/net/udp and udp6: nfacctd binds a v6 socket). */
export async function udpListening(port: number): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const table = await readFile(file, 'utf8').catch(() => '');
    // "  sl  local_address …": the local address is the field after "N:"
    if (table.split('\n').some((line) => /^\s*\d+:\s+\S+/.exec(line)?.[0].endsWith(hex))) return true;
  }
  return false;
}
