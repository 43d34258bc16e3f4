/**
 * For the rollup tests: the sums per tenant, network, VNI and bucket of the raw table and
 * of each rollup, side by side, so a test can hold them equal (the rollups' promise).
 */
import { takeOutputBuffer } from '../../common/output-buffer.ts';
import { createRollupAggregator } from '../../collector/src/output/rollup-aggregator.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import type { ClickHouse } from '../../storage/src/clickhouse.ts';
import { ROLLUP_INSERT_COLUMNS, ROLLUP_STAGING_TABLE, ROLLUPS } from '../../storage/src/ddl.ts';
import { newFlowRowBuffer } from '../../storage/src/flow-rowbinary.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';

export interface BucketTotals {
  tenant: string;
  network: string;
  vni: number;
  t: number;
  bytes: string;
  packets: string;
  flows: string;
}

async function totals(ch: ClickHouse, sql: string): Promise<BucketTotals[]> {
  // aliases apart from the column names: on 18.16 `sum(flows) AS flows` makes a later
  // sum(flows) read the alias
  const rows = await ch.query<
    Omit<BucketTotals, 'bytes' | 'packets' | 'flows'> & { sb: string; sp: string; sf: string }
  >(sql);
  return rows.map(({ sb, sp, sf, ...r }) => ({
    ...r,
    vni: Number(r.vni),
    t: Number(r.t),
    bytes: sb,
    packets: sp,
    flows: sf,
  }));
}

/** Raw and rollup sums for every rollup table, bucketed as that table buckets. */
export async function rollupVsRaw(
  ch: ClickHouse,
  where = '1',
): Promise<{ table: string; raw: BucketTotals[]; rollup: BucketTotals[] }[]> {
  const db = ch.database;
  const out = [];
  for (const r of ROLLUPS) {
    const keys = 'tenant, network, vni, t';
    const raw = await totals(
      ch,
      `SELECT tenant, network, vni, toUInt32(${r.bucket}(time_received)) AS t, toString(sum(bytes)) AS sb, toString(sum(packets)) AS sp, toString(count()) AS sf
       FROM ${db}.flows WHERE ${where} GROUP BY ${keys} ORDER BY ${keys}`,
    );
    const rollup = await totals(
      ch,
      `SELECT tenant, network, vni, toUInt32(time) AS t, toString(sum(bytes)) AS sb, toString(sum(packets)) AS sp, toString(sum(flows)) AS sf
       FROM ${db}.${r.table} WHERE ${where} GROUP BY ${keys} HAVING sum(flows) > 0 ORDER BY ${keys}`,
    );
    out.push({ table: r.table, raw, rollup });
  }
  return out;
}

/** Whole-table sums of one table (raw: count() for flows). */
export async function grandTotals(
  ch: ClickHouse,
  table: string,
): Promise<{ bytes: string; packets: string; flows: string }> {
  const flows = table === 'flows' ? 'count()' : 'sum(flows)';
  const [r] = await ch.query<{ bytes: string; packets: string; flows: string }>(
    `SELECT toString(sum(bytes)) AS bytes, toString(sum(packets)) AS packets, toString(${flows}) AS flows FROM ${ch.database}.${table}`,
  );
  return r;
}

/** The staging rows the collector sends for these flows as one chunk (output/rollup.ts). */
export function rollupRowsOf(rows: readonly FlowRecord[]): Buffer {
  const agg = createRollupAggregator();
  for (const r of rows) agg.add(r);
  const out = newFlowRowBuffer(1 << 16);
  agg.writeTo(out);
  return Buffer.from(takeOutputBuffer(out));
}

/**
 * Inserts flows into `database` as the collector does since migration 5: the chunk's rollup
 * rows into the staging table first, then the raw rows (`raw`, RowBinary in FLOW_INSERT_COLUMNS).
 */
export async function insertLikeCollector(
  ch: ClickHouse,
  database: string,
  rows: readonly FlowRecord[],
  raw: Buffer,
): Promise<void> {
  await ch.insertRowBinary(`${database}.${ROLLUP_STAGING_TABLE}`, ROLLUP_INSERT_COLUMNS, rollupRowsOf(rows));
  await ch.insertRowBinary(`${database}.flows`, FLOW_INSERT_COLUMNS, raw);
}
