/**
 * deploy/compose/compose.yaml cannot be run here (no container runtime, no registry), so
 * this checks what can be checked without one: it parses as YAML with the structure compose
 * expects, it has every part of the scale-out topology (Keeper, two shards one of them with
 * two replicas, two collectors, two dashboards, the balancers), every file it mounts or builds
 * from exists in deploy/, and the per-node settings agree with each other (shards and
 * replica names in the macros against remote_servers, the balancer's addresses against the
 * collectors').
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const composeFile = resolve(root, 'deploy/compose/compose.yaml');
const composeDir = dirname(composeFile);

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[] | string;
  volumes?: string[];
  environment?: Record<string, string>;
  networks?: Record<string, { ipv4_address?: string } | null>;
  depends_on?: Record<string, { condition: string }> | string[];
  ports?: string[];
  hostname?: string;
  profiles?: string[];
}

const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, unknown>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const text = (rel: string) => readFileSync(resolve(composeDir, rel), 'utf8');
/** the bind mounts of a service: [host path relative to compose.yaml, container path] */
const binds = (s: Service) =>
  (s.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([src]) => src.startsWith('.'))
    .map(([src, dst]) => [src, dst] as const);
const ipOf = (name: string) => Object.values(services[name].networks ?? {})[0]?.ipv4_address;

describe('deploy/compose/compose.yaml', () => {
  it('has the scale-out topology: Keeper, three ClickHouse nodes in two shards, two collectors, two dashboards, both balancers', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'ch1',
        'ch2',
        'ch3',
        'collector-a',
        'collector-b',
        'dashboard-1',
        'dashboard-2',
        'keeper',
        'migrate',
        'udp-balancer',
        'vxflow-cli',
        'web',
      ].sort(),
    );
    for (const [name, s] of Object.entries(services)) {
      expect(s.image ?? s.build, `${name}: an image or a build`).toBeTruthy();
      // the anchors merged: no `<<` key left, nothing nested where compose wants a list of strings
      expect(Object.keys(s)).not.toContain('<<');
      for (const v of s.volumes ?? [])
        expect(typeof v, `${name}: volume ${JSON.stringify(v)}`).toBe('string');
    }
    expect(services.keeper.image).toMatch(/^clickhouse\/clickhouse-keeper:/);
    for (const n of ['ch1', 'ch2', 'ch3'])
      expect(services[n].image).toMatch(/^clickhouse\/clickhouse-server:/);
    expect(services.migrate.command).toEqual(['migrate', '--cluster', 'vxflow']);
    for (const c of ['collector-a', 'collector-b'])
      expect((services[c].command as string[])[0]).toBe('collector');
    for (const d of ['dashboard-1', 'dashboard-2'])
      expect((services[d].command as string[])[0]).toBe('dashboard');
    // the two collectors and the two dashboards talk to different ClickHouse nodes
    const urls = (names: string[]) => names.map((n) => services[n].environment?.CLICKHOUSE_URL);
    expect(new Set(urls(['collector-a', 'collector-b'])).size).toBe(2);
    expect(new Set(urls(['dashboard-1', 'dashboard-2'])).size).toBe(2);
  });

  it('mounts and builds only files that exist in deploy/', () => {
    const missing: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const [src] of binds(s)) {
        const full = resolve(composeDir, src);
        if (!full.startsWith(resolve(root, 'deploy'))) missing.push(`${name}: ${src} is outside deploy/`);
        else if (!existsSync(full) || !statSync(full).isFile()) missing.push(`${name}: ${src}`);
      }
      if (s.build) {
        const context = resolve(composeDir, s.build.context);
        if (!existsSync(resolve(context, s.build.dockerfile))) missing.push(`${name}: ${s.build.dockerfile}`);
        if (!existsSync(resolve(context, 'package-lock.json')))
          missing.push(`${name}: build context ${context}`);
      }
    }
    expect(missing).toEqual([]);
    for (const v of Object.values(services).flatMap((s) => s.volumes ?? [])) {
      const [src] = v.split(':');
      if (!src.startsWith('.')) expect(Object.keys(compose.volumes), v).toContain(src);
    }
  });

  it('gives each ClickHouse node the shard and replica name remote_servers puts it under', () => {
    const remote = text('clickhouse/config.d/remote_servers.xml');
    const shards = [...remote.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) =>
      [...m[1].matchAll(/<host>(\w+)<\/host>/g)].map((h) => h[1]),
    );
    expect(shards).toEqual([['ch1', 'ch2'], ['ch3']]);
    for (const [i, hosts] of shards.entries())
      for (const host of hosts) {
        const macros = text(`clickhouse/${host}/macros.xml`);
        expect(macros).toContain(`<shard>${i + 1}</shard>`);
        expect(macros).toContain(`<replica>${host}</replica>`);
        expect(services[host].hostname).toBe(host);
        expect(binds(services[host]).map(([, dst]) => dst)).toContain(
          '/etc/clickhouse-server/config.d/macros.xml',
        );
      }
    // every node reaches the same Keeper, which listens where they look
    expect(text('clickhouse/config.d/keeper.xml')).toMatch(/<host>keeper<\/host>\s*<port>9181<\/port>/);
    expect(text('keeper/keeper_config.xml')).toContain('<tcp_port>9181</tcp_port>');
  });

  it("hashes exporters over the two collectors' addresses, keeping the exporter's source address", () => {
    const start = text('lb/start.sh');
    expect(start).toContain(`VXFLOW_COLLECTOR_A = ${ipOf('collector-a')}`);
    expect(start).toContain(`VXFLOW_COLLECTOR_B = ${ipOf('collector-b')}`);
    expect(start).toContain(`VXFLOW_VIP = ${ipOf('udp-balancer')}`);
    const rules = readFileSync(resolve(root, 'deploy/nftables/vxflow-collectors.nft'), 'utf8');
    for (const name of ['VXFLOW_VIP', 'VXFLOW_COLLECTOR_A', 'VXFLOW_COLLECTOR_B'])
      expect(rules).toMatch(new RegExp(`^define ${name} = `, 'm'));
    expect(rules).toMatch(
      /dnat to jhash ip saddr mod 2 map \{ 0 : \$VXFLOW_COLLECTOR_A, 1 : \$VXFLOW_COLLECTOR_B \}/,
    );
    expect(services['udp-balancer'].ports).toEqual(['2055:2055/udp', '4739:4739/udp']);
    const web = text('web/dashboards.conf');
    for (const d of ['dashboard-1', 'dashboard-2']) expect(web).toContain(`server ${d}:8080`);
  });
});
