/**
 * The JSON text of a record's extra fields (elements with no canonical column) exactly as
 * toJsonLine (json.ts) appends them after the columns, for writers that build the line
 * themselves (collector/src/output/json-line.ts, which `vxflow decode` prints with).
 *
 * toJsonObject copies each extra field into the object after the columns, unless the
 * object already has the key (a column's name, or one Object.prototype answers to, like
 * `constructor`), converting bigints to decimal strings and Buffers to hex. What makes a
 * plain append wrong is left to toJsonLine: an array-index key (an object lists those
 * first) and values that are not flat (objects, functions).
 */
import { COLUMNS } from './columns.ts';

/** An object with the columns' keys: `k in TAKEN` answers as `k in o` does in toJsonObject. */
const TAKEN: Record<string, unknown> = Object.fromEntries(COLUMNS.map((c) => [c.name, true]));
const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;
/** The names come from the element registry or `pen<PEN>.<id>`: bounded, but hostile input can vary the PEN. */
const KEY_CACHE_MAX = 4096;
/** field name → ',"name":', '' when the key is skipped, null when only toJsonLine gets it right */
const keys = new Map<string, string | null>();

function quotedKey(k: string): string | null {
  let q = keys.get(k);
  if (q !== undefined) return q;
  q = k in TAKEN ? '' : INDEX_KEY.test(k) && Number(k) < 2 ** 32 - 1 ? null : `,${JSON.stringify(k)}:`;
  if (keys.size < KEY_CACHE_MAX) keys.set(k, q);
  return q;
}

/**
 * The text toJsonLine writes for `extra` between the last column and the closing brace
 * (each field as `,"name":value`), or null when the record must go through toJsonLine.
 */
export function extraFieldsJson(extra: Record<string, unknown>): string | null {
  let s = '';
  for (const k of Object.keys(extra)) {
    const key = quotedKey(k);
    if (key === null) return null;
    if (key === '') continue;
    const v = extra[k];
    switch (typeof v) {
      case 'number':
        s += key + (Number.isFinite(v) ? `${v}` : 'null');
        break;
      case 'string':
        s += key + JSON.stringify(v);
        break;
      case 'bigint':
        s += `${key}"${v}"`;
        break;
      case 'boolean':
        s += key + (v ? 'true' : 'false');
        break;
      case 'undefined': // JSON.stringify leaves the key out
        break;
      default:
        if (v === null) s += `${key}null`;
        else if (Buffer.isBuffer(v)) s += `${key}"${v.toString('hex')}"`;
        else return null;
    }
  }
  return s;
}
