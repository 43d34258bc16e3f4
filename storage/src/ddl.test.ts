import { describe, expect, it } from 'vitest';
import { COLUMN_NAMES, COLUMNS, emptyFlow } from '../../protocol/src/schema/columns.ts';
import {
  createFlowsTable,
  createRollupStagingTable,
  createRollupStagingView,
  createRollupTable,
  createRollupView,
  dropRawRollupView,
  PARTITIONING,
  ROLLUP_DIMENSIONS,
  ROLLUP_INSERT_COLUMNS,
  ROLLUP_STAGING_TABLE,
  ROLLUPS,
  SORT_KEY,
} from './ddl.ts';
import { CLICKHOUSE_TYPE, FLOW_INSERT_COLUMNS, FLOW_SCHEMA_COLUMNS, STORAGE_COLUMNS } from './rowbinary.ts';

/** Parses "name Type" lines out of a CREATE TABLE statement. */
function columnsOf(ddl: string): [string, string][] {
  const body = ddl.slice(ddl.indexOf('(') + 1, ddl.indexOf('\n) ENGINE'));
  return body.split(',\n').map((l) => l.trim().split(/\s+/) as [string, string]);
}

describe('DDL generated from the flow schema', () => {
  it('flows has every schema column, in order, with its ClickHouse type, then the storage-only batch_id', () => {
    expect(columnsOf(createFlowsTable('db'))).toEqual([
      ...COLUMNS.map((c) => [c.name, CLICKHOUSE_TYPE[c.kind]]),
      ['batch_id', 'UInt64'],
    ]);
    expect(STORAGE_COLUMNS.map((c) => c.name)).toEqual(['batch_id']);
  });

  it('orders flows by the schema sort keys and partitions by day', () => {
    const ddl = createFlowsTable('db');
    expect(ddl).toContain(`ORDER BY (${SORT_KEY.join(', ')})`);
    expect(ddl).toContain('PARTITION BY toYYYYMMDD(time_received)');
    expect(SORT_KEY[0]).toBe('tenant');
  });

  it('rollups carry exactly the rollup dimensions plus the measures, and their views read the raw table', () => {
    for (const r of ROLLUPS) {
      const names = columnsOf(createRollupTable('db', r)).map(([n]) => n);
      expect(names).toEqual(['time', ...ROLLUP_DIMENSIONS.map((c) => c.name), 'bytes', 'packets', 'flows']);
      const view = createRollupView('db', r);
      expect(view).toContain(`TO db.${r.table} `);
      expect(view).toContain('FROM db.flows ');
      expect(view).toContain(`${r.bucket}(time_received) AS time`);
    }
  });

  it('the insert column list (batch_id first) and the zero record follow the schema', () => {
    expect(FLOW_INSERT_COLUMNS.split(', ')).toEqual(['batch_id', ...COLUMN_NAMES]);
    expect(FLOW_SCHEMA_COLUMNS.split(', ')).toEqual(COLUMN_NAMES);
    // storage-only: not a field of the flow record (so not in JSON, protobuf or the API)
    expect(COLUMN_NAMES).not.toContain('batch_id');
    expect(Object.keys(emptyFlow())).toEqual(COLUMN_NAMES);
  });

  it('the rollup staging table holds batch_id, the minute, the rollup dimensions and the measures, in insert order', () => {
    const cols = columnsOf(createRollupStagingTable('db'));
    expect(cols.map(([n]) => n)).toEqual(ROLLUP_INSERT_COLUMNS.split(', '));
    expect(cols.slice(0, 2)).toEqual([
      ['batch_id', 'UInt64'],
      ['minute', 'DateTime'],
    ]);
    expect(cols.slice(2, -3).map(([n]) => n)).toEqual(ROLLUP_DIMENSIONS.map((c) => c.name));
    const ddl = createRollupStagingTable('db');
    expect(ddl).toContain('ENGINE = MergeTree');
    expect(ddl).toContain('PARTITION BY toYYYYMMDD(minute)');
    expect(PARTITIONING[ROLLUP_STAGING_TABLE]).toBe('toYYYYMMDD');
  });

  it('since migration 5 each rollup is fed from the staging table, and the views on flows are dropped', () => {
    for (const r of ROLLUPS) {
      const view = createRollupStagingView('db', r);
      expect(view).toContain(`TO db.${r.table} `);
      expect(view).toContain(`FROM db.${ROLLUP_STAGING_TABLE} `);
      expect(view).toContain(`${r.bucket}(minute) AS time`);
      expect(view).toContain('sum(flows) AS flows');
      expect(view).not.toContain('db.flows ');
      expect(dropRawRollupView('db', r)).toBe(`DROP TABLE IF EXISTS db.${r.table}_mv`);
    }
  });
});
