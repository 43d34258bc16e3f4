/**
 * Template and options-template records of NetFlow v9 (RFC 3954 §5.2, §6.1) and IPFIX
 * (RFC 7011 §3.4), parsed into one shape. Parsing validates every length against the set
 * bound and the configured limits; problems come back as error kinds, never exceptions.
 *
 * v9 Template FlowSet (id 0):      Template ID (2) | Field Count (2) | {Type (2) | Length (2)}*
 * v9 Options Template (id 1):      Template ID (2) | Scope Length (2) | Option Length (2) |
 *                                  {scope Type | Length}* {option Type | Length}*   (lengths in bytes)
 * IPFIX Template Set (id 2):       Template ID (2) | Field Count (2) | field specifiers
 * IPFIX Options Template (id 3):   Template ID (2) | Field Count (2) | Scope Field Count (2) | specs
 * IPFIX field specifier:           E(1) | IE id (15) | Field Length (2) [| Enterprise Number (4)]
 */
import type { DecodeErrorKind } from './api.ts';

export const VARLEN = 65535;

export interface FieldSpec {
  /** enterprise number, 0 = IANA (always 0 in v9) */
  readonly pen: number;
  readonly id: number;
  /** octets, or VARLEN */
  readonly length: number;
}

export interface TemplateDef {
  readonly templateId: number;
  readonly options: boolean;
  readonly scopeFieldCount: number;
  readonly fields: readonly FieldSpec[];
}

export interface ParsedTemplates {
  templates: TemplateDef[];
  errors: DecodeErrorKind[];
}

export interface TemplateLimits {
  maxFieldsPerTemplate: number;
}

/** Sum of fixed lengths, and the smallest possible record (a varlen field takes ≥ 1 octet). */
export function recordBounds(fields: readonly FieldSpec[]): { fixed: number; min: number; varlen: boolean } {
  let fixed = 0;
  let varlen = false;
  let n = 0;
  for (const f of fields) {
    if (f.length === VARLEN) {
      varlen = true;
      n++;
    } else fixed += f.length;
  }
  return { fixed, min: fixed + n, varlen };
}

function validRecordShape(fields: readonly FieldSpec[]): boolean {
  // a record that can be zero octets long would never advance through a data set
  return recordBounds(fields).min > 0;
}

/** Template or options template records of one v9 FlowSet body [p, end). */
export function parseV9TemplateSet(
  b: Buffer,
  p: number,
  end: number,
  options: boolean,
  limits: TemplateLimits,
): ParsedTemplates {
  const out: ParsedTemplates = { templates: [], errors: [] };
  const headerLen = options ? 6 : 4;
  while (p + headerLen <= end) {
    const templateId = b.readUInt16BE(p);
    if (templateId === 0) break; // zero padding up to the FlowSet length
    let scopeCount = 0;
    let count: number;
    if (options) {
      const scopeLen = b.readUInt16BE(p + 2);
      const optionLen = b.readUInt16BE(p + 4);
      if (scopeLen % 4 !== 0 || optionLen % 4 !== 0) {
        out.errors.push('template-invalid');
        return out;
      }
      scopeCount = scopeLen / 4;
      count = scopeCount + optionLen / 4;
    } else {
      count = b.readUInt16BE(p + 2);
    }
    p += headerLen;
    if (p + count * 4 > end) {
      out.errors.push('template-invalid');
      return out;
    }
    if (count > limits.maxFieldsPerTemplate) {
      out.errors.push('field-limit');
      p += count * 4;
      continue;
    }
    const fields: FieldSpec[] = [];
    for (let i = 0; i < count; i++, p += 4)
      fields.push({ pen: 0, id: b.readUInt16BE(p), length: b.readUInt16BE(p + 2) });
    if (templateId < 256 || count === 0 || !validRecordShape(fields)) {
      out.errors.push('template-invalid');
      continue;
    }
    out.templates.push({ templateId, options, scopeFieldCount: scopeCount, fields });
  }
  return out;
}

/** Template or options template records of one IPFIX Set body [p, end). */
export function parseIpfixTemplateSet(
  b: Buffer,
  p: number,
  end: number,
  options: boolean,
  limits: TemplateLimits,
): ParsedTemplates {
  const out: ParsedTemplates = { templates: [], errors: [] };
  const headerLen = options ? 6 : 4;
  while (p + 4 <= end) {
    const templateId = b.readUInt16BE(p);
    const count = b.readUInt16BE(p + 2);
    if (templateId === 0 && count === 0) break; // padding
    if (count === 0) {
      // Template Withdrawal (RFC 7011 §8.1): MUST be ignored over UDP (§8.4)
      p += 4;
      continue;
    }
    if (p + headerLen > end) {
      out.errors.push('template-invalid');
      return out;
    }
    const scopeCount = options ? b.readUInt16BE(p + 4) : 0;
    p += headerLen;
    if (count > limits.maxFieldsPerTemplate) {
      out.errors.push('field-limit');
      return out; // field specifiers have varying sizes: the rest of the set cannot be found
    }
    const fields: FieldSpec[] = [];
    for (let i = 0; i < count; i++) {
      if (p + 4 > end) {
        out.errors.push('template-invalid');
        return out;
      }
      const raw = b.readUInt16BE(p);
      const length = b.readUInt16BE(p + 2);
      p += 4;
      if (raw & 0x8000) {
        if (p + 4 > end) {
          out.errors.push('template-invalid');
          return out;
        }
        fields.push({ pen: b.readUInt32BE(p), id: raw & 0x7fff, length });
        p += 4;
      } else fields.push({ pen: 0, id: raw, length });
    }
    if (templateId < 256 || scopeCount > count || !validRecordShape(fields)) {
      out.errors.push('template-invalid');
      continue;
    }
    out.templates.push({ templateId, options, scopeFieldCount: scopeCount, fields });
  }
  return out;
}

/** Exact text of a template's shape: equal signatures decode identically. */
export function templateSignature(version: number, t: TemplateDef): string {
  let s = `${version}/${t.options ? 'o' : 'd'}${t.scopeFieldCount}`;
  for (const f of t.fields) s += f.pen ? `,${f.pen}.${f.id}:${f.length}` : `,${f.id}:${f.length}`;
  return s;
}
