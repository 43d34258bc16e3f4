/**
 * One exporter over two real decode worker threads (collector.spread): both decode its
 * records, each record exactly once; a template redefined mid-stream with another layout
 * decodes right on both; data that came before its template is held on whichever worker
 * got it and released there; and sequence loss is counted once, in arrival order, as the
 * datagrams deliberately left out.
 */
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorConfig } from '../../collector/src/config.ts';
import { createWorkerPool, type WorkerPool } from '../../collector/src/ingest/worker-pool.ts';
import type {
  ExporterDomainStats,
  FromWorker,
  WorkerStats,
} from '../../collector/src/ingest/worker-protocol.ts';
import { plan, workerInit } from '../../collector/src/plan.ts';
import { LAYOUT_A, LAYOUT_B, v9Stream } from './spread-datagrams.ts';

const EXPORTER = '192.0.2.7';

interface Seen {
  pool: WorkerPool;
  /** bytes value of every decoded flow, as decoded */
  bytes: number[];
  /** packets value of every decoded flow */
  packets: number[];
  workerStats: WorkerStats[];
  /** the domain stats last reported, by key */
  domains: Map<string, ExporterDomainStats>;
}

let open: WorkerPool | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function startPool(spread: 'auto' | 'always' | 'off', aboveDatagramsPerSecond = 5000): Promise<Seen> {
  const cfg = Value.Default(
    CollectorConfig,
    Value.Clone({ listen: ['udp://127.0.0.1:0'], outputs: ['jsonl:-'], workers: 2, metricsListen: '' }),
  ) as CollectorConfig;
  const p = plan(cfg, null);
  const seen: Omit<Seen, 'pool'> = { bytes: [], packets: [], workerStats: [], domains: new Map() };
  const decoder = new TextDecoder();
  const pool = createWorkerPool({
    count: 2,
    init: workerInit(cfg, p, '', new SharedArrayBuffer(4)),
    queueLimit: 50_000,
    spread: { mode: spread, aboveDatagramsPerSecond, maxStreams: 100 },
    onMessage(w, m: FromWorker) {
      if (m.type === 'chunk' && m.jsonl) {
        for (const line of decoder.decode(m.jsonl).split('\n')) {
          if (!line) continue;
          const flow = JSON.parse(line) as { bytes: number | string; packets: number | string };
          seen.bytes.push(Number(flow.bytes));
          seen.packets.push(Number(flow.packets));
        }
      } else if (m.type === 'stats') {
        seen.workerStats[w] = m.stats;
        for (const e of m.exporters) seen.domains.set(`${e.exporter}/${e.version}/${e.observationDomain}`, e);
      }
    },
    onDrop() {
      throw new Error('no datagram should be dropped here');
    },
    onError(_w, err) {
      throw err;
    },
  });
  open = pool;
  await pool.ready();
  return { pool, ...seen } as Seen;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

describe('one exporter over two decode workers', () => {
  it('spreads its records over both workers, each decoded once, through held data, a template redefinition and loss', async () => {
    const s = await startPool('always');
    const stream = v9Stream(7);
    const per = 10;
    let t = 1_000;
    const send = (d: Buffer) => s.pool.dispatch(0, d, EXPORTER, t++);
    // data before its template: held on whichever worker got it, released when the template reaches it
    for (let i = 0; i < 4; i++) send(stream.data(256, LAYOUT_A, i * per, per));
    send(stream.template(256, LAYOUT_A));
    let lost = 0;
    for (let i = 4; i < 200; i++) {
      if (i % 25 === 0) {
        stream.lose();
        lost++;
        continue;
      }
      send(stream.data(256, LAYOUT_A, i * per, per));
    }
    // template 256 redefined: 8-octet counters in another order
    send(stream.template(256, LAYOUT_B));
    for (let i = 200; i < 400; i++) {
      if (i % 40 === 0) {
        stream.lose();
        lost++;
        continue;
      }
      send(stream.data(256, LAYOUT_B, i * per, per));
    }
    // twice: the second stats report comes after every worker's answers for the sequence accounting
    await s.pool.flush();
    await s.pool.flush();

    const expected = range(0, 400)
      .filter((i) => !(i >= 4 && i < 200 && i % 25 === 0) && !(i >= 200 && i % 40 === 0))
      .flatMap((i) => range(i * per, per));
    expect(sorted(s.bytes)).toEqual(expected);
    expect(s.packets.every((p) => p === 1)).toBe(true);
    // both workers decoded a real share of the records
    const records = s.workerStats.map((x) => x.records);
    expect(records).toHaveLength(2);
    for (const r of records) expect(r).toBeGreaterThan(expected.length / 4);
    expect(records[0] + records[1]).toBe(expected.length);
    // the sequence is counted once over both workers: the loss is what was left out, nothing reordered
    expect(lost).toBe(12);
    expect(s.workerStats[0].lostPackets + s.workerStats[1].lostPackets).toBe(lost);
    expect(s.workerStats[0].reordered + s.workerStats[1].reordered).toBe(0);
    const domain = s.domains.get(`${EXPORTER}/9/7`);
    expect(domain?.lostPackets).toBe(lost);
    expect(domain?.records).toBe(expected.length);
    expect(domain?.packets).toBe(400 - lost + 2);
    // each worker holds the template, and counts no error for the copies it only learnt from
    const states = (await s.pool.exportStates()).map(
      (j) => JSON.parse(j) as { templates: { templateId: number; fields: number[][] }[] },
    );
    for (const st of states) expect(st.templates.map((x) => x.fields.length)).toEqual([LAYOUT_B.length]);
    for (const w of s.workerStats) expect(Object.values(w.errors).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("'auto' hands a fast exporter's templates to the other worker, then spreads it", async () => {
    const s = await startPool('auto', 200);
    const stream = v9Stream(8);
    const per = 5;
    let t = 10_000;
    const send = (d: Buffer) => s.pool.dispatch(1, d, EXPORTER, t);
    send(stream.template(300, LAYOUT_A));
    // 1 000 datagrams/s on the collector's clock: over the threshold once a second has passed
    for (let i = 0; i < 1500; i++) {
      send(stream.data(300, LAYOUT_A, i * per, per));
      t++;
      // let the handoff's question and answer cross the threads
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    }
    // the handoff waits for the home worker to reach the question in its queue
    const deadline = Date.now() + 20_000;
    while (s.pool.spreadExporters < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(s.pool.spreadExporters).toBe(1);
    send(stream.template(300, LAYOUT_B));
    for (let i = 1500; i < 2000; i++) send(stream.data(300, LAYOUT_B, i * per, per));
    await s.pool.flush();
    await s.pool.flush();
    expect(sorted(s.bytes)).toEqual(range(0, 2000 * per));
    // before the handoff only worker 1 (the home) decoded; after it, both
    expect(s.workerStats[0].records).toBeGreaterThan(0);
    expect(s.workerStats[0].records + s.workerStats[1].records).toBe(2000 * per);
    expect(s.domains.get(`${EXPORTER}/9/8`)?.lostPackets).toBe(0);
    expect(s.workerStats[0].templateMisses + s.workerStats[1].templateMisses).toBe(0);
  });

  it("'off' keeps the exporter on its home worker", async () => {
    const s = await startPool('off');
    const stream = v9Stream(9);
    send3(s, stream);
    await s.pool.flush();
    expect(s.workerStats[1].records).toBe(0);
    expect(s.workerStats[0].records).toBe(300);
  });
});

function send3(s: Seen, stream: ReturnType<typeof v9Stream>): void {
  s.pool.dispatch(0, stream.template(256, LAYOUT_A), EXPORTER, 1);
  for (let i = 0; i < 30; i++) s.pool.dispatch(0, stream.data(256, LAYOUT_A, i * 10, 10), EXPORTER, 2 + i);
}
