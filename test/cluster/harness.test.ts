/**
 * The loopback cluster harness (test/helpers/cluster.ts) itself: ZooKeeper and three
 * servers forming cluster `vxflow` (shard 1: ch1, ch2; shard 2: ch3), each with its macros,
 * and a node that stops and starts again on the same ports and data.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectClickHouse } from '../../storage/src/clickhouse.ts';
import { startTestCluster } from '../helpers/cluster.ts';

describe('cluster harness', () => {
  it('starts ZooKeeper and three servers forming cluster vxflow, stops one node and restarts it, and removes everything on stop', async () => {
    const t0 = Date.now();
    const cluster = await startTestCluster();
    const startedMs = Date.now() - t0;
    try {
      expect(startedMs).toBeGreaterThan(0);
      for (const node of cluster.nodes) {
        const ch = await cluster.connect('default', node.name);
        const macros = await ch.query<{ macro: string; substitution: string }>(
          'SELECT macro, substitution FROM system.macros ORDER BY macro',
        );
        expect(macros).toEqual([
          { macro: 'replica', substitution: node.name },
          { macro: 'shard', substitution: String(node.shard) },
        ]);
        const shards = await ch.query<{ shard_num: number; replica_num: number; port: number }>(
          `SELECT shard_num, replica_num, port FROM system.clusters WHERE cluster = 'vxflow' ORDER BY shard_num, replica_num`,
        );
        expect(shards.map((s) => [s.shard_num, s.replica_num, s.port])).toEqual([
          [1, 1, cluster.node('ch1').tcpPort],
          [1, 2, cluster.node('ch2').tcpPort],
          [2, 1, cluster.node('ch3').tcpPort],
        ]);
        // ZooKeeper answers through the server
        const zk = await ch.query<{ name: string }>(`SELECT name FROM system.zookeeper WHERE path = '/'`);
        expect(zk.map((r) => r.name)).toContain('zookeeper');
        // inserts through Distributed tables wait for every shard (users.d/insert-sync.xml)
        const [s] = await ch.query<{ value: string }>(
          `SELECT value FROM system.settings WHERE name = 'insert_distributed_sync'`,
        );
        expect(s.value).toBe('1');
        await ch.close();
      }

      const ch3 = cluster.node('ch3');
      await ch3.stop();
      expect(ch3.running).toBe(false);
      await expect(fetch(`${ch3.url}/ping`)).rejects.toThrow();
      await ch3.start();
      const again = await connectClickHouse(cluster.config('default', 'ch3'));
      expect((await again.query<{ n: number }>('SELECT 1 AS n'))[0].n).toBe(1);
      await again.close();
    } finally {
      await cluster.stop();
    }
    expect(existsSync(cluster.dir)).toBe(false);
    console.log(`cluster harness: started in ${startedMs} ms`);
  }, 180_000);
});
