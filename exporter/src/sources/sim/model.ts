/**
 * The simulated multi-tenant cloud: tenants own overlay networks (one VNI each), networks own
 * subnets, subnets own VM ports placed on hypervisors (VTEPs). Network n of EVERY tenant uses
 * 10.0.n.0/24 (and fd00:0:0:n::/64): the tenants' address spaces overlap on purpose, as they
 * do in real clouds, so only the VNI tells their flows apart.
 *
 * Built deterministically from the seed.
 */
import { createPrng } from './prng.ts';

export type Role = 'web' | 'app' | 'db' | 'cache' | 'dns';

export interface SimPort {
  name: string;
  ip: string;
  ip6: string;
  mac: number;
  role: Role;
  /** hypervisor index */
  host: number;
}

export interface SimSubnet {
  cidr: string;
  cidr6: string;
  ports: SimPort[];
}

export interface SimNetwork {
  name: string;
  vni: number;
  subnets: SimSubnet[];
}

export interface SimTenant {
  name: string;
  networks: SimNetwork[];
  /** every port of the tenant, for picking peers */
  ports: { port: SimPort; network: SimNetwork }[];
}

export interface SimCloud {
  tenants: SimTenant[];
  /** VTEP (underlay) address of each hypervisor */
  vteps: string[];
  /** the VTEP of the network node that routes tenant traffic to and from the internet */
  gatewayVtep: string;
  /** public addresses north-south traffic talks to, most popular first */
  internet: string[];
}

const TENANT_NAMES = [
  'acme',
  'globex',
  'initech',
  'umbrella',
  'hooli',
  'stark',
  'wayne',
  'wonka',
  'tyrell',
  'cyberdyne',
  'soylent',
  'aperture',
];
const NETWORK_NAMES = ['prod', 'staging', 'data', 'mgmt'];
const ROLES: readonly Role[] = ['web', 'web', 'app', 'app', 'db', 'cache', 'dns'];

export interface CloudOptions {
  seed: number;
  tenants: number;
  /** hypervisors (default: 4 + tenants / 2) */
  hosts?: number;
}

export function buildCloud(opts: CloudOptions): SimCloud {
  const rng = createPrng(opts.seed ^ 0x5eed);
  const hosts = opts.hosts ?? 4 + Math.ceil(opts.tenants / 2);
  const vteps = Array.from({ length: hosts }, (_, h) => `172.16.${(h >> 8) & 255}.${(h & 255) + 1}`);
  const tenants: SimTenant[] = [];
  for (let t = 0; t < opts.tenants; t++) {
    const base = TENANT_NAMES[t % TENANT_NAMES.length];
    const name = t < TENANT_NAMES.length ? base : `${base}-${Math.floor(t / TENANT_NAMES.length) + 1}`;
    const tenant: SimTenant = { name, networks: [], ports: [] };
    const nets = rng.int(1, 3);
    for (let n = 0; n < nets; n++) {
      const network: SimNetwork = {
        name: NETWORK_NAMES[n],
        // unique per (tenant, network): 5000 + 8·tenant + network, within the 24-bit VNI space
        vni: 5000 + t * 8 + n,
        subnets: [],
      };
      // canonical (RFC 5952) text, as decoders print addresses
      const prefix6 = n === 0 ? 'fd00:' : `fd00:0:0:${n.toString(16)}:`;
      const subnet: SimSubnet = { cidr: `10.0.${n}.0/24`, cidr6: `${prefix6}:/64`, ports: [] };
      const vms = rng.int(3, 12);
      for (let i = 0; i < vms; i++) {
        const role = rng.pick(ROLES);
        const port: SimPort = {
          name: `${name}-${network.name}-${role}-${i + 1}`,
          ip: `10.0.${n}.${10 + i}`,
          ip6: `${prefix6}:${(10 + i).toString(16)}`,
          // locally administered unicast MAC: 02:tt:tt:nn:00:ii
          mac: 0x02_00_00_00_00_00 + (t & 0xffff) * 0x1_00_00_00 + n * 0x1_00_00 + i,
          role,
          host: rng.int(0, hosts - 1),
        };
        subnet.ports.push(port);
        tenant.ports.push({ port, network });
      }
      network.subnets.push(subnet);
      tenant.networks.push(network);
    }
    tenants.push(tenant);
  }
  const internet: string[] = [];
  for (let i = 0; i < 200; i++) {
    const pools = ['203.0.113', '198.51.100', '192.0.2', '100.64.7'];
    internet.push(`${pools[i % pools.length]}.${1 + ((i * 37) % 254)}`);
  }
  return { tenants, vteps, gatewayVtep: '172.16.255.254', internet };
}
