/**
 * An inventory document as the API accepts it: the file's schema (the collector's
 * InventoryFile, so the YAML file and the API take the same shape), compiled the way the
 * collector compiles it (a VNI belongs to one network, CIDRs and port addresses parse), and
 * one rule more: subnets may overlap only across different VNIs, since within one overlay
 * segment (or among flat networks) an address must name one subnet.
 */
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { compileInventory, InventoryFile } from '../../../collector/src/enrich/inventory.ts';
import { type Cidr, parseCidr } from '../../../collector/src/net/ip.ts';

export type InventoryCheck = { ok: true; value: InventoryFile } | { ok: false; reason: string };

function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.bytes.length !== b.bytes.length) return false;
  const bits = Math.min(a.prefix, b.prefix);
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((a.bytes[bit >> 3] & mask) !== (b.bytes[bit >> 3] & mask)) return false;
  }
  return true;
}

export function checkInventory(raw: unknown): InventoryCheck {
  const value = Value.Default(InventoryFile, Value.Clone(raw ?? {}));
  if (Value.Check(InventoryFile, value) === false) {
    const first = Value.Errors(InventoryFile, value).First();
    return { ok: false, reason: `${first?.path || '(top level)'}: ${first?.message ?? 'invalid'}` };
  }
  const doc = value as InventoryFile;
  const unknown = unknownKey(raw, ['tenants', 'exporters']);
  if (unknown) return { ok: false, reason: unknown };
  const compiled = compileInventory(doc);
  if (!compiled.ok) return compiled;
  const bySegment = new Map<string, { cidr: Cidr; where: string; text: string }[]>();
  for (const [ti, t] of doc.tenants.entries()) {
    for (const [ni, n] of t.networks.entries()) {
      const segment = n.vni !== undefined ? `vni ${n.vni}` : 'the flat networks';
      for (const [si, s] of n.subnets.entries()) {
        const cidr = parseCidr(s.cidr);
        if (!cidr) continue;
        const where = `tenants/${ti}/networks/${ni}/subnets/${si}`;
        const seen = bySegment.get(segment) ?? [];
        const clash = seen.find((o) => overlaps(o.cidr, cidr));
        if (clash)
          return {
            ok: false,
            reason: `${where}: ${s.cidr} overlaps ${clash.text} (${clash.where}) in ${segment}`,
          };
        seen.push({ cidr, where, text: s.cidr });
        bySegment.set(segment, seen);
      }
    }
  }
  return { ok: true, value: doc };
}

/** The top-level keys only: TypeBox's additionalProperties defaults allow the rest. */
function unknownKey(raw: unknown, known: string[]): string | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  for (const k of Object.keys(raw))
    if (!known.includes(k)) return `unknown key ${k} (known: ${known.join(', ')})`;
  return null;
}

export function checkInventoryYaml(text: string): InventoryCheck {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    return { ok: false, reason: `not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  return checkInventory(raw);
}
