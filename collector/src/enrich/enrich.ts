/**
 * Attributes a flow to its tenant (DESIGN.md): by VNI first, then VLAN, then by subnet
 * (longest prefix). Subnets and endpoints are looked up inside the tenant the VNI chose,
 * because two tenants may use the same private addresses and only the VNI tells them
 * apart. An unknown VNI stays unassigned (tenant ''), never dropped.
 */
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { parseIpInto } from '../net/ip.ts';
import type { Inventory, Scope, SubnetInfo } from './inventory.ts';

export interface EnrichStats {
  /** flows attributed by VNI, VLAN, subnet; with an unknown VNI; with nothing to go on */
  byVni: number;
  byVlan: number;
  bySubnet: number;
  unknownVni: number;
  unassigned: number;
}

export interface Enricher {
  enrich(rec: FlowRecord): void;
  setInventory(inv: Inventory): void;
  readonly stats: EnrichStats;
}

export function createEnricher(initial: Inventory): Enricher {
  let inv = initial;
  const src = new Uint8Array(16);
  const dst = new Uint8Array(16);
  const stats: EnrichStats = { byVni: 0, byVlan: 0, bySubnet: 0, unknownVni: 0, unassigned: 0 };

  // results of the last scope lookup (no object per lookup: this runs for both ends of every flow)
  let foundSubnet: SubnetInfo | undefined;
  let foundPort: string | undefined;

  function inScopes(network: Scope, tenant: Scope, addr: Uint8Array, fam: 0 | 4 | 6): void {
    foundSubnet = undefined;
    foundPort = undefined;
    if (fam === 0) return;
    foundSubnet = network.subnets.lookupBytes(addr, fam);
    if (foundSubnet === undefined && tenant !== network) foundSubnet = tenant.subnets.lookupBytes(addr, fam);
    // most inventories name few ports: skip the walk when a scope has none
    if (network.ports.size > 0) foundPort = network.ports.lookupBytes(addr, fam);
    if (foundPort === undefined && tenant !== network && tenant.ports.size > 0)
      foundPort = tenant.ports.lookupBytes(addr, fam);
  }

  function fill(rec: FlowRecord, network: Scope, tenant: Scope, sf: 0 | 4 | 6, df: 0 | 4 | 6): void {
    inScopes(network, tenant, src, sf);
    const sSubnet = foundSubnet;
    rec.src_subnet = sSubnet?.label ?? '';
    rec.src_endpoint = foundPort ?? '';
    inScopes(network, tenant, dst, df);
    const dSubnet = foundSubnet;
    rec.dst_subnet = dSubnet?.label ?? '';
    rec.dst_endpoint = foundPort ?? '';
    const sIn = sSubnet !== undefined && sSubnet.tenant === rec.tenant;
    const dIn = dSubnet !== undefined && dSubnet.tenant === rec.tenant;
    rec.traffic_class = sIn && dIn ? 'east-west' : 'north-south';
  }

  return {
    stats,
    setInventory(next) {
      inv = next;
    },
    enrich(rec) {
      const sf = parseIpInto(rec.src_addr as string, src);
      const df = parseIpInto(rec.dst_addr as string, dst);
      if (rec.vni !== 0) {
        const hit = inv.byVni.get(rec.vni as number);
        if (!hit) {
          stats.unknownVni++;
          return;
        }
        stats.byVni++;
        rec.tenant = hit.network.tenant;
        rec.network = hit.network.network;
        fill(rec, hit.network, hit.tenant, sf, df);
        return;
      }
      if (rec.vlan !== 0) {
        const hit = inv.byVlan.get(rec.vlan as number);
        if (hit) {
          stats.byVlan++;
          rec.tenant = hit.network.tenant;
          rec.network = hit.network.network;
          fill(rec, hit.network, hit.tenant, sf, df);
          return;
        }
      }
      const flat = inv.flat;
      const owner =
        (sf !== 0 ? flat.subnets.lookupBytes(src, sf) : undefined) ??
        (df !== 0 ? flat.subnets.lookupBytes(dst, df) : undefined);
      if (!owner || owner.tenant === '') {
        // no subnet, or one that several tenants use: only a VNI could tell them apart
        stats.unassigned++;
        return;
      }
      stats.bySubnet++;
      rec.tenant = owner.tenant;
      rec.network = owner.network;
      const tenant = inv.tenantScopes.get(owner.tenant) ?? flat;
      fill(rec, tenant, tenant, sf, df);
    },
  };
}
