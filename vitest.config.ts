import { defineConfig } from 'vitest/config';

/**
 * The loopback ClickHouse cluster's tests (ZooKeeper and three servers each) run after the
 * rest, on their own and one file at a time (vitest.cluster.config.ts, second step of
 * `npm test`): beside the browser and collector tests on two cores, a node of 18.16 once
 * dropped its connections in the middle of an ON CLUSTER statement.
 */
export const CLUSTER_TESTS = ['test/cluster/**/*.test.ts', 'test/scaleout/cluster-*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.vxflow/**', ...CLUSTER_TESTS],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests share one ClickHouse server and the machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
