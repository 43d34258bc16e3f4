import { describe, expect, it } from 'vitest';
import { COLUMNS, emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import { columnType, ROLLUPS } from '../../storage/src/ddl.ts';
import { migrate } from '../../storage/src/migrations.ts';
import { applyRetention } from '../../storage/src/retention.ts';
import { encodeFlowsRowBinary } from '../../storage/src/flow-rowbinary.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';
import { sql } from '../../storage/src/sql.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import { insertLikeCollector } from './rollup-totals.ts';

const db = useTestClickHouse();

function flow(over: Partial<FlowRecord>): FlowRecord {
  return Object.assign(emptyFlow(), over);
}

describe('ClickHouse schema on a real server', () => {
  it('creates flows with the schema columns and types', async () => {
    const cols = await db().query<{ name: string; type: string }>(
      sql`SELECT name, type FROM system.columns WHERE database = ${db().database} AND table = 'flows'`,
    );
    expect(cols.map((c) => [c.name, c.type])).toEqual([
      ...COLUMNS.map((c) => [c.name, columnType(c)]),
      ['batch_id', 'UInt64'],
    ]);
  });

  it('migrations are idempotent: a second run changes nothing', async () => {
    const tables = async () =>
      (
        await db().query<{ name: string; engine: string }>(
          sql`SELECT name, engine FROM system.tables WHERE database = ${db().database} ORDER BY name`,
        )
      ).map((t) => `${t.name}:${t.engine}`);
    const before = await tables();
    const result = await migrate(db());
    expect(result).toEqual({ applied: [], addedColumns: [] });
    expect(await tables()).toEqual(before);
    expect(before).toEqual(
      expect.arrayContaining([
        'flows:MergeTree',
        'flows_1m:SummingMergeTree',
        'flows_5m:SummingMergeTree',
        'flows_1h:SummingMergeTree',
        'exporters:ReplacingMergeTree',
        'tokens:ReplacingMergeTree',
        'token_usage:ReplacingMergeTree',
        'sessions:ReplacingMergeTree',
        'audit:MergeTree',
        'inventory:MergeTree',
        'schema_migrations:TinyLog',
      ]),
    );
  });

  it('stores RowBinary flows exactly and feeds every rollup', async () => {
    const t = Date.UTC(2026, 10, 25, 10, 0, 30);
    const rows = [
      flow({
        time_received: t,
        flow_start: t - 5000,
        flow_end: t,
        exporter: '192.0.2.1',
        version: 9,
        src_addr: '10.0.0.1',
        dst_addr: '10.0.0.2',
        src_port: 40000,
        dst_port: 443,
        proto: 6,
        bytes: 2 ** 40 + 7,
        packets: 3,
        sampling_rate: 100,
        vni: 1001,
        tenant: 'acme',
        network: 'web',
        src_mac: 0x0200deadbeef,
      }),
      flow({
        time_received: t + 1000,
        exporter: '2001:db8::9',
        src_addr: 'fd00::1',
        dst_addr: '::ffff:10.1.2.3',
        bytes: 18446744073709551615n,
        packets: 1,
        vni: 1002,
        tenant: "o'brien\\co",
      }),
    ];
    // as the collector inserts them: the chunk's rollup rows, then its raw rows (migration 5)
    await insertLikeCollector(db(), db().database, rows, encodeFlowsRowBinary(rows));
    const back = await db().query<Record<string, string | number>>(
      `SELECT IPv6NumToString(src_addr) AS src, IPv6NumToString(dst_addr) AS dst, IPv6NumToString(exporter) AS exp,
              toString(bytes) AS b, packets, vni, tenant, toUInt32(time_received) AS t, sampling_rate, src_mac
       FROM ${db().database}.flows ORDER BY vni`,
    );
    expect(back).toEqual([
      {
        src: '::ffff:10.0.0.1',
        dst: '::ffff:10.0.0.2',
        exp: '::ffff:192.0.2.1',
        b: String(2 ** 40 + 7),
        packets: '3',
        vni: 1001,
        tenant: 'acme',
        t: t / 1000,
        sampling_rate: 100,
        src_mac: String(0x0200deadbeef),
      },
      {
        src: 'fd00::1',
        dst: '::ffff:10.1.2.3',
        exp: '2001:db8::9',
        b: '18446744073709551615',
        packets: '1',
        vni: 1002,
        tenant: "o'brien\\co",
        t: t / 1000 + 1,
        sampling_rate: 0,
        src_mac: '0',
      },
    ]);
    for (const r of ROLLUPS) {
      const [agg] = await db().query<{ f: string; p: string; scaled: string }>(
        `SELECT toString(sum(flows)) AS f, toString(sum(packets)) AS p, toString(sum(packets * if(sampling_rate = 0, 1, sampling_rate))) AS scaled FROM ${db().database}.${r.table}`,
      );
      expect(agg, r.table).toEqual({ f: '2', p: '4', scaled: '301' });
    }
  });

  it('retention drops only partitions older than the limit, on a real table', async () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    const day = 86_400_000;
    const rows = [40, 10, 2, 0].map((d) => flow({ time_received: now - d * day, tenant: 'ret', packets: 1 }));
    await db().insertRowBinary(`${db().database}.flows`, FLOW_INSERT_COLUMNS, encodeFlowsRowBinary(rows));
    const dropped = await applyRetention(db(), { flows: 7 }, { nowMs: now });
    expect(dropped.map((d) => d.partition)).toEqual(expect.arrayContaining(['20261016', '20261115']));
    const left = await db().query<{ d: string }>(
      `SELECT toString(toDate(time_received)) AS d FROM ${db().database}.flows WHERE tenant = 'ret' ORDER BY d`,
    );
    expect(left.map((r) => r.d)).toEqual(['2026-11-23', '2026-11-25']);
  });
});
