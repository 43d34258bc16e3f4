/**
 * The JSON form of a flow record (JSON lines output, `vxflow decode`, the API): canonical
 * names, generated from the schema. Datetimes as ISO 8601 with milliseconds, MACs as
 * aa:bb:cc:dd:ee:ff, u64 above 2^53 as decimal strings (JSON numbers would round), and
 * fields with no canonical column flattened in under their IE name / pen<PEN>.<id>.
 */
import { COLUMNS, type FlowRecord } from './columns.ts';

export function macToString(mac: number): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const byte = Math.floor(mac / 2 ** (8 * i)) & 0xff;
    s += (i < 5 ? ':' : '') + (byte < 16 ? '0' : '') + byte.toString(16);
  }
  return s;
}

export function toJsonObject(rec: FlowRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const c of COLUMNS) {
    const v = rec[c.name];
    switch (c.kind) {
      case 'datetime':
        // garbage from an exporter can lie past what a Date holds (8.64e15 ms): null, never a throw
        o[c.name] =
          (v as number) > 0 && (v as number) <= 8.64e15 ? new Date(v as number).toISOString() : null;
        break;
      case 'mac':
        o[c.name] = macToString(v as number);
        break;
      case 'u64':
        o[c.name] = typeof v === 'bigint' ? v.toString() : v;
        break;
      default:
        o[c.name] = v;
    }
  }
  if (rec.extra) {
    for (const [k, v] of Object.entries(rec.extra)) {
      if (k in o) continue;
      o[k] = typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v;
    }
  }
  return o;
}

export function toJsonLine(rec: FlowRecord): string {
  return JSON.stringify(toJsonObject(rec));
}

/** The JSON field list (canonical names, schema order), for docs and API field lists. */
export const JSON_FIELDS: readonly { name: string; type: string; description: string }[] = COLUMNS.map(
  (c) => ({
    name: c.name,
    type:
      c.kind === 'datetime'
        ? 'string (ISO 8601)'
        : c.kind === 'ip' || c.kind === 'string'
          ? 'string'
          : c.kind === 'mac'
            ? 'string (MAC)'
            : c.kind === 'u64'
              ? 'number (string above 2^53)'
              : 'number',
    description: c.description,
  }),
);
