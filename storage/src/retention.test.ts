import { describe, expect, it } from 'vitest';
import { expiredPartitions, partitionEndMs } from './retention.ts';

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
});
