/**
 * How the API reads schema columns out of ClickHouse, derived from the one flow schema
 * (protocol/src/schema/columns.ts): the text form of each kind (addresses without the
 * IPv4-mapped prefix, MACs as aa:bb:…, u64 as decimal text so nothing rounds), which
 * columns the API offers as dimensions, and which of them the rollups keep.
 */
import { COLUMNS, type Column } from '../../../protocol/src/schema/columns.ts';
import { ip, literal } from '../../../storage/src/sql.ts';

export const DIMENSIONS: readonly Column[] = COLUMNS.filter((c) => c.dimension);
export const DIMENSION_NAMES: readonly string[] = DIMENSIONS.map((c) => c.name);
export const ROLLUP_COLUMNS: ReadonlySet<string> = new Set(
  COLUMNS.filter((c) => c.rollup).map((c) => c.name),
);
const BY_NAME: ReadonlyMap<string, Column> = new Map(COLUMNS.map((c) => [c.name, c]));

export function columnByName(name: string): Column | undefined {
  return BY_NAME.get(name);
}

/** SQL giving the column's JSON/text form; `col` may be a qualified reference. */
export function textExpr(c: Column, col: string = c.name): string {
  switch (c.kind) {
    case 'ip':
      // '::' is the all-zero "absent" address: it reads as '' like in the JSON output
      return `if(${col} = toFixedString('', 16), '', replaceRegexpOne(IPv6NumToString(${col}), '^::ffff:', ''))`;
    case 'mac':
      return `lower(MACNumToString(${col}))`;
    case 'datetime':
      return `toString(toUnixTimestamp(${col}))`;
    default:
      return `toString(${col})`;
  }
}

/** SQL selecting the column for a JSON row (numbers stay numbers except u64, which is text). */
export function jsonExpr(c: Column): string {
  switch (c.kind) {
    case 'ip':
    case 'mac':
      return textExpr(c);
    case 'datetime':
      return `toUnixTimestamp(${c.name})`;
    case 'u64':
      return `toString(${c.name})`;
    default:
      return c.name;
  }
}

/** Turns what jsonExpr selected into the JSON form of schema/json.ts. */
export function jsonValue(c: Column, v: unknown): unknown {
  switch (c.kind) {
    case 'datetime': {
      const n = Number(v);
      return n > 0 ? new Date(n * 1000).toISOString() : null;
    }
    case 'u64': {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : String(v);
    }
    case 'u8':
    case 'u16':
    case 'u32':
      return Number(v);
    default:
      return v;
  }
}

/**
 * The SQL literal of a column's stored value, from its text form (what textExpr gives),
 * so a query can compare stored values instead of formatting every row.
 */
export function rawLiteral(c: Column, text: string): string {
  switch (c.kind) {
    case 'ip':
      return text === '' ? "toFixedString('', 16)" : literal(ip(text));
    case 'mac':
      return literal(Number.parseInt(text.replace(/:/g, ''), 16) || 0);
    case 'string':
      return literal(text);
    case 'datetime':
      return `toDateTime(${literal(Number(text) || 0)})`;
    case 'u64':
      return /^\d+$/.test(text) ? literal(BigInt(text)) : '0';
    default:
      return literal(Number(text) || 0);
  }
}
