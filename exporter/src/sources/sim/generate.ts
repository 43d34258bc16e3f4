/**
 * Flow records from the simulated cloud. Deterministic: the same seed and the same sequence
 * of times give the same records.
 *
 * - tenants, VMs and internet peers are drawn Zipf-like, so a few are heavy hitters;
 * - ~60 % east-west (VM ↔ VM of the same tenant, through both VMs' VTEPs), ~40 % north-south
 *   (VM ↔ internet, through the gateway VTEP);
 * - the destination port and protocol follow the server's role (web 443/80, db 5432/3306, …);
 * - packets are log-normal (heavy tail), bytes follow the protocol's typical packet sizes;
 * - `dailyFactor(t)` is the time-of-day load curve (trough ~04:00 UTC, peak ~14:00 UTC);
 * - now and then a SYN flood: for a minute, many one-packet SYNs from random internet
 *   addresses to one web VM of one tenant.
 */
import { emptyFlow, type FlowRecord } from '../../../../protocol/src/schema/columns.ts';
import type { Role, SimCloud, SimPort, SimTenant } from './model.ts';
import { createPrng, createZipf, logNormalInt, type Prng } from './prng.ts';

const SERVICES: Record<Role, { proto: number; port: number }[]> = {
  web: [
    { proto: 6, port: 443 },
    { proto: 6, port: 443 },
    { proto: 6, port: 80 },
  ],
  app: [
    { proto: 6, port: 8080 },
    { proto: 6, port: 9000 },
  ],
  db: [
    { proto: 6, port: 5432 },
    { proto: 6, port: 3306 },
  ],
  cache: [{ proto: 6, port: 6379 }],
  dns: [{ proto: 17, port: 53 }],
};
const OUTBOUND = [
  { proto: 6, port: 443 },
  { proto: 6, port: 443 },
  { proto: 6, port: 80 },
  { proto: 17, port: 53 },
  { proto: 17, port: 123 },
  { proto: 1, port: 0 },
];

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

/** Load relative to the daily mean (0.35 … 1.65): trough ~04:00 UTC, peak ~14:00 UTC. */
export function dailyFactor(ms: number): number {
  const hours = (ms / 3_600_000) % 24;
  return 1 + 0.65 * Math.sin(((hours - 8) / 24) * 2 * Math.PI);
}

/** Length of each SYN flood, and how often one may start (on average once per period). */
const FLOOD_MS = 60_000;
const FLOOD_PERIOD_MS = 15 * 60_000;

export interface SimGenerator {
  /** the next flow, ending at `nowMs` */
  next(nowMs: number): FlowRecord;
  /** whether a SYN flood is under way at `nowMs`, and against whom */
  floodAt(nowMs: number): { tenant: string; target: string } | null;
}

export function createGenerator(cloud: SimCloud, seed: number): SimGenerator {
  const rng = createPrng(seed);
  const tenantRank = createZipf(cloud.tenants.length, 1.0);
  const portRank = new Map<SimTenant, (r: Prng) => number>();
  for (const t of cloud.tenants) portRank.set(t, createZipf(t.ports.length, 1.2));
  const internetRank = createZipf(cloud.internet.length, 1.3);

  /** Flood windows are a pure function of time, so they do not depend on the call pattern. */
  type Flood = { start: number; tenant: string; target: string; tenantRef: SimTenant; victim: SimPort };
  let cachedWindow = Number.NaN;
  let cachedFlood: Flood | null = null;
  function floodOfWindow(window: number): Flood | null {
    const w = createPrng((seed ^ Math.imul(window, 0x9e3779b1)) >>> 0);
    if (!w.chance(0.5)) return null;
    const start = window * FLOOD_PERIOD_MS + w.int(0, FLOOD_PERIOD_MS - FLOOD_MS);
    const tenant = cloud.tenants[w.int(0, cloud.tenants.length - 1)];
    const webs = tenant.ports.filter((p) => p.port.role === 'web');
    const victim = (webs.length ? w.pick(webs) : w.pick(tenant.ports)).port;
    return { start, tenant: tenant.name, target: victim.ip, tenantRef: tenant, victim };
  }
  function floodAt(nowMs: number): Flood | null {
    const window = Math.floor(nowMs / FLOOD_PERIOD_MS);
    if (window !== cachedWindow) {
      cachedWindow = window;
      cachedFlood = floodOfWindow(window);
    }
    const f = cachedFlood;
    return f && nowMs >= f.start && nowMs < f.start + FLOOD_MS ? f : null;
  }

  function synFlood(rec: FlowRecord, nowMs: number, f: NonNullable<ReturnType<typeof floodAt>>): FlowRecord {
    const network = f.tenantRef.ports.find((p) => p.port === f.victim)!.network;
    rec.src_addr = `${rng.int(1, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    rec.dst_addr = f.victim.ip;
    rec.src_port = rng.int(1024, 65535);
    rec.dst_port = 443;
    rec.proto = 6;
    rec.tcp_flags = TCP_SYN;
    rec.packets = 1;
    rec.bytes = 60;
    rec.flow_start = nowMs;
    rec.flow_end = nowMs;
    rec.ip_version = 4;
    rec.vni = network.vni;
    rec.tunnel_src = cloud.gatewayVtep;
    rec.tunnel_dst = cloud.vteps[f.victim.host];
    rec.dst_mac = f.victim.mac;
    rec.in_if = 1;
    rec.out_if = 2 + f.victim.host;
    return rec;
  }

  function fill(
    rec: FlowRecord,
    nowMs: number,
    service: { proto: number; port: number },
    client: { ip: string; ip6: string; mac: number; vtep: string },
    server: { ip: string; ip6: string; mac: number; vtep: string },
  ) {
    const v6 = client.ip6 !== '' && server.ip6 !== '' && rng.chance(0.15);
    rec.ip_version = v6 ? 6 : 4;
    rec.src_addr = v6 ? client.ip6 : client.ip;
    rec.dst_addr = v6 ? server.ip6 : server.ip;
    rec.proto = service.proto === 1 && v6 ? 58 : service.proto;
    rec.src_mac = client.mac;
    rec.dst_mac = server.mac;
    rec.tunnel_src = client.vtep;
    rec.tunnel_dst = server.vtep;
    let packets: number;
    let meanSize: number;
    if (service.proto === 6) {
      rec.src_port = rng.int(32768, 60999);
      rec.dst_port = service.port;
      packets = logNormalInt(rng, 12, 1.6, 2_000_000);
      meanSize = service.port === 443 || service.port === 80 ? rng.int(300, 1400) : rng.int(120, 900);
      rec.tcp_flags = rng.chance(0.03) ? TCP_SYN | TCP_RST | TCP_ACK : TCP_SYN | TCP_ACK | TCP_PSH | TCP_FIN;
    } else if (service.proto === 17) {
      rec.src_port = rng.int(32768, 60999);
      rec.dst_port = service.port;
      packets =
        service.port === 53 || service.port === 123 ? rng.int(1, 2) : logNormalInt(rng, 4, 1.2, 100_000);
      meanSize = service.port === 53 ? rng.int(60, 300) : rng.int(76, 1200);
    } else {
      rec.icmp_type = 8;
      rec.icmp_code = 0;
      packets = rng.int(1, 10);
      meanSize = 84;
    }
    rec.packets = packets;
    rec.bytes = packets * meanSize;
    const durationMs = packets === 1 ? 0 : Math.min(120_000, packets * rng.int(1, 40));
    rec.flow_start = nowMs - durationMs;
    rec.flow_end = nowMs;
    rec.tos = rng.chance(0.1) ? 0xb8 : 0;
  }

  function next(nowMs: number): FlowRecord {
    const rec = emptyFlow();
    rec.sampling_rate = 1;
    rec.tunnel_type = 1;
    rec.flow_end_reason = 2;
    const flood = floodAt(nowMs);
    if (flood && rng.chance(0.4)) return synFlood(rec, nowMs, flood);

    const tenant = cloud.tenants[tenantRank(rng)];
    const pick = portRank.get(tenant)!;
    const a = tenant.ports[pick(rng)];
    rec.in_if = 2 + a.port.host;
    rec.out_if = 1;
    const vtepOf = (p: SimPort) => cloud.vteps[p.host];
    if (rng.chance(0.6)) {
      // east-west: a client VM talks to a server VM of the same tenant and network or another one
      let b = tenant.ports[pick(rng)];
      if (b === a) b = tenant.ports[(tenant.ports.indexOf(a) + 1) % tenant.ports.length];
      const service = rng.pick(SERVICES[b.port.role]);
      fill(rec, nowMs, service, { ...a.port, vtep: vtepOf(a.port) }, { ...b.port, vtep: vtepOf(b.port) });
      rec.vni = a.network.vni;
      rec.out_if = 2 + b.port.host;
    } else {
      const peer = cloud.internet[internetRank(rng)];
      const outside = { ip: peer, ip6: '', mac: 0x02_fe_00_00_00_01, vtep: cloud.gatewayVtep };
      const inside = { ...a.port, ip6: '', vtep: vtepOf(a.port) };
      if (a.port.role === 'web' && rng.chance(0.7)) {
        fill(rec, nowMs, rng.pick(SERVICES.web), outside, inside);
      } else {
        fill(rec, nowMs, rng.pick(OUTBOUND), inside, outside);
      }
      rec.vni = a.network.vni;
    }
    return rec;
  }

  return {
    next,
    floodAt: (nowMs) => {
      const f = floodAt(nowMs);
      return f ? { tenant: f.tenant, target: f.target } : null;
    },
  };
}
