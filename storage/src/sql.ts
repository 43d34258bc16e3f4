/**
 * Binding values into SQL. ClickHouse 18.16 has no server-side query parameters, so every
 * value that reaches SQL goes through here and nowhere else: typed literals with escaping,
 * and a refusal (SqlBindError) of anything whose type we cannot render safely.
 *
 *   sql`SELECT sum(bytes) FROM flows WHERE tenant = ${tenant} AND time_received >= ${since}`
 *
 * Identifiers (table and column names) are not values: bind them with `ident()`, which only
 * accepts plain names. `raw()` marks SQL text written by the program itself.
 */

import { isIPv4Text, isIPv6Text } from '../../protocol/src/schema/ip.ts';

export class SqlBindError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'SqlBindError';
  }
}

const RAW = Symbol('sql.raw');
export interface RawSql {
  readonly [RAW]: string;
}

/** SQL text that the program wrote (never user input). */
export function raw(text: string): RawSql {
  return { [RAW]: text };
}

/** A table or column name: letters, digits and underscores, optionally `db.table`. */
export function ident(name: string): RawSql {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(name)) {
    throw new SqlBindError(`not a valid identifier: ${JSON.stringify(name)}`);
  }
  return raw(name);
}

/** An IP address literal, rendered as the 16-byte FixedString form used by ip columns. */
export class IpLiteral {
  constructor(readonly address: string) {}
}
export const ip = (address: string) => new IpLiteral(address);

/** A DateTime literal (second precision, UTC). */
export class DateTimeLiteral {
  constructor(readonly date: Date) {}
}
export const dateTime = (d: Date | number) => new DateTimeLiteral(typeof d === 'number' ? new Date(d) : d);

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

/** A string literal: quotes, backslashes and every control character escaped. */
export function quoteString(s: string): string {
  return `'${s.replace(/[\\'\n\r\t\0\b\f\x01-\x1f\x7f]/g, (ch) => ESCAPES[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}

/** Dotted-quad IPv4 text (the one parser: protocol/src/schema/ip.ts). */
export function isIPv4(s: string): boolean {
  return typeof s === 'string' && isIPv4Text(s);
}

/** IPv6 text, IPv4-mapped forms included (the one parser: protocol/src/schema/ip.ts). */
export function isIPv6(s: string): boolean {
  return typeof s === 'string' && isIPv6Text(s);
}

function renderIp(address: string): string {
  if (isIPv4(address)) return `IPv4ToIPv6(IPv4StringToNum(${quoteString(address)}))`;
  if (isIPv6(address)) return `IPv6StringToNum(${quoteString(address)})`;
  throw new SqlBindError(`not an IP address: ${JSON.stringify(address)}`);
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Renders one value as a ClickHouse literal, or throws SqlBindError. */
export function literal(v: unknown): string {
  if (v !== null && typeof v === 'object' && RAW in v) return (v as RawSql)[RAW];
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new SqlBindError(`cannot bind a non-finite number (${v})`);
      return Number.isInteger(v) ? (v < 0 ? `(${v})` : String(v)) : String(v);
    case 'bigint':
      return v < 0n ? `(${v})` : String(v);
    case 'string':
      return quoteString(v);
    case 'boolean':
      return v ? '1' : '0';
    case 'object':
      if (v instanceof IpLiteral) return renderIp(v.address);
      if (v instanceof DateTimeLiteral || v instanceof Date) {
        const d = v instanceof Date ? v : v.date;
        if (Number.isNaN(d.getTime())) throw new SqlBindError('cannot bind an invalid Date');
        return `toDateTime('${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}', 'UTC')`;
      }
      if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`;
      throw new SqlBindError(
        `cannot bind ${v === null ? 'null' : (v.constructor?.name ?? 'an object')} into SQL`,
      );
    default:
      throw new SqlBindError(`cannot bind a value of type ${typeof v} into SQL`);
  }
}

/** Tagged template: every interpolated value is bound as a typed literal. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += literal(values[i]) + strings[i + 1];
  return out;
}
