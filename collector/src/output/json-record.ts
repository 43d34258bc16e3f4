/**
 * One flow as a JSON object with the canonical names: datetimes as ISO 8601 text, MACs as
 * 'aa:bb:cc:dd:ee:ff', 64-bit counters as exact JSON numbers (bigint digits, never rounded),
 * and fields with no canonical column (IE names, `pen<PEN>.<id>`) kept beside them.
 */
import { COLUMNS, type FlowRecord } from '../../../protocol/src/schema/columns.ts';

export function macToString(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`;
}

function jsonValue(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('hex'));
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const parts = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${jsonValue(x)}`);
    return `{${parts.join(',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map(jsonValue).join(',')}]`;
  return JSON.stringify(v) ?? 'null';
}

type Part = (rec: FlowRecord) => string;

const PARTS: Part[] = COLUMNS.map((c) => {
  const key = `${JSON.stringify(c.name)}:`;
  const name = c.name as keyof FlowRecord;
  switch (c.kind) {
    case 'datetime':
      return (r) => {
        const ms = r[name] as number;
        return key + (ms > 0 ? `"${new Date(ms).toISOString()}"` : 'null');
      };
    case 'mac':
      return (r) => `${key}"${macToString(r[name] as number)}"`;
    case 'ip':
    case 'string':
      return (r) => key + JSON.stringify(r[name] ?? '');
    default:
      return (r) => key + jsonValue(r[name]);
  }
});

export function flowToJson(rec: FlowRecord): string {
  let s = '{';
  for (let i = 0; i < PARTS.length; i++) s += (i ? ',' : '') + PARTS[i](rec);
  if (rec.extra) {
    for (const [k, v] of Object.entries(rec.extra)) {
      if (COLUMNS.some((c) => c.name === k)) continue;
      s += `,${JSON.stringify(k)}:${jsonValue(v)}`;
    }
  }
  return `${s}}`;
}
