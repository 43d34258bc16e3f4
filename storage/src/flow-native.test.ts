import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMNS, emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import {
  encodeFlowsNative,
  firstNativeBatchId,
  isNativeFlowsBody,
  NATIVE_FLOW_COLUMNS,
  NativeFormatError,
  nativeFlowsToRowBinary,
  nativeInsertQueryId,
  newNativeFlowEncoder,
  readNativeBlocks,
} from './flow-native.ts';
import { encodeFlowsRowBinary, scanFlowRows } from './flow-rowbinary.ts';
import { CLICKHOUSE_TYPE, FLOW_INSERT_COLUMNS } from './rowbinary.ts';

/** The RowBinary writer's bytes for these rows, every row's batch_id set to hi:lo (the two encoders draw their own ids). */
function rowBinaryWithId(rows: readonly FlowRecord[], hi: number, lo: number): Buffer {
  const b = Buffer.from(encodeFlowsRowBinary(rows));
  scanFlowRows(b, (_h, _l, _t, start) => {
    b.writeUInt32LE(lo, start);
    b.writeUInt32LE(hi, start + 4);
  });
  return b;
}

const ipText = fc.oneof(
  fc.constant(''),
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom('::ffff:10.0.0.1', '::', '1.2.3', 'not an address', '256.1.1.1'),
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
  fc.constantFrom(Number.NaN, 1.5, 2 ** 32, Number.POSITIVE_INFINITY, 1e30),
);
const small = (bits: number) =>
  fc.oneof(fc.integer({ min: 0, max: 2 ** bits - 1 }), fc.constantFrom(-1, 2 ** bits, 1.5, Number.NaN));

/** Any record, out-of-range and odd values included: both encoders must convert them alike. */
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

describe('Native flows encoder', () => {
  it('writes the same values as the RowBinary writer for any records (read back through the transcoder)', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 40 }), (rows) => {
        const native = encodeFlowsNative(rows);
        const id = firstNativeBatchId(native);
        expect(id).toBeDefined();
        const { hi, lo } = id as { hi: number; lo: number };
        expect(nativeFlowsToRowBinary(native).equals(rowBinaryWithId(rows, hi, lo))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('lays a block out as ClickHouse does: columns, rows, then name, type and data of each column', () => {
    const r = Object.assign(emptyFlow(), { time_received: 1_764_000_123_999, src_port: 0x1234, tenant: 'é' });
    const b = encodeFlowsNative([r, r]);
    const [block, ...more] = readNativeBlocks(b);
    expect(more).toEqual([]);
    expect(b[0]).toBe(COLUMNS.length + 1); // column count (43 < 128: one varint byte)
    expect(b[1]).toBe(2); // rows
    expect(block.columns.map((c) => c.name).join(', ')).toBe(FLOW_INSERT_COLUMNS);
    expect(block.columns.slice(1).map((c) => c.type)).toEqual(COLUMNS.map((c) => CLICKHOUSE_TYPE[c.kind]));
    expect(block.columns[0]).toMatchObject({ name: 'batch_id', type: 'UInt64', width: 8 });
    // the first column's header is varint-length name then varint-length type
    expect(b.subarray(2, 2 + 1 + 8 + 1 + 6).toString('latin1')).toBe('\x08batch_id\x06UInt64');
    const col = (name: string) => {
      const c = block.columns.find((x) => x.name === name);
      if (!c) throw new Error(name);
      return b.subarray(c.start, c.end);
    };
    // DateTime: seconds, UInt32 little-endian, one after another
    expect(col('time_received')).toEqual(Buffer.from([0x7b, 0x81, 0x24, 0x69, 0x7b, 0x81, 0x24, 0x69]));
    expect(col('src_port')).toEqual(Buffer.from([0x34, 0x12, 0x34, 0x12]));
    // String: varint length and UTF-8 per row
    expect(col('tenant')).toEqual(Buffer.from([2, 0xc3, 0xa9, 2, 0xc3, 0xa9]));
    // batch_id: the chunk's id in every row
    const ids = col('batch_id');
    expect(ids.subarray(0, 8)).toEqual(ids.subarray(8, 16));
    expect(ids.readBigUInt64LE(0)).not.toBe(0n);
  });

  it('gives each taken block its own batch id, grows past its hint, and takes nothing as an empty body', () => {
    const enc = newNativeFlowEncoder(16);
    expect(enc.take().byteLength).toBe(0);
    const rows = Array.from({ length: 3000 }, (_, i) =>
      Object.assign(emptyFlow(), {
        time_received: 1_764_000_000_000 + i,
        src_addr: i % 3 ? `10.0.${i & 255}.1` : `2001:db8::${i.toString(16)}`,
        bytes: i % 5 ? i : 2n ** 64n - 1n,
        dst_endpoint: 'x'.repeat(i % 400),
        tenant: i % 2 ? 'acme' : 'gñu',
      }),
    );
    const bodies: Buffer[] = [];
    const ids: bigint[] = [];
    for (const [start, end] of [
      [0, 1],
      [1, 2999],
      [2999, 3000],
    ]) {
      for (const r of rows.slice(start, end)) enc.write(r);
      expect(enc.rows).toBe(end - start);
      ids.push((BigInt(enc.batchHi) << 32n) | BigInt(enc.batchLo));
      bodies.push(Buffer.from(enc.take()));
      expect(enc.rows).toBe(0);
    }
    expect(new Set(ids).size).toBe(3);
    expect(ids.every((id) => id > 0n)).toBe(true);
    // the blocks of several chunks one after another are one body, as a batch is
    const body = Buffer.concat(bodies);
    expect(readNativeBlocks(body).map((b) => b.rows)).toEqual([1, 2998, 1]);
    const rb = nativeFlowsToRowBinary(body);
    const expected = Buffer.concat(
      [
        [0, 1],
        [1, 2999],
        [2999, 3000],
      ].map(([s, e], k) =>
        rowBinaryWithId(rows.slice(s, e), Number(ids[k] >> 32n), Number(ids[k] & 0xffffffffn)),
      ),
    );
    expect(rb.equals(expected)).toBe(true);
  });

  it('names the flows insert columns in order with their ClickHouse types', () => {
    expect(NATIVE_FLOW_COLUMNS.map((c) => c.name).join(', ')).toBe(FLOW_INSERT_COLUMNS);
  });

  it('refuses a Native body that is cut short or has other columns', () => {
    const b = encodeFlowsNative([emptyFlow(), emptyFlow()]);
    for (const cut of [1, 5, 40, b.length - 1])
      expect(() => readNativeBlocks(b.subarray(0, cut)), `cut at ${cut}`).toThrow(NativeFormatError);
    // a block of one UInt8 column named x: readable, but not flows
    const other = Buffer.from([1, 1, 1, 0x78, 5, ...Buffer.from('UInt8'), 7]);
    expect(readNativeBlocks(other)[0].columns[0]).toMatchObject({ name: 'x', type: 'UInt8', width: 1 });
    expect(() => nativeFlowsToRowBinary(other)).toThrow(/not the flows insert columns/);
    expect(() => readNativeBlocks(Buffer.from([1, 1, 1, 0x78, 4, ...Buffer.from('Enum')]))).toThrow(
      /type Enum is not read here/,
    );
  });

  it('tells Native flows bodies from RowBinary rows, and names the insert after the first batch id', () => {
    const rows = [Object.assign(emptyFlow(), { tenant: 'batch_id' }), emptyFlow()];
    const native = encodeFlowsNative(rows);
    const rowBinary = encodeFlowsRowBinary(rows);
    expect(isNativeFlowsBody(native)).toBe(true);
    expect(isNativeFlowsBody(Buffer.concat([native, native]))).toBe(true);
    expect(isNativeFlowsBody(rowBinary)).toBe(false);
    expect(isNativeFlowsBody(nativeFlowsToRowBinary(native))).toBe(false);
    expect(isNativeFlowsBody(native.subarray(0, 10))).toBe(false);
    expect(isNativeFlowsBody(Buffer.alloc(0))).toBe(false);
    const id = firstNativeBatchId(native) as { hi: number; lo: number };
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    expect(nativeInsertQueryId([Buffer.alloc(0), native], 'vxflow-flows-')).toBe(
      `vxflow-flows-${hex(id.hi)}${hex(id.lo)}`,
    );
    expect(nativeInsertQueryId([], 'vxflow-flows-')).toBeUndefined();
  });

  it('leaves out whole a row with a value no column can take, as the RowBinary writer does', () => {
    const good = Object.assign(emptyFlow(), { tenant: 'acme', network: 'web', src_addr: '10.0.0.1' });
    // tenant and network are written before traffic_class fails
    const bad = Object.assign(emptyFlow(), {
      tenant: 'x'.repeat(50),
      network: 'y',
      traffic_class: 5 as never,
    });
    const enc = newNativeFlowEncoder(16);
    enc.write(good);
    expect(() => enc.write(bad)).toThrow();
    enc.write(good);
    expect(enc.rows).toBe(2);
    const body = Buffer.from(enc.take());
    const { hi, lo } = firstNativeBatchId(body) as { hi: number; lo: number };
    expect(nativeFlowsToRowBinary(body).equals(rowBinaryWithId([good, good], hi, lo))).toBe(true);
  });
});
