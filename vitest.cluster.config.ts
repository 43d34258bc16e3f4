import { defineConfig } from 'vitest/config';
import base, { CLUSTER_TESTS } from './vitest.config.ts';

/** The cluster tests alone, one file at a time: `npx vitest run --config vitest.cluster.config.ts`. */
export default defineConfig({
  test: {
    ...base.test,
    include: CLUSTER_TESTS,
    exclude: ['node_modules/**', '.vxflow/**'],
    fileParallelism: false,
    maxWorkers: 1,
    // once more after a failure: ClickHouse 18.16 can die when a starved ZooKeeper expires
    // its session (the harness then starts it again, and says so on stderr)
    retry: 1,
  },
});
