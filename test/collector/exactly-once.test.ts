/**
 * Exactly once on plain MergeTree, end to end against the suite's real ClickHouse: a real
 * collector inserts through a relay that lets the first flows INSERT reach ClickHouse (which
 * stores it) and then loses the response, or holds it past the client's timeout; and a
 * collector that starts with spool files whose batches ClickHouse already has.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSpool } from '../../collector/src/sink/spool.ts';
import { emptyFlow } from '../../protocol/src/schema/columns.ts';
import { encodeFlowsRowBinary, scanFlowRows } from '../../storage/src/flow-rowbinary.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import { encoder, expectedBytes, makeFlows, sendAll, startCollector, tempDir, waitFor } from './harness.ts';

const db = useTestClickHouse();

async function flowTotals(domain: number): Promise<{ n: number; bytes: number }> {
  const [r] = await db().query<{ n: string; bytes: string }>(
    `SELECT count() AS n, sum(bytes) AS bytes FROM ${db().database}.flows WHERE observation_domain = ${domain}`,
  );
  return { n: Number(r.n), bytes: Number(r.bytes) };
}

const metric = async (c: { metrics: Record<string, unknown> }, name: string) =>
  (await (c.metrics[name] as { get(): Promise<{ values: { value: number }[] }> }).get()).values.reduce(
    (s, v) => s + v.value,
    0,
  );

/**
 * A TCP relay in front of ClickHouse. The first `victims` connections that carry an INSERT
 * into flows forward it whole (ClickHouse stores it), then 'drop': close both sides when the
 * response comes, so the client never sees it; or 'hold': keep the response (the client's
 * request timeout fires first) and discard it.
 */
function lossyRelay(target: URL, mode: 'drop' | 'hold', victims: number) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let left = victims;
  const relay = {
    hit: 0,
    async listen(): Promise<number> {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        let armed = false;
        client.on('data', (d: Buffer) => {
          const head = d.toString('latin1', 0, Math.min(d.length, 400));
          if (left > 0 && /^POST /.test(head) && /INSERT\+INTO\+\w+\.flows\+/.test(head)) {
            left--;
            armed = true;
            relay.hit++;
          }
          upstream.write(d);
        });
        upstream.on('data', (d: Buffer) => {
          if (!armed) {
            client.write(d);
            return;
          }
          // the response of the armed request: ClickHouse has stored the batch by now
          if (mode === 'drop') {
            client.destroy();
            upstream.destroy();
          }
          // 'hold': never forwarded; the client times out and closes
        });
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
      return (server!.address() as { port: number }).port;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    },
  };
  return relay;
}

async function storedOnceThroughLossyRelay(mode: 'drop' | 'hold', domain: number) {
  const dir = tempDir(`col-eo-${mode}`);
  const real = testClickHouseConfig(db().database);
  const relay = lossyRelay(new URL(real.url), mode, 2);
  const port = await relay.listen();
  const c = await startCollector({
    stateDir: dir.path,
    clickhouse: { ...real, url: `http://127.0.0.1:${port}` },
    // 'hold' needs the client to give up first: a short request timeout
    config: { batchMaxRows: 1000, batchMaxWaitMs: 100, insertTimeoutMs: mode === 'hold' ? 1500 : 30_000 },
  });
  try {
    const enc = encoder(9, domain);
    await sendAll(c.udpPort, enc.templates(Date.now()));
    let sent = 0;
    for (let round = 0; round < 6; round++) {
      await sendAll(c.udpPort, enc.encode(makeFlows(250, { vni: domain }, round * 250), Date.now()));
      sent += 250;
      await new Promise((r) => setTimeout(r, 150));
    }
    const t = await waitFor(
      'every flow stored',
      () => flowTotals(domain),
      (x) => x.n >= sent,
      30_000,
    );
    // the spool must be empty (every replay decided), then no late copy may show up
    await waitFor(
      'spool replayed',
      () => c.metrics.spoolBatches.get(),
      (g) => g.values[0]?.value === 0,
      15_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(await flowTotals(domain)).toEqual({ n: sent, bytes: 6 * expectedBytes(250) });
    expect(t.n).toBe(sent);
    expect(relay.hit).toBeGreaterThan(0);
    // the lost inserts were found stored and not sent again
    expect(await metric(c, 'alreadyStoredRows')).toBeGreaterThan(0);
    expect(await metric(c, 'insertFailures')).toBeGreaterThan(0);
  } finally {
    await c.stop();
    await relay.close();
    dir.remove();
  }
}

describe('exactly once on plain MergeTree', () => {
  it('an insert ClickHouse stored whose response was lost is not stored again by the replay', async () => {
    await storedOnceThroughLossyRelay('drop', 8101);
  });

  it('an insert ClickHouse stored after the client timed out is not stored again by the replay', async () => {
    await storedOnceThroughLossyRelay('hold', 8102);
  });

  it('spool files whose batches ClickHouse already has are skipped; the others, old format too, stored once', async () => {
    const dir = tempDir('col-eo-spool');
    const now = Date.now();
    const batch = (domain: number, n: number) =>
      encodeFlowsRowBinary(
        Array.from({ length: n }, (_, i) =>
          Object.assign(emptyFlow(), {
            time_received: now,
            observation_domain: domain,
            src_port: i,
            bytes: 1000 + i,
          }),
        ),
      );
    const acked = batch(8201, 300); // stored, but the process died before the unlink
    const pending = batch(8202, 200); // never reached ClickHouse
    const legacy = batch(8203, 100); // a file from before batch ids: rows without the id
    const legacyBody = Buffer.concat(
      (() => {
        const out: Buffer[] = [];
        scanFlowRows(legacy, (_h, _l, _t, s, e) => out.push(legacy.subarray(s + 8, e)));
        return out;
      })(),
    );
    const spoolDir = join(dir.path, 'spool');
    const spool = openSpool(spoolDir, 1 << 26);
    writeFileSync(join(spoolDir, '0000000000000001-100.rowbinary'), legacyBody);
    const again = openSpool(spoolDir, 1 << 26); // numbers new files after the old one
    expect(await again.put([acked], 300, FLOW_INSERT_COLUMNS)).toBe(true);
    expect(await again.put([pending], 200, FLOW_INSERT_COLUMNS)).toBe(true);
    expect(spool.batches).toBe(0);
    await db().insertRowBinary(`${db().database}.flows`, FLOW_INSERT_COLUMNS, acked);

    // no traffic at all: the spool from the last run goes on its own
    const c = await startCollector({ stateDir: dir.path, clickhouse: testClickHouseConfig(db().database) });
    try {
      await waitFor(
        'spool replayed',
        () => readdirSync(spoolDir).length,
        (n) => n === 0,
        15_000,
      );
      expect(await flowTotals(8201)).toEqual({ n: 300, bytes: expectedBytes(300) });
      expect(await flowTotals(8202)).toEqual({ n: 200, bytes: expectedBytes(200) });
      expect(await flowTotals(8203)).toEqual({ n: 100, bytes: expectedBytes(100) });
      expect(await metric(c, 'alreadyStoredRows')).toBe(300);
      const ids = await db().query<{ d: number; id: string }>(
        `SELECT observation_domain AS d, toString(any(batch_id)) AS id FROM ${db().database}.flows WHERE observation_domain IN (8201, 8202, 8203) GROUP BY d ORDER BY d`,
      );
      expect(ids.map((r) => r.id)).toEqual([
        String(acked.readBigUInt64LE(0)),
        String(pending.readBigUInt64LE(0)),
        '0',
      ]);
    } finally {
      await c.stop();
      dir.remove();
    }
  });
});
