/**
 * The tenant inventory (DESIGN.md tenant model) as a YAML file, validated, and compiled
 * into lookup tables: VNI → network, VLAN → network, and per scope a prefix trie of
 * subnets and one of port addresses, so enriching a flow is a handful of trie walks.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { cidrToString, parseCidr } from '../net/ip.ts';
import { createPrefixTrie, type PrefixTrie } from '../net/prefix-trie.ts';

// Unknown keys are refused like in the main configuration: a misspelt `netwrks:` used to
// load as a tenant with no networks, silently.
const closed = { additionalProperties: false } as const;
const Port = Type.Object(
  { name: Type.String(), ip: Type.String(), mac: Type.Optional(Type.String()) },
  closed,
);
const Subnet = Type.Object(
  {
    name: Type.Optional(Type.String()),
    cidr: Type.String(),
    ports: Type.Optional(Type.Array(Port)),
  },
  closed,
);
const Network = Type.Object(
  {
    name: Type.String(),
    vni: Type.Optional(Type.Integer({ minimum: 1, maximum: 0xffffff })),
    vlan: Type.Optional(Type.Integer({ minimum: 1, maximum: 4094 })),
    subnets: Type.Array(Subnet, { default: [] }),
  },
  closed,
);
const Tenant = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    networks: Type.Array(Network, { default: [] }),
  },
  closed,
);
export const InventoryFile = Type.Object(
  {
    tenants: Type.Array(Tenant, { default: [] }),
    exporters: Type.Optional(
      Type.Array(Type.Object({ address: Type.String(), name: Type.String() }, closed)),
    ),
  },
  closed,
);
export type InventoryFile = Static<typeof InventoryFile>;

export interface SubnetInfo {
  /** what flows show in src_subnet/dst_subnet: the subnet's name, else its CIDR */
  label: string;
  tenant: string;
  network: string;
}

/** The subnets and ports of one tenant or one network. */
export interface Scope {
  tenant: string;
  network: string;
  subnets: PrefixTrie<SubnetInfo>;
  ports: PrefixTrie<string>;
}

export interface Inventory {
  byVni: ReadonlyMap<number, { network: Scope; tenant: Scope }>;
  byVlan: ReadonlyMap<number, { network: Scope; tenant: Scope }>;
  /** subnets of every network, for flows with no VNI; flat networks win an overlap, and a
   *  subnet several tenants claim maps to tenant '' (ambiguous: left unassigned) */
  flat: Scope;
  tenantScopes: ReadonlyMap<string, Scope>;
  exporterNames: ReadonlyMap<string, string>;
  tenants: number;
  subnets: number;
}

/** `warnings`: what loads but is probably a mistake (subnets of different tenants that overlap) */
export type InventoryResult =
  | { ok: true; value: Inventory; warnings: string[] }
  | { ok: false; reason: string };

const scope = (tenant: string, network: string): Scope => ({
  tenant,
  network,
  subnets: createPrefixTrie(),
  ports: createPrefixTrie(),
});

export function emptyInventory(): Inventory {
  return {
    byVni: new Map(),
    byVlan: new Map(),
    flat: scope('', ''),
    tenantScopes: new Map(),
    exporterNames: new Map(),
    tenants: 0,
    subnets: 0,
  };
}

/** Parses and compiles inventory YAML text; never throws, says what is wrong. */
export function parseInventory(text: string): InventoryResult {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    return { ok: false, reason: `not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  const value = Value.Default(InventoryFile, Value.Clone(raw));
  const first = Value.Errors(InventoryFile, value).First();
  if (first) {
    const where = first.path || '(top level)';
    if (first.message.includes('Unexpected property')) {
      const known = Object.keys((first.schema as { properties?: object }).properties ?? {}).join(', ');
      return { ok: false, reason: `${where}: unknown key (known keys here: ${known})` };
    }
    return { ok: false, reason: `${where}: ${first.message}` };
  }
  return compileInventory(value as InventoryFile);
}

export function compileInventory(file: InventoryFile): InventoryResult {
  const inv = emptyInventory();
  const byVni = inv.byVni as Map<number, { network: Scope; tenant: Scope }>;
  const byVlan = inv.byVlan as Map<number, { network: Scope; tenant: Scope }>;
  const tenantScopes = inv.tenantScopes as Map<string, Scope>;
  // overlay networks first, so a flat network's port wins an overlap in the flat scope
  const later: (() => void)[] = [];
  const flatClaims = new Map<
    string,
    { cidr: NonNullable<ReturnType<typeof parseCidr>>; overlay: SubnetInfo[]; flat: SubnetInfo[] }
  >();
  for (const [ti, t] of file.tenants.entries()) {
    if (tenantScopes.has(t.name))
      return { ok: false, reason: `tenants/${ti}: tenant ${t.name} listed twice` };
    const tScope = scope(t.name, '');
    tenantScopes.set(t.name, tScope);
    for (const [ni, n] of t.networks.entries()) {
      const where = `tenants/${ti}/networks/${ni}`;
      const nScope = scope(t.name, n.name);
      if (n.vni !== undefined) {
        const prev = byVni.get(n.vni);
        if (prev)
          return {
            ok: false,
            reason: `${where}: VNI ${n.vni} already belongs to ${prev.tenant.tenant}/${prev.network.network}`,
          };
        byVni.set(n.vni, { network: nScope, tenant: tScope });
      }
      if (n.vlan !== undefined && !byVlan.has(n.vlan))
        byVlan.set(n.vlan, { network: nScope, tenant: tScope });
      for (const [si, s] of n.subnets.entries()) {
        const cidr = parseCidr(s.cidr);
        if (!cidr)
          return {
            ok: false,
            reason: `${where}/subnets/${si}: cidr ${JSON.stringify(s.cidr)} is not a CIDR`,
          };
        const info: SubnetInfo = { label: s.name ?? cidrToString(cidr), tenant: t.name, network: n.name };
        nScope.subnets.insert(cidr, info);
        tScope.subnets.insert(cidr, info);
        const key = cidrToString(cidr);
        const claim = flatClaims.get(key) ?? { cidr, overlay: [], flat: [] };
        (n.vni === undefined ? claim.flat : claim.overlay).push(info);
        flatClaims.set(key, claim);
        inv.subnets++;
        for (const [pi, p] of (s.ports ?? []).entries()) {
          const host = parseCidr(p.ip);
          if (!host || host.prefix !== host.bytes.length * 8)
            return {
              ok: false,
              reason: `${where}/subnets/${si}/ports/${pi}: ip ${JSON.stringify(p.ip)} is not an address`,
            };
          nScope.ports.insert(host, p.name);
          tScope.ports.insert(host, p.name);
          const addPort = () => inv.flat.ports.insert(host, p.name);
          if (n.vni === undefined) later.push(addPort);
          else addPort();
        }
      }
    }
  }
  for (const f of later) f();
  // A flow without a VNI can only be attributed by address when exactly one tenant claims the
  // subnet: flat (non-overlay) networks first, then overlay ones. Two tenants reusing the same
  // private subnet in their overlays is the normal case, and then only the VNI can tell.
  for (const claim of flatClaims.values()) {
    const owners = claim.flat.length > 0 ? claim.flat : claim.overlay;
    const tenants = new Set(owners.map((o) => o.tenant));
    inv.flat.subnets.insert(
      claim.cidr,
      tenants.size === 1 ? owners[0] : { label: owners[0].label, tenant: '', network: '' },
    );
  }
  inv.tenants = tenantScopes.size;
  const names = inv.exporterNames as Map<string, string>;
  for (const e of file.exporters ?? []) names.set(e.address, e.name);
  return { ok: true, value: inv, warnings: overlapWarnings([...flatClaims.values()]) };
}

const MAX_WARNINGS = 10;

/**
 * Subnets of different tenants where one lies inside the other (or both are the same
 * flat network): flows without a VNI in the overlap go to the narrower one, or to no
 * tenant. Identical overlay subnets of different tenants are the normal case (only the VNI
 * tells them apart) and are not reported. A sweep over the subnets in address order.
 */
function overlapWarnings(
  claims: { cidr: NonNullable<ReturnType<typeof parseCidr>>; overlay: SubnetInfo[]; flat: SubnetInfo[] }[],
): string[] {
  const out: string[] = [];
  let more = 0;
  const warn = (w: string) => {
    if (out.length < MAX_WARNINGS) out.push(w);
    else more++;
  };
  const tenantsOf = (c: (typeof claims)[number]) => new Set([...c.flat, ...c.overlay].map((o) => o.tenant));
  const compare = (a: Uint8Array, b: Uint8Array) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  };
  const contains = (outer: (typeof claims)[number]['cidr'], inner: (typeof claims)[number]['cidr']) => {
    if (outer.bytes.length !== inner.bytes.length || outer.prefix > inner.prefix) return false;
    for (let bit = 0; bit < outer.prefix; bit++) {
      const mask = 0x80 >> (bit & 7);
      if ((outer.bytes[bit >> 3] & mask) !== (inner.bytes[bit >> 3] & mask)) return false;
    }
    return true;
  };
  const sorted = [...claims].sort(
    (a, b) =>
      a.cidr.bytes.length - b.cidr.bytes.length ||
      compare(a.cidr.bytes, b.cidr.bytes) ||
      a.cidr.prefix - b.cidr.prefix,
  );
  const stack: (typeof claims)[number][] = [];
  for (const c of sorted) {
    if (new Set(c.flat.map((o) => o.tenant)).size > 1)
      warn(
        `subnet ${cidrToString(c.cidr)} is a flat network of several tenants: flows without a VNI there get no tenant`,
      );
    while (stack.length > 0 && !contains(stack[stack.length - 1].cidr, c.cidr)) stack.pop();
    const mine = tenantsOf(c);
    for (const outer of stack) {
      const theirs = [...tenantsOf(outer)].filter((t) => !mine.has(t));
      if (theirs.length > 0)
        warn(
          `subnet ${cidrToString(c.cidr)} (${[...mine].join(', ')}) lies inside ${cidrToString(outer.cidr)} (${theirs.join(', ')}): flows without a VNI there go to the narrower one`,
        );
    }
    stack.push(c);
  }
  if (more > 0) warn(`… and ${more} more overlaps`);
  return out;
}
