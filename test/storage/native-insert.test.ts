/**
 * The Native flows encoder (storage/src/flow-native.ts) against the suite's real ClickHouse:
 * its bytes are the server's own Native output for the same rows, and rows inserted with
 * `FORMAT Native` read back identical, column by column, to the same rows inserted as
 * RowBinary (the format the collector has used so far), edge values and random flows alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMNS, emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import type { ClickHouse } from '../../storage/src/clickhouse.ts';
import {
  encodeFlowsNative,
  firstNativeBatchId,
  NATIVE_FLOW_COLUMNS,
  newNativeFlowEncoder,
} from '../../storage/src/flow-native.ts';
import { encodeFlowsRowBinary } from '../../storage/src/flow-rowbinary.ts';
import { FLOW_INSERT_COLUMNS, FLOW_SCHEMA_COLUMNS } from '../../storage/src/rowbinary.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();

/** A raw HTTP query: the Native and RowBinary bodies both ways, which the client's helpers do not do. */
async function http(ch: ClickHouse, query: string, body?: Buffer): Promise<Buffer> {
  const res = await fetch(`${ch.url}/?query=${encodeURIComponent(query)}`, { method: 'POST', body });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (!res.ok) throw new Error(`${query.slice(0, 80)}: ${bytes.toString()}`);
  return bytes;
}

const insert = (table: string, format: 'Native' | 'RowBinary', body: Buffer) =>
  http(db(), `INSERT INTO ${table} (${FLOW_INSERT_COLUMNS}) FORMAT ${format}`, body);

/** A table of the flows insert columns that keeps rows in insertion order (Memory), for byte comparisons. */
async function memoryTable(name: string): Promise<string> {
  const t = `${db().database}.${name}`;
  await db().command(`DROP TABLE IF EXISTS ${t}`);
  await db().command(
    `CREATE TABLE ${t} (${NATIVE_FLOW_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')}) ENGINE = Memory`,
  );
  return t;
}

const MAX_U64 = 2n ** 64n - 1n;

/** Every column's edge values: zeros, the largest counters, IPv4 (mapped), IPv6, empty, long and non-ASCII text. */
function edgeRows(): FlowRecord[] {
  const zero = emptyFlow();
  const max = Object.assign(emptyFlow(), {
    time_received: 4_294_967_295_000,
    flow_start: 1,
    flow_end: 999,
    exporter: '255.255.255.255',
    observation_domain: 4_294_967_295,
    version: 255,
    src_addr: '::ffff:10.1.2.3',
    dst_addr: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    src_port: 65535,
    dst_port: 65535,
    proto: 255,
    tcp_flags: 65535,
    tos: 255,
    icmp_type: 255,
    icmp_code: 255,
    ip_version: 6,
    bytes: MAX_U64,
    packets: 2 ** 53 - 1,
    sampling_rate: 4_294_967_295,
    in_if: 4_294_967_295,
    out_if: 4_294_967_295,
    direction: 255,
    vlan: 4095,
    src_mac: 0xffff_ffff_ffff,
    dst_mac: 0x0200_5e00_0001,
    next_hop: '2001:db8::1',
    src_as: 4_294_967_295,
    dst_as: 64_512,
    src_mask: 128,
    dst_mask: 32,
    flow_end_reason: 5,
    vni: 16_777_215,
    tunnel_type: 1,
    tunnel_src: '192.0.2.1',
    tunnel_dst: 'fe80::1',
    tenant: 'gñu ✓ 租户 🚀',
    network: 'x'.repeat(200), // a 2-byte length varint
    src_subnet: 'y'.repeat(20_000), // a 3-byte one
    dst_subnet: '',
    src_endpoint: '\u0000\t\n\\\'"',
    dst_endpoint: 'é'.repeat(70), // 140 bytes from 70 characters
    traffic_class: 'east-west',
  });
  const typical = Object.assign(emptyFlow(), {
    time_received: 1_764_000_000_500,
    flow_start: 1_763_999_990_000,
    flow_end: 1_764_000_000_000,
    exporter: '192.0.2.7',
    src_addr: '10.0.0.1',
    dst_addr: '10.0.0.2',
    bytes: 2 ** 32, // just past the fast path
    packets: 123_456, // the fast path (a UInt32 value)
    src_mac: 0xdead_beef,
    tenant: 'acme',
  });
  return [zero, max, typical, max, zero];
}

describe('Native insert format on the real ClickHouse', () => {
  it('encodes the same bytes as the server writes for the same rows (SELECT … FORMAT Native)', async () => {
    const rows = edgeRows();
    const native = encodeFlowsNative(rows);
    const id = firstNativeBatchId(native);
    if (!id) throw new Error('no batch id');
    const idText = ((BigInt(id.hi) << 32n) | BigInt(id.lo)).toString();
    // the server's bytes for the rows stored from RowBinary (another batch id: the column is rewritten to ours)
    const t = await memoryTable('native_server_bytes');
    await insert(t, 'RowBinary', encodeFlowsRowBinary(rows));
    const server = await http(
      db(),
      `SELECT toUInt64(${idText}) AS batch_id, ${FLOW_SCHEMA_COLUMNS} FROM ${t} FORMAT Native`,
    );
    expect(server.length).toBe(native.length);
    expect(server.equals(native)).toBe(true);
    // and the server takes it back unchanged
    const back = await memoryTable('native_round_trip');
    await insert(back, 'Native', native);
    expect(
      (await http(db(), `SELECT ${FLOW_INSERT_COLUMNS} FROM ${back} FORMAT Native`)).equals(native),
    ).toBe(true);
  });

  it('stores in flows, column by column, what the same rows inserted as RowBinary store', async () => {
    const rows = edgeRows();
    const flows = `${db().database}.flows`;
    const native = encodeFlowsNative(rows);
    const rowBinary = encodeFlowsRowBinary(rows);
    await insert(flows, 'Native', native);
    await insert(flows, 'RowBinary', rowBinary);
    const ids = [
      firstNativeBatchId(native),
      { hi: rowBinary.readUInt32LE(4), lo: rowBinary.readUInt32LE(0) },
    ].map((id) => ((BigInt(id?.hi ?? 0) << 32n) | BigInt(id?.lo ?? 0)).toString());
    const read = async (id: string) =>
      (
        await db().query<Record<string, unknown>>(
          `SELECT ${COLUMNS.map((c) => (CLICKHOUSE_BINARY.has(c.kind) ? `hex(${c.name}) AS ${c.name}` : c.name)).join(', ')} FROM ${flows} WHERE batch_id = ${id} ORDER BY ${FLOW_SCHEMA_COLUMNS}`,
        )
      ).map((r) => JSON.stringify(r));
    const fromNative = await read(ids[0]);
    const fromRowBinary = await read(ids[1]);
    expect(fromNative.length).toBe(rows.length);
    for (const c of COLUMNS)
      expect(
        fromNative.map((r) => JSON.parse(r)[c.name]),
        c.name,
      ).toEqual(fromRowBinary.map((r) => JSON.parse(r)[c.name]));
    // spot checks that the values are the intended ones, not just equal
    const [max] = await db().query<{
      bytes: string;
      src: string;
      dst: string;
      tenant: string;
      sub: string;
      t: number;
    }>(
      `SELECT toString(bytes) AS bytes, IPv6NumToString(src_addr) AS src, IPv6NumToString(dst_addr) AS dst, tenant,
              length(src_subnet) AS sub, toUInt32(time_received) AS t
       FROM ${flows} WHERE batch_id = ${ids[0]} AND version = 255 LIMIT 1`,
    );
    expect(max).toEqual({
      bytes: MAX_U64.toString(),
      src: '::ffff:10.1.2.3',
      dst: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      tenant: 'gñu ✓ 租户 🚀',
      sub: '20000',
      t: 4_294_967_295,
    });
  });

  it('takes a batch of several chunk blocks in one INSERT and stores it as one part, as RowBinary rows', async () => {
    const flows = `${db().database}.flows`;
    const enc = newNativeFlowEncoder(100);
    const parts: Buffer[] = [];
    for (let chunk = 0; chunk < 4; chunk++) {
      for (let i = 0; i < 250; i++)
        enc.write(
          Object.assign(emptyFlow(), {
            time_received: Date.UTC(2026, 0, 2, 3) + i,
            observation_domain: 7_777,
            src_port: chunk * 1000 + i,
          }),
        );
      parts.push(Buffer.from(enc.take()));
    }
    await insert(flows, 'Native', Buffer.concat(parts));
    const [r] = await db().query<{ n: string; ids: string }>(
      `SELECT count() AS n, uniqExact(batch_id) AS ids FROM ${flows} WHERE observation_domain = 7777`,
    );
    expect(r).toEqual({ n: '1000', ids: '4' });
    // one part for the day: the blocks are squashed into one insert block, stored whole or not at all
    const [p] = await db().query<{ parts: string }>(
      `SELECT count() AS parts FROM system.parts WHERE database = '${db().database}' AND table = 'flows' AND active AND partition = '20260102'`,
    );
    expect(p.parts).toBe('1');
  });

  it('stores the whole blocks before the end of a body cut short, or nothing when the cut falls inside a block', async () => {
    // what the stored check (flow-batches.ts) relies on: per chunk and partition, a prefix is stored
    const flows = `${db().database}.flows`;
    const enc = newNativeFlowEncoder(100);
    /** three 300-row chunks, told apart by observation_domain (base, base + 1, base + 2) */
    const blocks = (base: number) =>
      [0, 1, 2].map((chunk) => {
        for (let i = 0; i < 300; i++)
          enc.write(
            Object.assign(emptyFlow(), {
              time_received: Date.UTC(2026, 0, 3) + i,
              observation_domain: base + chunk,
              tenant: 'acme',
            }),
          );
        return Buffer.from(enc.take());
      });
    const count = async (base: number) =>
      (
        await db().query<{ d: number; n: string }>(
          `SELECT observation_domain AS d, count() AS n FROM ${flows} WHERE observation_domain >= ${base} AND observation_domain < ${base + 3} GROUP BY d ORDER BY d`,
        )
      ).map((r) => [Number(r.d), Number(r.n)]);
    const atBoundary = blocks(8000);
    await insert(flows, 'Native', Buffer.concat(atBoundary.slice(0, 2)));
    expect(await count(8000)).toEqual([
      [8000, 300],
      [8001, 300],
    ]);
    const inside = blocks(8010);
    const cut = Buffer.concat(inside).subarray(0, inside[0].length + inside[1].length + 200);
    await expect(insert(flows, 'Native', cut)).rejects.toThrow(/Cannot read all data/);
    expect(await count(8010)).toEqual([]);
  });

  it('reads back random flows inserted as Native exactly as the same flows inserted as RowBinary', async () => {
    const native = await memoryTable('native_random_a');
    const rowBinary = await memoryTable('native_random_b');
    const text = fc.oneof(
      fc.constant(''),
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.string({ minLength: 130, maxLength: 400 }),
    );
    const ip = fc.oneof(fc.constant(''), fc.ipV4(), fc.ipV6());
    const flow = fc.record(
      Object.fromEntries(
        COLUMNS.map((c) => {
          switch (c.kind) {
            case 'ip':
              return [c.name, ip];
            case 'string':
              return [c.name, text];
            case 'u64':
              return [
                c.name,
                fc.oneof(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.bigInt({ min: 0n, max: MAX_U64 })),
              ];
            case 'mac':
              return [c.name, fc.integer({ min: 0, max: 2 ** 48 - 1 })];
            case 'datetime':
              return [c.name, fc.integer({ min: 0, max: 4_294_967_295_999 })];
            case 'u8':
              return [c.name, fc.integer({ min: 0, max: 255 })];
            case 'u16':
              return [c.name, fc.integer({ min: 0, max: 65535 })];
            default:
              return [c.name, fc.integer({ min: 0, max: 4_294_967_295 })];
          }
        }),
      ) as never,
    ) as fc.Arbitrary<FlowRecord>;
    await fc.assert(
      fc.asyncProperty(fc.array(flow, { minLength: 1, maxLength: 30 }), async (rows) => {
        await db().command(`TRUNCATE TABLE ${native}`);
        await db().command(`TRUNCATE TABLE ${rowBinary}`);
        await insert(native, 'Native', encodeFlowsNative(rows));
        await insert(rowBinary, 'RowBinary', encodeFlowsRowBinary(rows));
        const a = await http(db(), `SELECT ${FLOW_SCHEMA_COLUMNS} FROM ${native} FORMAT RowBinary`);
        const b = await http(db(), `SELECT ${FLOW_SCHEMA_COLUMNS} FROM ${rowBinary} FORMAT RowBinary`);
        expect(a.length).toBeGreaterThan(0);
        expect(a.equals(b)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});

/** Kinds read back as hex: their bytes are not text. */
const CLICKHOUSE_BINARY = new Set(['ip']);
