/**
 * A fresh, migrated database on the suite's real ClickHouse for each test file:
 *
 *   const db = useTestClickHouse();
 *   it('…', async () => { await db().query('SELECT …') });
 *
 * The database is named test_<random> and dropped after the file.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { type ClickHouse, connectClickHouse } from '../../storage/src/clickhouse.ts';
import { migrate } from '../../storage/src/migrations.ts';
import { ClickHouseConfig } from '../../storage/src/config.ts';
import { Value } from '@sinclair/typebox/value';

export function testClickHouseConfig(database: string): ClickHouseConfig {
  return {
    ...(Value.Default(ClickHouseConfig, {}) as ClickHouseConfig),
    url: inject('clickhouseUrl'),
    database,
  };
}

export function useTestClickHouse(opts: { migrate?: boolean } = {}): () => ClickHouse {
  let ch: ClickHouse | undefined;
  const database = `test_${randomBytes(6).toString('hex')}`;
  beforeAll(async () => {
    ch = await connectClickHouse(testClickHouseConfig(database));
    if (opts.migrate !== false) await migrate(ch);
  });
  afterAll(async () => {
    if (!ch) return;
    await ch.command(`DROP DATABASE IF EXISTS ${database}`);
    await ch.close();
  });
  return () => {
    if (!ch) throw new Error('useTestClickHouse: not connected yet (use it inside tests)');
    return ch;
  };
}
