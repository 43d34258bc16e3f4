/**
 * Writes the simulated cloud as a tenant inventory, the YAML the collector's enrichment
 * loads (`inventory:` in the config). The shape, shared with the collector's loader:
 *
 * ```yaml
 * tenants:
 *   - name: acme                     # tenant name (unique)
 *     networks:
 *       - name: prod                 # network name (unique within the tenant)
 *         vni: 5000                  # overlay segment (VXLAN VNI, 1..16777215)
 *         subnets:
 *           - cidr: 10.0.0.0/24      # IPv4 or IPv6 CIDR
 *             ports:
 *               - name: acme-prod-web-1     # VM interface name
 *                 ip: 10.0.0.10             # its address in this subnet
 *                 mac: "02:00:00:00:00:00"  # its MAC, colon-separated hex
 * ```
 *
 * Each simulated network has one IPv4 and one IPv6 subnet; a VM port appears in both.
 */
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { SimCloud } from './model.ts';
import { macToString } from '../../../../protocol/src/schema/json.ts';

export interface InventoryPort {
  name: string;
  ip: string;
  mac: string;
}
export interface InventorySubnet {
  cidr: string;
  ports: InventoryPort[];
}
export interface InventoryNetwork {
  name: string;
  vni: number;
  subnets: InventorySubnet[];
}
export interface Inventory {
  tenants: { name: string; networks: InventoryNetwork[] }[];
}

export function cloudInventory(cloud: SimCloud): Inventory {
  return {
    tenants: cloud.tenants.map((t) => ({
      name: t.name,
      networks: t.networks.map((n) => ({
        name: n.name,
        vni: n.vni,
        subnets: n.subnets.flatMap((s) => [
          { cidr: s.cidr, ports: s.ports.map((p) => ({ name: p.name, ip: p.ip, mac: macToString(p.mac) })) },
          {
            cidr: s.cidr6,
            ports: s.ports.map((p) => ({ name: p.name, ip: p.ip6, mac: macToString(p.mac) })),
          },
        ]),
      })),
    })),
  };
}

export function inventoryYaml(cloud: SimCloud): string {
  return `# vxflow tenant inventory, written by the simulator\n${stringify(cloudInventory(cloud))}`;
}

export async function writeInventory(path: string, cloud: SimCloud): Promise<void> {
  await writeFile(path, inventoryYaml(cloud));
}
