/**
 * The two UDP receive paths (collector.udpReceive): the recvmmsg add-on ('batch') and Node's
 * dgram give the collector the same flows from the same datagrams, over IPv4 and IPv6
 * loopback, and name the exporter the same way. Flows go to a JSON-lines file (no
 * ClickHouse needed); every collector and temp dir is removed in finally blocks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadUdpBatch } from '../../collector/src/ingest/udp-batch.ts';
import { encoder, makeFlows, sendAll, startCollector, tempDir, waitFor } from './harness.ts';

async function receive(
  mode: 'batch' | 'dgram',
  host: string,
  datagrams: Buffer[],
  expected: number,
  listenHost = host,
): Promise<{ lines: Record<string, unknown>[]; receive: string }> {
  const dir = tempDir(`udp-${mode}`);
  const out = join(dir.path, 'out.jsonl');
  const listen = listenHost.includes(':') ? `udp://[${listenHost}]:0` : `udp://${listenHost}:0`;
  try {
    const c = await startCollector({
      stateDir: dir.path,
      clickhouse: null,
      config: { listen: [listen], udpReceive: mode, outputs: [`jsonl:${out}`] },
    });
    try {
      await sendAll(c.udpPort, datagrams, host);
      await waitFor(
        'every flow written',
        () => {
          try {
            return readFileSync(out, 'utf8').split('\n').length - 1;
          } catch {
            return 0;
          }
        },
        (n) => n >= expected,
      );
    } finally {
      await c.stop();
    }
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { lines, receive: mode };
  } finally {
    dir.remove();
  }
}

/** A flow's line without what differs between two runs (receive time, batch). */
const comparable = (r: Record<string, unknown>) => {
  const { time_received: _t, ...rest } = r;
  return JSON.stringify(rest);
};

describe('UDP receive paths', () => {
  it('the add-on is built wherever a C compiler and Node headers are (bin/build.js)', () => {
    // CI builds it: a missing add-on there is a build failure, not a reason to skip
    expect(loadUdpBatch()).toBeDefined();
  });

  for (const [host, listenHost] of [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    // dual-stack: an IPv4 exporter seen as ::ffff:127.0.0.1 by the socket, named 127.0.0.1
    ['127.0.0.1', '::'],
  ])
    it(`batch and dgram give the same flows from the same datagrams (${host} to ${listenHost})`, async () => {
      const v9 = encoder(9, 21);
      const now = Date.now();
      const datagrams = [...v9.templates(now), ...v9.encode(makeFlows(2000, { vni: 42 }), now)];
      const batch = await receive('batch', host, datagrams, 2000, listenHost);
      const dgram = await receive('dgram', host, datagrams, 2000, listenHost);
      expect(batch.lines).toHaveLength(2000);
      expect(dgram.lines).toHaveLength(2000);
      expect(batch.lines[0].exporter).toBe(host);
      expect(dgram.lines[0].exporter).toBe(host);
      expect(batch.lines.map(comparable).sort()).toEqual(dgram.lines.map(comparable).sort());
    });
});
