/**
 * Runs a real collector in the test process (its decode workers are real threads, its
 * sockets real loopback sockets) and feeds it real NetFlow/IPFIX from our encoders.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { type Logger, pino } from 'pino';
import { type Collector, createCollector } from '../../collector/src/collector.ts';
import { CollectorConfig } from '../../collector/src/config.ts';
import { createFlowEncoder } from '../../protocol/src/encode/index.ts';
import { emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import type { ClickHouseConfig } from '../../storage/src/config.ts';

export function tempDir(tag: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `vxflow-${tag}-${process.pid}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startCollector(opts: {
  stateDir: string;
  clickhouse: ClickHouseConfig | null;
  config?: Partial<CollectorConfig>;
  inventoryFile?: string;
  /** where the collector logs (default: silent, or VXFLOW_TEST_LOG's level to stdout) */
  log?: Logger;
}): Promise<Collector & { udpPort: number }> {
  const config = Value.Default(
    CollectorConfig,
    Value.Clone({
      listen: ['udp://127.0.0.1:0'],
      metricsListen: '',
      workers: 2,
      batchMaxWaitMs: 200,
      outputs: opts.clickhouse ? ['clickhouse'] : [],
      ...opts.config,
      stateDir: opts.stateDir,
    }),
  ) as CollectorConfig;
  const c = createCollector(
    { log: opts.log ?? pino({ level: process.env.VXFLOW_TEST_LOG ?? 'silent' }) },
    { config, clickhouse: opts.clickhouse, inventoryFile: opts.inventoryFile ?? '' },
  );
  try {
    await c.start();
  } catch (err) {
    await c.stop().catch(() => {});
    throw err;
  }
  const udpPort = c.listeners.find((l) => l.transport === 'udp')?.port ?? 0;
  return Object.assign(c, { udpPort });
}

/** n distinct flows; bytes = 1000 + i and packets = 1 + (i % 7), so sums are known */
export function makeFlows(n: number, base: Partial<FlowRecord> = {}, seed = 0): FlowRecord[] {
  const now = Date.now();
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = emptyFlow();
    Object.assign(r, {
      flow_start: now - 2000,
      flow_end: now - 1000,
      src_addr: `10.0.${(i >> 8) & 255}.${i & 255}`,
      dst_addr: '10.0.0.2',
      src_port: 1024 + ((i + seed) % 60000),
      dst_port: 443,
      proto: 6,
      bytes: 1000 + i,
      packets: 1 + (i % 7),
      ...base,
    });
    out.push(r);
  }
  return out;
}

export const expectedBytes = (n: number) => n * 1000 + (n * (n - 1)) / 2;

export function encoder(version: 5 | 9 | 10, observationDomain = 1) {
  return createFlowEncoder({
    version,
    observationDomain,
    bootTimeMs: Date.now() - 60_000,
    templateRefreshPackets: 1e9,
    templateRefreshMs: 1e9,
  });
}

/** Sends datagrams from one socket (one exporter address + port), paced to avoid kernel drops. */
export async function sendAll(port: number, datagrams: Buffer[], host = '127.0.0.1'): Promise<void> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    for (let i = 0; i < datagrams.length; i++) {
      await new Promise<void>((res, rej) => s.send(datagrams[i], port, host, (e) => (e ? rej(e) : res())));
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    s.close();
  }
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T> | T,
  ok: (v: T) => boolean,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last value ${JSON.stringify(last, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}
