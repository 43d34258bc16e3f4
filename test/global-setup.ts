/**
 * One real ClickHouse for the whole suite: CLICKHOUSE_URL if set (an existing server),
 * otherwise a throwaway clickhouse-server on free loopback ports with its data in a temp
 * directory, removed afterwards. Tests reach it with inject('clickhouseUrl') or the
 * helpers in test/helpers/clickhouse.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded } from '../storage/src/server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    clickhouseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.CLICKHOUSE_URL) {
    project.provide('clickhouseUrl', process.env.CLICKHOUSE_URL);
    return async () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'vxflow-test-ch-'));
  const server = await startEmbedded({ dataDir: dir, httpPort: 0, tcpPort: 0 });
  project.provide('clickhouseUrl', server.url);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
