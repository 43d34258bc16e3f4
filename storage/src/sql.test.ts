import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dateTime, ident, ip, isIPv6, literal, quoteString, raw, SqlBindError, sql } from './sql.ts';

describe('sql literal binding', () => {
  it('escapes quotes, backslashes and control characters', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
    expect(quoteString('line\nnext\ttab\r\0')).toBe("'line\\nnext\\ttab\\r\\0'");
    expect(quoteString('\x01\x1f\x7f')).toBe("'\\x01\\x1f\\x7f'");
    expect(quoteString("'; DROP TABLE flows; --")).toBe("'\\'; DROP TABLE flows; --'");
  });

  it('binds numbers, bigints, booleans, arrays, dates and addresses by type', () => {
    expect(sql`x = ${42}`).toBe('x = 42');
    expect(sql`x = ${-1}`).toBe('x = (-1)');
    expect(sql`x = ${1.5}`).toBe('x = 1.5');
    expect(sql`x = ${18446744073709551615n}`).toBe('x = 18446744073709551615');
    expect(sql`x = ${true}`).toBe('x = 1');
    expect(sql`x IN ${[1, 'a']}`).toBe("x IN [1, 'a']");
    expect(sql`t >= ${dateTime(Date.UTC(2026, 10, 25, 1, 2, 3))}`).toBe(
      "t >= toDateTime('2026-11-25 01:02:03', 'UTC')",
    );
    expect(sql`a = ${ip('10.0.0.1')}`).toBe("a = IPv4ToIPv6(IPv4StringToNum('10.0.0.1'))");
    expect(sql`a = ${ip('2001:db8::1')}`).toBe("a = IPv6StringToNum('2001:db8::1')");
    expect(sql`SELECT * FROM ${ident('vxflow.flows')}`).toBe('SELECT * FROM vxflow.flows');
    expect(sql`${raw('now()')}`).toBe('now()');
  });

  it('rejects values of the wrong type', () => {
    expect(() => literal(Number.NaN)).toThrow(SqlBindError);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(SqlBindError);
    expect(() => literal(undefined)).toThrow(SqlBindError);
    expect(() => literal(null)).toThrow(SqlBindError);
    expect(() => literal({ a: 1 })).toThrow(SqlBindError);
    expect(() => literal(() => 1)).toThrow(SqlBindError);
    expect(() => literal(Symbol('x'))).toThrow(SqlBindError);
    expect(() => literal(new Date('nope'))).toThrow(SqlBindError);
    expect(() => literal(ip("10.0.0.1'); DROP"))).toThrow(SqlBindError);
    expect(() => ident('flows; DROP TABLE x')).toThrow(SqlBindError);
    expect(() => ident('a b')).toThrow(SqlBindError);
  });

  it('validates IPv6 text', () => {
    for (const good of ['::', '::1', '2001:db8::', 'fe80::1:2:3:4', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8']) {
      expect(isIPv6(good), good).toBe(true);
    }
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '12345::', '10.0.0.1', ':']) {
      expect(isIPv6(bad), bad).toBe(false);
    }
  });

  it('never lets a string out of its quotes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const q = quoteString(s);
        // strip escapes: what remains between the outer quotes has no bare quote or backslash
        const inner = q.slice(1, -1).replace(/\\(x[0-9a-f]{2}|.)/g, '');
        expect(inner).not.toMatch(/['\\\x00-\x1f\x7f]/);
      }),
    );
  });
});
