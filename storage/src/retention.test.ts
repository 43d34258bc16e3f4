import { describe, expect, it } from 'vitest';
import { ROLLUP_STAGING_RETENTION_DAYS } from './ddl.ts';
import { expiredPartitions, partitionEndMs, retentionLimits } from './retention.ts';

describe('retention', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0); // 2026-11-25 12:00 UTC

  it('computes the end of daily and monthly partitions', () => {
    expect(partitionEndMs('20261124', 'toYYYYMMDD')).toBe(Date.UTC(2026, 10, 25));
    expect(partitionEndMs('202612', 'toYYYYMM')).toBe(Date.UTC(2027, 0, 1));
    expect(partitionEndMs('tuple()', 'toYYYYMMDD')).toBeUndefined();
  });

  it('drops only daily partitions entirely older than the limit', () => {
    // 7 days before now is 2026-11-18 12:00: the 17th ends before it, the 18th does not
    const parts = ['20261116', '20261117', '20261118', '20261119', '20261125'];
    expect(expiredPartitions(parts, 'toYYYYMMDD', 7, now)).toEqual(['20261116', '20261117']);
  });

  it('drops monthly partitions only when the whole month is past', () => {
    // 60 days before now is 2026-09-26: August is past, September is not
    expect(expiredPartitions(['202608', '202609', '202611'], 'toYYYYMM', 60, now)).toEqual(['202608']);
  });

  it('also limits the rollup staging table, to its own days unless configured', () => {
    const cfg = { flows: 30, flows_1m: 30, flows_5m: 90, flows_1h: 730 };
    expect(retentionLimits(cfg)).toEqual({ ...cfg, flows_rollup_in: ROLLUP_STAGING_RETENTION_DAYS });
    expect(retentionLimits({ ...cfg, flows_rollup_in: 2 }).flows_rollup_in).toBe(2);
  });
});
