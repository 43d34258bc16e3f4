/**
 * What the collector's configuration asks for, checked before anything opens: the listen
 * addresses, the outputs, the worker count (plan()), and what every decode worker is given
 * (workerInit()). Also the small helpers its start and stop steps share. Errors name the
 * configuration key at fault.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, networkInterfaces } from 'node:os';
import { UserError } from '../../common/errors.ts';
import { parseClickHouseUrl } from '../../storage/src/clickhouse.ts';
import type { ClickHouseConfig } from '../../storage/src/config.ts';
import type { CollectorConfig } from './config.ts';
import { type ListenAddress, parseListenUrl } from './ingest/listen-url.ts';
import type { WorkerInit } from './ingest/worker-protocol.ts';
import { parseCidr } from './net/ip.ts';

export interface Plan {
  listen: ListenAddress[];
  outputs: { kind: 'jsonl' | 'protobuf'; path: string }[];
  clickhouse: boolean;
  workers: number;
}

/** A bind failure as one line naming the address and the flag that sets it. */
export function listenError(what: string, err: unknown, flag: string): never {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EADDRINUSE: 'the port is in use (another collector?)',
    EADDRNOTAVAIL: 'the address is not on this host',
    EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
    ENOTFOUND: 'the host name does not resolve',
    EAI_AGAIN: 'the host name does not resolve',
  };
  throw new UserError(
    `${what}: ${(code && why[code]) ?? (err as Error).message}${code ? ` (${code})` : ''}`,
    `pick another with ${flag}`,
  );
}

/** Waits for `p` at most `ms`; true when it settled in time (a rejection counts as settled). */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether this host can bind `host`: a wildcard, loopback (all of 127.0.0.0/8 binds on
 * Linux), an interface address, or anything when net.ipv4.ip_nonlocal_bind is set.
 */
function isLocalAddress(host: string): boolean {
  if (host === '0.0.0.0' || host === '::' || host === '::1' || host.startsWith('127.')) return true;
  const bare = host.toLowerCase().replace(/%.*$/, '');
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.address.toLowerCase() === bare) return true;
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', 'utf8').trim() === '1';
  } catch {
    return isIP(host) === 0;
  }
}

/** Checks what spans fields and names the field at fault. */
export function plan(cfg: CollectorConfig, clickhouse: ClickHouseConfig | null): Plan {
  const listen: ListenAddress[] = [];
  for (const url of cfg.listen) {
    const p = parseListenUrl(url);
    if (!p.ok) throw new UserError(`collector.listen: ${p.reason}`);
    listen.push(p.value);
  }
  if (listen.length === 0) throw new UserError('collector.listen: at least one listen address is needed');
  for (const a of listen)
    if (!isLocalAddress(a.host))
      throw new UserError(
        `collector.listen: ${a.host} is not an address of this host`,
        'listen on one of its addresses, or on 0.0.0.0 / [::] for all of them',
      );
  const hostPort = /^\[?([^\]]*?)\]?:(\d+)$/.exec(cfg.metricsListen);
  if (cfg.metricsListen !== '' && (!hostPort || Number(hostPort[2]) > 65535))
    throw new UserError(`collector.metricsListen: ${cfg.metricsListen} is not HOST:PORT (port 0-65535)`);
  for (const c of cfg.allowExporters)
    if (!parseCidr(c)) throw new UserError(`collector.allowExporters: ${c} is not an address or network`);
  for (const o of cfg.sampling.overrides)
    if (!parseCidr(o.exporter))
      throw new UserError(
        `collector.sampling.overrides: exporter ${o.exporter} is not an address or network`,
      );
  const outputs: Plan['outputs'] = [];
  let wantsClickhouse = false;
  for (const o of cfg.outputs) {
    if (o === 'clickhouse') wantsClickhouse = true;
    else {
      const colon = o.indexOf(':');
      outputs.push({ kind: o.slice(0, colon) as 'jsonl' | 'protobuf', path: o.slice(colon + 1) });
    }
  }
  if (wantsClickhouse && !clickhouse)
    throw new UserError(
      "collector.outputs: 'clickhouse' is listed but ClickHouse is disabled (--no-clickhouse)",
    );
  const useClickhouse = wantsClickhouse && clickhouse !== null;
  // a URL that cannot work is refused now, not retried for ever while batches spool
  if (useClickhouse && clickhouse.url) parseClickHouseUrl(clickhouse.url);
  if (!useClickhouse && outputs.length === 0)
    throw new UserError(
      'collector.outputs: no output left (add jsonl:PATH or protobuf:PATH, or enable ClickHouse)',
    );
  const workers = cfg.workers > 0 ? cfg.workers : Math.max(1, availableParallelism());
  return { listen, outputs, clickhouse: useClickhouse, workers };
}

/** What each decode worker starts with (ingest/worker-protocol.ts). */
export function workerInit(
  cfg: CollectorConfig,
  p: Plan,
  inventoryText: string,
  abandon: SharedArrayBuffer,
): WorkerInit {
  return {
    decoder: {
      maxTemplatesPerDomain: cfg.limits.maxTemplatesPerDomain,
      maxFieldsPerTemplate: cfg.limits.maxFieldsPerTemplate,
      maxDomains: cfg.limits.maxExporters,
      maxDomainsPerExporter: cfg.limits.maxDomainsPerExporter,
      maxTemplates: Math.ceil(cfg.limits.maxTemplates / p.workers),
      maxTemplatesPerExporter: cfg.limits.maxTemplatesPerExporter,
      maxHeldSets: cfg.limits.maxHeldSets,
      maxHeldSetsPerExporter: cfg.limits.maxHeldSetsPerExporter,
      maxHeldSetsPerDomain: cfg.limits.maxHeldSetsPerDomain,
      maxHeldAgeMs: cfg.limits.maxHeldAgeMs,
    },
    sampling: { default: cfg.sampling.default, overrides: cfg.sampling.overrides.map((o) => ({ ...o })) },
    inventoryText,
    maxTcpSessions: cfg.limits.maxTcpSessions,
    outputs: {
      rowbinary: p.clickhouse && cfg.insertFormat === 'rowbinary',
      native: p.clickhouse && cfg.insertFormat === 'native',
      jsonl: p.outputs.some((o) => o.kind === 'jsonl'),
      protobuf: p.outputs.some((o) => o.kind === 'protobuf'),
      // the collector sums each chunk into the rollup keys itself (migration 5)
      rollup: p.clickhouse,
    },
    chunkRows: Math.max(100, Math.min(5000, cfg.batchMaxRows)),
    abandon,
  };
}
