import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMNS, emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import { encodeFlowsRowBinary, newFlowRowBuffer, writeFlowRowFast } from './flow-rowbinary.ts';
import { RowBinaryWriter } from './rowbinary.ts';

/** The oracle: the plainest possible writer, one RowBinaryWriter call per column. */
function canonical(rows: FlowRecord[]): Buffer {
  const w = new RowBinaryWriter(64);
  for (const r of rows) {
    for (const c of COLUMNS) {
      const v = r[c.name] as never;
      switch (c.kind) {
        case 'datetime':
          w.dateTime(v);
          break;
        case 'ip':
          w.ip(v);
          break;
        case 'mac':
        case 'u64':
          w.u64(v);
          break;
        case 'u8':
          w.u8(v);
          break;
        case 'u16':
          w.u16(v);
          break;
        case 'u32':
          w.u32(v);
          break;
        case 'string':
          w.string(v ?? '');
          break;
      }
    }
  }
  return Buffer.from(w.finish());
}

function fast(rows: FlowRecord[], capacity = 16): Buffer {
  const out = newFlowRowBuffer(capacity);
  for (const r of rows) writeFlowRowFast(out, r);
  expect(out.rows).toBe(rows.length);
  return Buffer.from(out.buf.subarray(0, out.off));
}

const ipText = fc.oneof(
  fc.constant(''),
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom(
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '::ffff:10.0.0.1',
    'not an address',
    '1..2.3',
  ),
);
const text = fc.oneof(
  fc.constant(''),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ minLength: 120, maxLength: 300 }),
);
const u64 = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.integer({ min: -5, max: 2 ** 53 - 1 }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.constantFrom(Number.NaN, 1.5, 2 ** 32, Number.POSITIVE_INFINITY),
);
const small = (bits: number) =>
  fc.oneof(fc.integer({ min: 0, max: 2 ** bits - 1 }), fc.constantFrom(-1, 2 ** bits, 1.5, Number.NaN));

const record: fc.Arbitrary<FlowRecord> = fc.record(
  Object.fromEntries(
    COLUMNS.map((c) => {
      switch (c.kind) {
        case 'ip':
          return [c.name, ipText];
        case 'string':
          return [c.name, text];
        case 'u64':
        case 'mac':
          return [c.name, u64];
        case 'datetime':
          return [c.name, fc.oneof(fc.integer({ min: -1000, max: 2 ** 42 }), fc.constant(Date.now()))];
        case 'u8':
          return [c.name, small(8)];
        case 'u16':
          return [c.name, small(16)];
        default:
          return [c.name, small(32)];
      }
    }),
  ) as never,
) as never;

describe('writeFlowRowFast', () => {
  it('writes the same bytes as the canonical RowBinary encoder for any record', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), (rows) => {
        expect(fast(rows).equals(canonical(rows))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('grows its buffer across many rows and keeps typical flows exact', () => {
    const rows: FlowRecord[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = emptyFlow();
      Object.assign(r, {
        time_received: 1_764_000_000_000 + i,
        exporter: '192.0.2.1',
        src_addr: `10.${i & 255}.${(i >> 8) & 255}.${i % 7}`,
        dst_addr: i % 3 === 0 ? '2001:db8::1' : '172.16.0.1',
        bytes: i * 1000,
        packets: i,
        tenant: i % 2 ? 'acme' : 'gñu',
        traffic_class: 'east-west',
      });
      rows.push(r);
    }
    const got = fast(rows, 64);
    expect(got.equals(canonical(rows))).toBe(true);
    // IPv4 is written IPv4-mapped: ::ffff:10.0.0.0 for the first src_addr
    const first = canonical([rows[0]]);
    expect(got.subarray(0, first.length).equals(first)).toBe(true);
  });
});

describe('encodeFlowsRowBinary', () => {
  it('is the fast writer over whole rows', () => {
    const rows = [
      Object.assign(emptyFlow(), { src_addr: '10.0.0.1', tenant: 'acme', bytes: 5 }),
      emptyFlow(),
    ];
    expect(encodeFlowsRowBinary(rows)).toEqual(canonical(rows));
  });
});
