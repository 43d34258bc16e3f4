/**
 * The JSON form of a flow record (what `vxflow decode` prints): canonical column names,
 * addresses as text, datetimes as ISO strings (null when not exported), MACs as
 * aa:bb:cc:dd:ee:ff, extra elements flattened in under their IE name or pen<PEN>.<id>.
 * 64-bit counters above 2^53 stay exact: stringifyFlow writes them as bare JSON numbers.
 */
import { COLUMNS, type FlowRecord } from '../schema/columns.ts';
import { macToString } from './values.ts';

export type JsonFlow = Record<string, string | number | boolean | bigint | null>;

function iso(ms: number): string | null {
  if (!ms || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return new Date(ms).toISOString();
}

export function flowToJson(rec: FlowRecord): JsonFlow {
  const out: JsonFlow = {};
  const r = rec as unknown as Record<string, unknown>;
  for (const c of COLUMNS) {
    const v = r[c.name];
    if (c.kind === 'datetime') out[c.name] = iso(v as number);
    else if (c.kind === 'mac') out[c.name] = macToString(v as number);
    else out[c.name] = v as string | number | bigint;
  }
  if (rec.extra)
    for (const [k, v] of Object.entries(rec.extra)) out[k] = v as string | number | boolean | bigint;
  return out;
}

/** One JSON line; bigint values are written as exact integers. */
export function stringifyFlow(rec: FlowRecord): string {
  let bigs: string[] | null = null;
  const text = JSON.stringify(flowToJson(rec), (_k, v) => {
    if (typeof v !== 'bigint') return v;
    bigs ??= [];
    bigs.push(v.toString());
    return `\u0000big${bigs.length - 1}\u0000`;
  });
  if (bigs === null) return text;
  const found = bigs as string[];
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => found[Number(i)]);
}
