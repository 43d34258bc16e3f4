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
  },
});
