/**
 * The information-element registry: name and value type for an (enterprise, element)
 * pair. IANA elements come from the generated table; enterprise elements and NetFlow v9
 * vendor types from enterprise.ts. Unknown elements are not an error: they get a stable
 * name made of their numbers and are shown as hex.
 */
import { ENTERPRISE_ELEMENTS, NTOP_V9_BASE, PEN_NTOP, V9_VENDOR_ELEMENTS } from './enterprise.ts';
import { IANA_ELEMENTS } from './iana.generated.ts';
import type { IeType } from './types.ts';

export type { IeType } from './types.ts';

export interface ElementInfo {
  readonly pen: number;
  readonly id: number;
  /** IANA name, vendor name, or `pen<PEN>.<id>` / `ie<id>` when unknown */
  readonly name: string;
  readonly type: IeType;
  readonly known: boolean;
}

const iana = new Map<number, ElementInfo>();
for (const [id, name, type] of IANA_ELEMENTS) iana.set(id, { pen: 0, id, name, type, known: true });

const enterprise = new Map<string, ElementInfo>();
for (const [pen, id, name, type] of ENTERPRISE_ELEMENTS)
  enterprise.set(`${pen}.${id}`, { pen, id, name, type, known: true });

const v9Vendor = new Map<number, ElementInfo>();
for (const [id, name, type] of V9_VENDOR_ELEMENTS) v9Vendor.set(id, { pen: 0, id, name, type, known: true });

/** Name used in FlowRecord.extra / JSON for an enterprise element. */
export function enterpriseKey(pen: number, id: number): string {
  return `pen${pen}.${id}`;
}

/**
 * Looks an element up. `version` 9 consults the v9 vendor numbering (ASA, nProbe) for ids
 * above the IANA range; IPFIX uses the enterprise number.
 */
export function lookupElement(pen: number, id: number, version = 10): ElementInfo {
  if (pen !== 0) {
    const e = enterprise.get(`${pen}.${id}`);
    if (e) return { ...e, name: enterpriseKey(pen, id) };
    return { pen, id, name: enterpriseKey(pen, id), type: 'octets', known: false };
  }
  if (version === 9 && id >= 32768) {
    const v = v9Vendor.get(id);
    if (v) return v;
    if (id > NTOP_V9_BASE) {
      const n = enterprise.get(`${PEN_NTOP}.${id - NTOP_V9_BASE}`);
      if (n) return { ...n, pen: 0, id, name: enterpriseKey(PEN_NTOP, id - NTOP_V9_BASE) };
    }
  }
  const i = iana.get(id);
  if (i) return i;
  return { pen: 0, id, name: `ie${id}`, type: 'octets', known: false };
}

/** The vendor's own name for an enterprise element, when we know it (for --templates). */
export function describeElement(pen: number, id: number, version = 10): string {
  if (pen !== 0) return enterprise.get(`${pen}.${id}`)?.name ?? enterpriseKey(pen, id);
  return lookupElement(pen, id, version).name;
}

export function ianaElementCount(): number {
  return iana.size;
}
