import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMNS, emptyFlow, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { encodeFlowDelimited, flowMessageType } from '../../../protocol/src/schema/protobuf.ts';
import { newFlowRowBuffer } from '../../../storage/src/flow-rowbinary.ts';
import { writeProtobufRecord } from './protobuf-record.ts';

const type = flowMessageType();
const asObject = (bytes: Uint8Array) =>
  type.toObject(type.decodeDelimited(bytes), { longs: String, bytes: String, defaults: true });

const value = (kind: string) => {
  switch (kind) {
    case 'datetime':
      return fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 4_102_444_800_000 }),
        fc.double({ min: 1, max: 4e12, noNaN: true }),
      );
    case 'ip':
      return fc.oneof(fc.constant(''), fc.ipV4(), fc.ipV6());
    case 'mac':
      return fc.integer({ min: 0, max: 2 ** 48 - 1 });
    case 'u64':
      return fc.oneof(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
      );
    case 'u8':
      return fc.integer({ min: 0, max: 255 });
    case 'u16':
      return fc.integer({ min: 0, max: 65535 });
    case 'u32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    default:
      return fc.oneof(fc.constant(''), fc.string(), fc.constantFrom('acme', 'east-west', 'zürich-ünïcode'));
  }
};

const record = fc
  .record(Object.fromEntries(COLUMNS.map((c) => [c.name, value(c.kind)])))
  .map((o) => Object.assign(emptyFlow(), o) as FlowRecord);

describe('writeProtobufRecord', () => {
  it('decodes to exactly what encodeFlowDelimited gives, for any record', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (rows) => {
        const out = newFlowRowBuffer(8);
        for (const r of rows) writeProtobufRecord(out, r);
        expect(out.rows).toBe(rows.length);
        const reader = Buffer.from(out.buf.subarray(0, out.off));
        let off = 0;
        for (const r of rows) {
          const want = asObject(encodeFlowDelimited(r));
          const rd = type.decodeDelimited(reader.subarray(off));
          const got = type.toObject(rd, { longs: String, bytes: String, defaults: true });
          // the delimited length prefix plus the message: advance past both
          let len = 0;
          let shift = 0;
          let p = off;
          for (;;) {
            const b = reader[p++];
            len |= (b & 127) << shift;
            if (b < 128) break;
            shift += 7;
          }
          off = p + len;
          expect(got).toEqual(want);
        }
        expect(off).toBe(out.off);
      }),
      { numRuns: 200 },
    );
  });

  it('writes nanosecond timestamps exactly (no double rounding)', () => {
    const out = newFlowRowBuffer(8);
    writeProtobufRecord(out, Object.assign(emptyFlow(), { time_received: 1_764_000_000_123 }));
    const o = asObject(out.buf.subarray(0, out.off));
    expect(o.time_received_ns).toBe('1764000000123000000');
  });
});
