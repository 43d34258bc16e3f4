import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.vxflow/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests share one ClickHouse server and the machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
