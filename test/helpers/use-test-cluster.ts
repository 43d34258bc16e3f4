/**
 * The loopback ClickHouse cluster (test/helpers/cluster.ts) for one vitest file:
 *
 *   const cluster = useTestCluster();
 *   it('…', async () => { const ch = await cluster().connect(db); … cluster().node('ch3').stop() … });
 *
 * Started in beforeAll, stopped (every process, the temp directory) in afterAll. Before each
 * test a node or ZooKeeper that died under the previous one is started again, and says so:
 * the failure stays that test's, not every later one's. (No retries: the tests write to
 * their databases, so a second attempt would not start from the same state.)
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startTestCluster, type TestCluster } from './cluster.ts';

export function useTestCluster(): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await startTestCluster();
  }, 120_000);
  beforeEach(async () => {
    await cluster?.reviveDead();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);
  return () => {
    if (!cluster) throw new Error('useTestCluster: not started yet (use it inside tests)');
    return cluster;
  };
}
