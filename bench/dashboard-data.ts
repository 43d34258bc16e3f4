/**
 * Data and peer plumbing for bench/dashboard.bench.ts: a deterministic day of simulated
 * multi-tenant flows (the exporter's simulator, enriched with its own inventory as the
 * collector would), the truth the bench checks answers against, and nfcapd/nfdump on the
 * same flows (NetFlow v9 from the project's encoder over UDP loopback, paced on nfcapd's
 * socket queue so nothing is lost).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { createEnricher } from '../collector/src/enrich/enrich.ts';
import { parseInventory } from '../collector/src/enrich/inventory.ts';
import { createGenerator } from '../exporter/src/sources/sim/generate.ts';
import { inventoryYaml } from '../exporter/src/sources/sim/inventory.ts';
import { buildCloud } from '../exporter/src/sources/sim/model.ts';
import type { FlowRecord } from '../protocol/src/schema/columns.ts';

/** 2026-11-30T00:00:00Z: the bench's 24 hours start here (whole hours, so rollups answer) */
export const DAY_START_S = Date.UTC(2026, 10, 30) / 1000;
export const DAY_END_S = DAY_START_S + 86_400;

/** One exporter per VTEP-ish host; two of them sample (1 in 10, 1 in 100). */
export const EXPORTERS = [
  { address: '192.0.2.1', domain: 1, rate: 1 },
  { address: '192.0.2.2', domain: 2, rate: 1 },
  { address: '192.0.2.3', domain: 3, rate: 1 },
  { address: '192.0.2.4', domain: 4, rate: 1 },
  { address: '192.0.2.5', domain: 5, rate: 10 },
  { address: '192.0.2.6', domain: 6, rate: 100 },
] as const;

/** A VNI nobody owns: these flows stay unassigned (admins only). */
const UNKNOWN_VNI = 9999;

export interface Truth {
  flows: number;
  /** per source address (all tenants together, as nfdump sees them): bytes as exported, and scaled */
  srcBytes: Map<string, { raw: number; scaled: number }>;
  /** scaled bytes per tenant ('' = unassigned) */
  tenantBytes: Map<string, number>;
  /** records per exporter (index into EXPORTERS) */
  exporterRecords: number[];
}

export interface FlowSource {
  tenants: string[];
  truth: Truth;
  /** the next `size` flows in time order, or fewer at the end; empty when done */
  next(size: number): FlowRecord[];
}

/** `total` flows evenly over the day; the simulator picks tenants, VMs, peers, ports and sizes. */
export function createFlowSource(total: number, seed = 11): FlowSource {
  const cloud = buildCloud({ seed, tenants: 8 });
  const inv = parseInventory(inventoryYaml(cloud));
  if (!inv.ok) throw new Error(`simulated inventory: ${inv.reason}`);
  const enricher = createEnricher(inv.value);
  const gen = createGenerator(cloud, seed);
  const truth: Truth = {
    flows: 0,
    srcBytes: new Map(),
    tenantBytes: new Map(),
    exporterRecords: EXPORTERS.map(() => 0),
  };
  const t0 = DAY_START_S * 1000;
  // flow ends spread over the day; time_received up to ~1 s later, still before the day ends
  const span = 86_400_000 - 2000;
  let i = 0;
  return {
    tenants: cloud.tenants.map((t) => t.name),
    truth,
    next(size) {
      const out: FlowRecord[] = [];
      for (; out.length < size && i < total; i++) {
        const t = t0 + Math.floor((i * span) / total);
        const rec = gen.next(t);
        if (i % 97 === 0) rec.vni = UNKNOWN_VNI;
        const e = i % EXPORTERS.length;
        const ex = EXPORTERS[e];
        rec.exporter = ex.address;
        rec.observation_domain = ex.domain;
        rec.version = 9;
        rec.sampling_rate = ex.rate;
        rec.time_received = t + (i % 997);
        enricher.enrich(rec);
        const bytes = Number(rec.bytes);
        const src = String(rec.src_addr);
        let s = truth.srcBytes.get(src);
        if (!s) {
          s = { raw: 0, scaled: 0 };
          truth.srcBytes.set(src, s);
        }
        s.raw += bytes;
        s.scaled += bytes * ex.rate;
        const tenant = String(rec.tenant ?? '');
        truth.tenantBytes.set(tenant, (truth.tenantBytes.get(tenant) ?? 0) + bytes * ex.rate);
        truth.exporterRecords[e]++;
        truth.flows++;
        out.push(rec);
      }
      return out;
    },
  };
}

/** The top `n` of a map by value, ties by key (as our API orders them). */
export function topOf(m: Map<string, number>, n: number): [string, number][] {
  return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}

/** IPv6 text in one form (all 8 groups, no leading zeros) so nfdump's and ClickHouse's spellings compare. */
export function canonicalIp(s: string): string {
  if (!s.includes(':')) return s;
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16).toString(16)).join(':');
}

// ---- nfcapd on loopback

import { udpSocketState } from './udp-socket.ts';

export { type UdpSocketState, udpSocketState } from './udp-socket.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Nfcapd {
  port: number;
  child: ChildProcess;
  output(): string;
  /** SIGTERM (flushes the current file), SIGKILL after 20 s; idempotent */
  stop(): Promise<void>;
}

export async function startNfcapd(dir: string, port: number): Promise<Nfcapd> {
  const child = spawn(
    'nfcapd',
    ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', '4194304', '-t', '3600'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d) => {
    out = (out + d).slice(-8000);
  });
  child.stderr?.on('data', (d) => {
    out = (out + d).slice(-8000);
  });
  const exited = new Promise<void>((r) => {
    child.once('exit', () => r());
    child.once('error', () => r());
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)])) === false) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const deadline = Date.now() + 15_000;
  while (!udpSocketState(port).bound) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`nfcapd did not start listening on udp ${port}: ${out}`);
    }
    await sleep(50);
  }
  await sleep(200);
  return { port, child, output: () => out, stop };
}

/**
 * Sends datagrams to 127.0.0.1:port in bursts, never more than `maxPps` and never while the
 * receiver's socket holds more than `maxQueue` bytes: the receiver decides the pace, so it
 * loses nothing to its socket buffer.
 */
export function createPacedSender(port: number, opts: { maxPps?: number; maxQueue?: number } = {}) {
  const maxPps = opts.maxPps ?? 30_000;
  const maxQueue = opts.maxQueue ?? 1 << 20;
  const sock = dgram.createSocket('udp4');
  let sent = 0;
  let began = 0;
  return {
    get sent() {
      return sent;
    },
    async send(datagrams: readonly Buffer[]): Promise<void> {
      if (began === 0) began = Date.now();
      for (let i = 0; i < datagrams.length; i += 32) {
        while (udpSocketState(port).rxQueue > maxQueue) await sleep(1);
        while (sent > ((Date.now() - began) / 1000) * maxPps) await sleep(1);
        const burst = datagrams.slice(i, i + 32);
        await Promise.all(
          burst.map(
            (d) =>
              new Promise<void>((resolve, reject) =>
                sock.send(d, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
              ),
          ),
        );
        sent += burst.length;
      }
    },
    /** waits until the receiver's queue has been empty for 500 ms (or 30 s passed) */
    async drain(): Promise<void> {
      const deadline = Date.now() + 30_000;
      let emptySince = 0;
      while (Date.now() < deadline) {
        if (udpSocketState(port).rxQueue > 0) emptySince = 0;
        else if (!emptySince) emptySince = Date.now();
        else if (Date.now() - emptySince >= 500) return;
        await sleep(20);
      }
    },
    close(): void {
      sock.close();
    },
  };
}

/** Runs nfdump and returns its stdout and wall time in ms. */
export function nfdump(args: string[]): { out: string; ms: number } {
  const t0 = process.hrtime.bigint();
  const out = execFileSync('nfdump', args, {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    env: { ...process.env, TZ: 'UTC' },
  });
  return { out, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** Rows of nfdump's `-s …/bytes -o csv` statistic: value → bytes. */
export function parseNfdumpStatCsv(out: string): [string, number][] {
  const rows: [string, number][] = [];
  const lines = out.split('\n');
  const head = lines[0]?.split(',') ?? [];
  const val = head.indexOf('val');
  const byt = head.indexOf('byt');
  if (val < 0 || byt < 0) throw new Error(`unexpected nfdump csv header: ${lines[0]}`);
  for (const line of lines.slice(1)) {
    if (line.trim() === '' || line.startsWith('Summary')) break;
    const c = line.split(',');
    rows.push([c[val].trim(), Number(c[byt])]);
  }
  return rows;
}

/** nfcapd's SysID for each v9 Source ID it saw (`nfdump -E file`). */
export function nfdumpSysIds(file: string): Map<number, number> {
  const out = execFileSync('nfdump', ['-E', file], { encoding: 'utf8' });
  const m = new Map<number, number>();
  for (const x of out.matchAll(/SysID:\s*(\d+),.*?ID:\s*(\d+),/g)) m.set(Number(x[2]), Number(x[1]));
  return m;
}
