import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMNS, emptyFlow, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { toJsonLine, toJsonObject } from '../../../protocol/src/schema/json.ts';
import { newFlowRowBuffer } from '../../../storage/src/flow-rowbinary.ts';
import { writeJsonLine } from './json-line.ts';

const column = (kind: string): fc.Arbitrary<unknown> => {
  switch (kind) {
    case 'ip':
      return fc.oneof(fc.constant(''), fc.ipV4(), fc.ipV6(), fc.string());
    case 'string':
      return fc.oneof(
        fc.constant(''),
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc.constant('a"b\\c\n\u2028é'),
        fc.constant(undefined),
      );
    case 'u64':
      return fc.oneof(
        fc.nat(),
        fc.maxSafeInteger(),
        fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
        fc.constantFrom(Number.NaN, -3, 1.25, 1e21),
      );
    case 'mac':
      return fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 48 - 1 }));
    case 'datetime':
      return fc.oneof(
        fc.constantFrom(0, -5, 1.5, 253_402_300_800_000),
        fc.integer({ min: 1, max: 253_402_300_799_999 }),
        fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
      );
    default:
      return fc.oneof(
        fc.nat({ max: 2 ** 32 - 1 }),
        fc.constantFrom(Number.POSITIVE_INFINITY, -0, 7, 10, 99, 100),
      );
  }
};

const record = fc.record(
  Object.fromEntries(COLUMNS.map((c) => [c.name, column(c.kind)])),
) as unknown as fc.Arbitrary<FlowRecord>;
const extra = fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.nat(), fc.bigInt())), {
  nil: undefined,
});

function fast(rows: FlowRecord[]): string {
  const out = newFlowRowBuffer(8);
  for (const r of rows) writeJsonLine(out, r);
  expect(out.rows).toBe(rows.length);
  return out.buf.subarray(0, out.off).toString('utf8');
}

describe('writeJsonLine', () => {
  it('writes exactly the bytes of toJsonLine plus a newline, for any records', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(record, extra), { minLength: 1, maxLength: 10 }), (pairs) => {
        const rows = pairs.map(([r, x]) => (x === undefined ? r : Object.assign(r, { extra: x })));
        expect(fast(rows)).toBe(rows.map((r) => `${toJsonLine(r)}\n`).join(''));
      }),
      { numRuns: 400 },
    );
  });

  it('keeps per-column second caches apart across consecutive flows', () => {
    const a = emptyFlow();
    const b = emptyFlow();
    Object.assign(a, {
      time_received: 1_764_000_000_123,
      flow_start: 1_764_000_000_005,
      flow_end: 1_764_000_001_999,
    });
    Object.assign(b, {
      time_received: 1_764_000_000_999,
      flow_start: 1_763_999_999_000,
      flow_end: 1_764_000_001_000,
    });
    const rows = [a, b, a, b];
    const got = fast(rows);
    expect(got).toBe(rows.map((r) => `${toJsonLine(r)}\n`).join(''));
    expect(JSON.parse(got.split('\n')[0]).flow_start).toBe('2025-11-24T16:00:00.005Z');
  });
});

describe('writeJsonLine on garbage datetimes', () => {
  it('writes null, as toJsonLine does, where a Date cannot hold the value', () => {
    const r = emptyFlow();
    Object.assign(r, { flow_start: 2 ** 60, flow_end: 1_764_000_000_000 });
    expect(toJsonLine(r)).toContain('"flow_start":null');
    const out = newFlowRowBuffer(8);
    writeJsonLine(out, r);
    const parsed = JSON.parse(out.buf.subarray(0, out.off).toString('utf8'));
    expect(parsed.flow_start).toBeNull();
    expect(parsed.flow_end).toBe('2025-11-24T16:00:00.000Z');
  });
});

/** Names an exporter's extra elements get, and the keys a plain append would get wrong. */
const extraKey = fc.oneof(
  fc.constantFrom('systemInitTimeMilliseconds', 'samplerId', 'pen6876.892', 'pen9.12235', 'ipClassOfService'),
  fc.constantFrom(...COLUMNS.map((c) => c.name)),
  fc.constantFrom('constructor', '__proto__', 'toString', '0', '12', '4294967295', '01', '-1', 'a"b', 'é\n'),
  fc.string(),
);
const extraValue = fc.oneof(
  fc.nat(),
  fc.double(),
  fc.string(),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.boolean(),
  fc.constantFrom(undefined, null),
  fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
  fc.constant({ nested: 1 }),
);
const extraFields = fc.array(fc.tuple(extraKey, extraValue), { maxLength: 8 }).map((pairs) => {
  const x: Record<string, unknown> = {};
  // defineProperty: '__proto__' as an own key, as a decoder could produce from a name
  for (const [k, v] of pairs)
    Object.defineProperty(x, k, { value: v, enumerable: true, writable: true, configurable: true });
  return x;
});

describe('writeJsonLine against JSON.stringify of the record object', () => {
  it('writes JSON.stringify(toJsonObject(record)) and a newline, for random records with extra fields', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(record, fc.option(extraFields, { nil: undefined })), {
          minLength: 1,
          maxLength: 10,
        }),
        (pairs) => {
          const rows = pairs.map(([r, x]) => (x === undefined ? r : Object.assign(r, { extra: x })));
          expect(fast(rows)).toBe(rows.map((r) => `${JSON.stringify(toJsonObject(r))}\n`).join(''));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('writes a record with every column at its default, and with any one column set, as JSON.stringify does', () => {
    const rows: FlowRecord[] = [emptyFlow()];
    const values: Record<string, unknown[]> = {
      datetime: [1_764_000_000_123],
      ip: ['10.1.2.3', '2001:db8::1', undefined],
      string: ['tenant-a', 'é"', undefined],
      mac: [0x0a0b0c0d0e0f],
      u64: [7, 123_456_789_012, 2n ** 63n],
    };
    for (const c of COLUMNS)
      for (const v of values[c.kind] ?? [5, 65_535, 4_294_967_295])
        rows.push(Object.assign(emptyFlow(), { [c.name]: v }), emptyFlow());
    expect(fast(rows)).toBe(rows.map((r) => `${JSON.stringify(toJsonObject(r))}\n`).join(''));
  });
});
