/**
 * The collector end to end against the suite's real ClickHouse: real UDP and TCP on
 * loopback, real decode workers, real inserts. Every collector, proxy and temp dir made
 * here is removed in finally blocks even when an assertion fails.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import { encoder, expectedBytes, makeFlows, sendAll, startCollector, tempDir, waitFor } from './harness.ts';
import protobuf from 'protobufjs';
import { flowMessageType } from '../../protocol/src/schema/protobuf.ts';

const db = useTestClickHouse();

async function flowTotals(where = '1'): Promise<{ n: number; bytes: number; packets: number }> {
  const [r] = await db().query<{ n: string; bytes: string; packets: string }>(
    `SELECT count() AS n, sum(bytes) AS bytes, sum(packets) AS packets FROM ${db().database}.flows WHERE ${where}`,
  );
  return { n: Number(r.n), bytes: Number(r.bytes), packets: Number(r.packets) };
}

describe('collector → ClickHouse', () => {
  it('stores v9, IPFIX and v5 flows exactly, enriched, with the exporters table and a JSON-lines copy', async () => {
    const dir = tempDir('col-basic');
    const inv = join(dir.path, 'inventory.yaml');
    writeFileSync(
      inv,
      'tenants:\n  - name: red\n    networks:\n      - name: red-net\n        vni: 5001\n        subnets: [{ name: red-a, cidr: 10.0.0.0/16 }]\n',
    );
    const jsonl = join(dir.path, 'out.jsonl');
    const pb = join(dir.path, 'out.pb');
    const c = await startCollector({
      stateDir: dir.path,
      clickhouse: testClickHouseConfig(db().database),
      inventoryFile: inv,
      config: { outputs: ['clickhouse', `jsonl:${jsonl}`, `protobuf:${pb}`], exportersRefreshMs: 200 },
    });
    try {
      const v9 = encoder(9, 11);
      const ipfix = encoder(10, 12);
      const v5 = encoder(5, 0);
      const now = Date.now();
      await sendAll(c.udpPort, [...v9.templates(now), ...v9.encode(makeFlows(3000, { vni: 5001 }), now)]);
      await sendAll(c.udpPort, [
        ...ipfix.templates(now),
        ...ipfix.encode(makeFlows(2000, { vni: 777 }), now),
      ]);
      await sendAll(c.udpPort, v5.encode(makeFlows(500), now));
      const t = await waitFor(
        'all flows stored',
        () => flowTotals(),
        (x) => x.n >= 5500,
      );
      expect(t.n).toBe(5500);
      expect(t.bytes).toBe(expectedBytes(3000) + expectedBytes(2000) + expectedBytes(500));
      expect(
        await flowTotals("version = 9 AND tenant = 'red' AND network = 'red-net' AND src_subnet = 'red-a'"),
      ).toMatchObject({ n: 3000 });
      // an unknown VNI is kept, unassigned
      expect(await flowTotals("version = 10 AND vni = 777 AND tenant = ''")).toMatchObject({ n: 2000 });
      const ex = await waitFor(
        'exporters table',
        () =>
          db().query<{ version: number; records: string; lost_packets: string }>(
            `SELECT version, records, lost_packets FROM ${db().database}.exporters FINAL WHERE exporter = toFixedString(IPv4ToIPv6(IPv4StringToNum('127.0.0.1')), 16) ORDER BY version`,
          ),
        (rows) => rows.length === 3 && rows.reduce((s, r) => s + Number(r.records), 0) === 5500,
      );
      expect(ex.map((r) => Number(r.version))).toEqual([5, 9, 10]);
      expect(ex.every((r) => Number(r.lost_packets) === 0)).toBe(true);
    } finally {
      await c.stop();
    }
    try {
      const lines = readFileSync(jsonl, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(5500);
      expect(JSON.parse(lines[0])).toHaveProperty('exporter', '127.0.0.1');
      // the protobuf file: 5500 length-delimited FlowMessages, the same flows
      const reader = protobuf.Reader.create(readFileSync(pb));
      const type = flowMessageType();
      let n = 0;
      let red = 0;
      while (reader.pos < reader.len) {
        const m = type.toObject(type.decodeDelimited(reader), { longs: Number, defaults: true });
        n++;
        if (m.tenant === 'red' && m.vni === 5001 && m.version === 9) red++;
      }
      expect([n, red]).toEqual([5500, 3000]);
    } finally {
      dir.remove();
    }
  });

  it('takes IPFIX over TCP, one template scope per session', async () => {
    const dir = tempDir('col-tcp');
    const c = await startCollector({
      stateDir: dir.path,
      clickhouse: null,
      config: { listen: ['tcp://127.0.0.1:0'], outputs: [`jsonl:${join(dir.path, 'tcp.jsonl')}`] },
    });
    try {
      const port = c.listeners[0].port;
      const enc = encoder(10, 3);
      const now = Date.now();
      const stream = Buffer.concat([...enc.templates(now), ...enc.encode(makeFlows(700), now)]);
      const sock: Socket = connect(port, '127.0.0.1');
      await new Promise<void>((r) => sock.once('connect', () => r()));
      // split at an awkward place: framing must reassemble messages across reads
      sock.write(stream.subarray(0, 37));
      await new Promise((r) => setTimeout(r, 20));
      sock.end(stream.subarray(37));
      await waitFor(
        'TCP flows',
        () => c.totals().outputRows,
        (n) => n >= 700,
      );
      expect(c.totals().outputRows).toBe(700);
    } finally {
      await c.stop();
      dir.remove();
    }
  });

  it('decodes data that arrives after a restart, from templates saved by the previous run', async () => {
    const dir = tempDir('col-restart');
    const ch = testClickHouseConfig(db().database);
    const enc = encoder(9, 4242);
    const first = await startCollector({
      stateDir: dir.path,
      clickhouse: ch,
      config: { templateSaveMs: 100 },
    });
    let port = first.udpPort;
    try {
      await sendAll(port, enc.templates(Date.now()));
      await waitFor(
        'template learnt',
        async () => (await first.metrics.templates.get()).values[0]?.value ?? 0,
        (n) => n > 0,
      );
    } finally {
      await first.stop();
    }
    // same port, so the exporter (address + port) routes as before
    const second = await startCollector({
      stateDir: dir.path,
      clickhouse: ch,
      config: { listen: [`udp://127.0.0.1:${port}`] },
    });
    port = second.udpPort;
    try {
      await sendAll(port, enc.encode(makeFlows(400, { vni: 4242 }), Date.now()));
      const t = await waitFor(
        'data decoded',
        () => flowTotals('observation_domain = 4242'),
        (x) => x.n >= 400,
      );
      expect(t).toEqual({ n: 400, bytes: expectedBytes(400), packets: expect.any(Number) });
    } finally {
      await second.stop();
      dir.remove();
    }
  });
});

/** A TCP relay in front of the real ClickHouse that can be switched off and on. */
function clickhouseRelay(target: URL) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    async up(port: number) {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    },
    async down() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = undefined;
    },
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('collector faults', () => {
  it('loses nothing and stores nothing twice while ClickHouse is unreachable for a while', async () => {
    const dir = tempDir('col-down');
    const relayPort = await freePort();
    const real = testClickHouseConfig(db().database);
    const relay = clickhouseRelay(new URL(real.url));
    const c = await startCollector({
      stateDir: dir.path,
      clickhouse: { ...real, url: `http://127.0.0.1:${relayPort}` },
      config: { batchMaxRows: 500, batchMaxWaitMs: 100 },
    });
    try {
      expect(c.metrics.clickhouseUp).toBeDefined();
      const enc = encoder(10, 9001);
      await sendAll(c.udpPort, enc.templates(Date.now()));
      // a steady stream: 20 rounds of 300 flows, ClickHouse down for the first 10
      let sent = 0;
      for (let round = 0; round < 20; round++) {
        if (round === 10) await relay.up(relayPort);
        await sendAll(c.udpPort, enc.encode(makeFlows(300, { vni: 9001 }, round * 300), Date.now()));
        sent += 300;
        await new Promise((r) => setTimeout(r, 100));
      }
      const t = await waitFor(
        'every flow stored',
        () => flowTotals('observation_domain = 9001'),
        (x) => x.n >= sent,
        30_000,
      );
      // a short while longer: a duplicate replay would show up now
      await new Promise((r) => setTimeout(r, 1500));
      expect(await flowTotals('observation_domain = 9001')).toEqual({
        n: sent,
        bytes: 20 * expectedBytes(300),
        packets: t.packets,
      });
      const spooled = await c.metrics.spooledRows.get();
      expect(spooled.values[0].value).toBeGreaterThan(0);
    } finally {
      await c.stop();
      await relay.down();
      dir.remove();
    }
  });

  it('survives a flood of malformed datagrams and still stores every valid flow', async () => {
    const dir = tempDir('col-flood');
    const c = await startCollector({ stateDir: dir.path, clickhouse: testClickHouseConfig(db().database) });
    try {
      const enc = encoder(9, 6006);
      const now = Date.now();
      const valid = [...enc.templates(now), ...enc.encode(makeFlows(1500, { vni: 6006 }), now)];
      let rnd = 12345;
      const rand = () => {
        rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
        return rnd;
      };
      const garbage = (i: number): Buffer => {
        const b = Buffer.alloc(20 + (rand() % 1400));
        for (let k = 0; k < b.length; k++) b[k] = rand() & 255;
        // every third one looks like v9/IPFIX so it reaches the set parsers
        if (i % 3 === 0) b.writeUInt16BE(i % 2 ? 9 : 10, 0);
        if (i % 6 === 0) b.writeUInt16BE(Math.min(b.length, rand() % 2000), 2);
        return b;
      };
      const rssBefore = process.memoryUsage().rss;
      const mixed: Buffer[] = [];
      let g = 0;
      for (const d of valid) {
        mixed.push(d);
        for (let k = 0; k < 30; k++) mixed.push(garbage(g++));
      }
      await sendAll(c.udpPort, mixed);
      const t = await waitFor(
        'valid flows stored',
        () => flowTotals('observation_domain = 6006'),
        (x) => x.n >= 1500,
      );
      expect(t.n).toBe(1500);
      expect(t.bytes).toBe(expectedBytes(1500));
      // worker counters reach the metrics once a second
      await waitFor(
        'decode errors counted',
        async () => (await c.metrics.decodeErrors.get()).values.reduce((s, v) => s + v.value, 0),
        (n) => n > 0,
      );
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
    } finally {
      await c.stop();
      dir.remove();
    }
  });
});
