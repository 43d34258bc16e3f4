/**
 * Known flows for the dashboard's tests: two tenants whose overlay networks use the same
 * private addresses on different VNIs, unassigned flows, an unsampled and a 1-in-100
 * sampled exporter, spread over 24 whole hours. `expected` computes any total the API
 * should answer from the same rows, so every assertion is exact.
 */
import { type FlowRecord, emptyFlow } from '../../protocol/src/schema/columns.ts';
import type { ClickHouse } from '../../storage/src/clickhouse.ts';
import { encodeFlowsRowBinary } from '../../storage/src/flow-rowbinary.ts';
import { backfillAllRollups } from '../../storage/src/rollup-backfill.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';

/** 2026-11-30T00:00:00Z: the fixture's 24 hours start here */
export const T0 = Date.UTC(2026, 10, 30) / 1000;
export const T1 = T0 + 86_400;

export const EXPORTER_UNSAMPLED = '192.0.2.1';
export const EXPORTER_SAMPLED = '192.0.2.2';
export const EXPORTER_V6 = '2001:db8::1';

interface Spec {
  tenant: string;
  network: string;
  vni: number;
  src: string;
  dst: string;
  srcEp: string;
  dstEp: string;
  srcSubnet: string;
  dstSubnet: string;
  cls: string;
  proto: number;
  sport: number;
  dport: number;
  flags: number;
  exporter: string;
  rate: number;
}

const SPECS: Spec[] = [
  // acme: web → db inside VNI 5001/5002, east-west; and web → the internet, north-south
  {
    tenant: 'acme',
    network: 'acme-web',
    vni: 5001,
    src: '10.0.0.1',
    dst: '10.0.1.5',
    srcEp: 'acme-web-1',
    dstEp: 'acme-db-1',
    srcSubnet: 'acme-web-net',
    dstSubnet: 'acme-db-net',
    cls: 'east-west',
    proto: 6,
    sport: 40000,
    dport: 5432,
    flags: 0x1b,
    exporter: EXPORTER_UNSAMPLED,
    rate: 1,
  },
  {
    tenant: 'acme',
    network: 'acme-web',
    vni: 5001,
    src: '10.0.0.2',
    dst: '198.51.100.7',
    srcEp: 'acme-web-2',
    dstEp: '',
    srcSubnet: 'acme-web-net',
    dstSubnet: '',
    cls: 'north-south',
    proto: 6,
    sport: 443,
    dport: 51000,
    flags: 0x18,
    exporter: EXPORTER_SAMPLED,
    rate: 100,
  },
  {
    tenant: 'acme',
    network: 'acme-db',
    vni: 5002,
    src: '10.0.1.5',
    dst: '10.0.0.1',
    srcEp: 'acme-db-1',
    dstEp: 'acme-web-1',
    srcSubnet: 'acme-db-net',
    dstSubnet: 'acme-web-net',
    cls: 'east-west',
    proto: 17,
    sport: 53,
    dport: 33000,
    flags: 0,
    exporter: EXPORTER_V6,
    rate: 1,
  },
  // globex: the very same addresses on VNI 6001, a SYN-only scan, sampled
  {
    tenant: 'globex',
    network: 'globex-web',
    vni: 6001,
    src: '10.0.0.1',
    dst: '10.0.1.5',
    srcEp: 'globex-app-1',
    dstEp: 'globex-app-2',
    srcSubnet: 'globex-net',
    dstSubnet: 'globex-net',
    cls: 'east-west',
    proto: 6,
    sport: 40000,
    dport: 5432,
    flags: 0x02,
    exporter: EXPORTER_SAMPLED,
    rate: 100,
  },
  {
    tenant: 'globex',
    network: 'globex-web',
    vni: 6001,
    src: '2001:db8:6001::10',
    dst: '2001:db8:6001::20',
    srcEp: 'globex-v6-1',
    dstEp: 'globex-v6-2',
    srcSubnet: 'globex-v6',
    dstSubnet: 'globex-v6',
    cls: 'east-west',
    proto: 17,
    sport: 5000,
    dport: 6000,
    flags: 0,
    exporter: EXPORTER_UNSAMPLED,
    rate: 1,
  },
  // unassigned: a VNI nobody owns
  {
    tenant: '',
    network: '',
    vni: 7777,
    src: '10.0.0.1',
    dst: '10.9.9.9',
    srcEp: '',
    dstEp: '',
    srcSubnet: '',
    dstSubnet: '',
    cls: '',
    proto: 1,
    sport: 0,
    dport: 0,
    flags: 0,
    exporter: EXPORTER_UNSAMPLED,
    rate: 1,
  },
];

function makeFlows(): FlowRecord[] {
  const flows: FlowRecord[] = [];
  for (let h = 0; h < 24; h++) {
    SPECS.forEach((s, i) => {
      // a few flows per spec per hour, at distinct seconds, with sizes that differ by hour and spec
      for (let j = 0; j < 3; j++) {
        const t = (T0 + h * 3600 + 60 * (i * 7 + j * 3) + j) * 1000;
        flows.push(
          Object.assign(emptyFlow(), {
            time_received: t,
            flow_start: t - 5000,
            flow_end: t,
            exporter: s.exporter,
            version: 9,
            src_addr: s.src,
            dst_addr: s.dst,
            src_port: s.sport,
            dst_port: s.dport,
            proto: s.proto,
            tcp_flags: s.flags,
            ip_version: s.src.includes(':') ? 6 : 4,
            bytes: 1000 * (i + 1) + 17 * h + j,
            packets: 10 + i + j,
            sampling_rate: s.rate,
            vni: s.vni,
            tunnel_type: 1,
            tunnel_src: '192.0.2.101',
            tunnel_dst: s.tenant === 'globex' ? '192.0.2.103' : '192.0.2.102',
            tenant: s.tenant,
            network: s.network,
            src_subnet: s.srcSubnet,
            dst_subnet: s.dstSubnet,
            src_endpoint: s.srcEp,
            dst_endpoint: s.dstEp,
            traffic_class: s.cls,
          }),
        );
      }
    });
  }
  return flows;
}

export const FLOWS: readonly FlowRecord[] = makeFlows();

export async function loadFixture(ch: ClickHouse): Promise<void> {
  await ch.insertRowBinary(`${ch.database}.flows`, FLOW_INSERT_COLUMNS, encodeFlowsRowBinary(FLOWS));
  // direct inserts into flows reach the rollups through the backfill (`vxflow rollup`) since migration 5
  await backfillAllRollups(ch);
}

export interface Totals {
  bytes: number;
  packets: number;
  flows: number;
}

/** Totals of the flows that pass `pick`, counters scaled by their sampling rate. */
export function expected(pick: (f: FlowRecord) => boolean, range = { start: T0, end: T1 }): Totals {
  const out = { bytes: 0, packets: 0, flows: 0 };
  for (const f of FLOWS) {
    const t = f.time_received / 1000;
    if (t < range.start || t >= range.end || !pick(f)) continue;
    out.bytes += Number(f.bytes) * Math.max(1, f.sampling_rate);
    out.packets += Number(f.packets) * Math.max(1, f.sampling_rate);
    out.flows += 1;
  }
  return out;
}
