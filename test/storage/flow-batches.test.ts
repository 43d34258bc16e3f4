/**
 * The stored check (storage/src/flow-batches.ts) and the batch_id migration on the suite's
 * real ClickHouse: what a batch looks like when ClickHouse holds none, all, one chunk, one
 * partition, or a cut-short prefix of it, and while an earlier insert of it still runs.
 */
import { request } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { emptyFlow, type FlowRecord } from '../../protocol/src/schema/columns.ts';
import { checkStored, insertQueryId } from '../../storage/src/flow-batches.ts';
import { encodeFlowsRowBinary, scanFlowRows } from '../../storage/src/flow-rowbinary.ts';
import { createFlowsTable, createRollupTable, createRollupView, ROLLUPS } from '../../storage/src/ddl.ts';
import { MIGRATIONS, migrate } from '../../storage/src/migrations.ts';
import { FLOW_INSERT_COLUMNS, FLOW_SCHEMA_COLUMNS } from '../../storage/src/rowbinary.ts';
import { RowBinaryWriter } from '../../storage/src/rowbinary.ts';
import { COLUMNS } from '../../protocol/src/schema/columns.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import { insertLikeCollector } from './rollup-totals.ts';

const db = useTestClickHouse();
const flows = () => `${db().database}.flows`;

/** n flows marked with `tag` (observation_domain) and numbered by src_port, starting at time t (ms) */
function rows(tag: number, n: number, t: number, stepMs = 0): FlowRecord[] {
  return Array.from({ length: n }, (_, i) =>
    Object.assign(emptyFlow(), {
      time_received: t + i * stepMs,
      observation_domain: tag,
      src_port: i,
      tenant: i % 3 ? 'acme' : 'blue',
      bytes: 100 + i,
    }),
  );
}

const insert = (parts: Buffer[]) =>
  db().insertRowBinary(flows(), FLOW_INSERT_COLUMNS, Buffer.concat(parts), { queryId: insertQueryId(parts) });

async function stored(tag: number): Promise<number[]> {
  const r = await db().query<{ p: number }>(
    `SELECT src_port AS p FROM ${flows()} WHERE observation_domain = ${tag} ORDER BY p`,
  );
  return r.map((x) => Number(x.p));
}

/** the rows of a body whose time_received (seconds) passes `keep`, as one buffer */
function filterRows(body: Buffer, keep: (t: number, i: number) => boolean): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  scanFlowRows(body, (_hi, _lo, t, s, e) => {
    if (keep(t, i++)) out.push(body.subarray(s, e));
  });
  return Buffer.concat(out);
}

const T = Date.UTC(2026, 10, 25, 10, 0, 0);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe('which rows of a batch ClickHouse already holds', () => {
  it('none, then all after the insert; other batches in the same seconds do not count', async () => {
    const other = encodeFlowsRowBinary(rows(1, 50, T));
    await insert([other]);
    const batch = [
      encodeFlowsRowBinary(rows(2, 40, T)),
      encodeFlowsRowBinary(rows(2, 60, T + 500).slice(40)),
    ];
    expect(await checkStored(db(), flows(), batch)).toEqual({ state: 'absent', rows: 60, chunks: 2 });
    await insert(batch);
    expect(await checkStored(db(), flows(), batch)).toEqual({ state: 'stored', rows: 60, chunks: 2 });
    expect(await stored(2)).toEqual(range(0, 60));
  });

  it('one chunk of two stored: the rest is exactly the other chunk', async () => {
    const a = encodeFlowsRowBinary(rows(3, 30, T));
    const b = encodeFlowsRowBinary(rows(3, 70, T + 1000).slice(30));
    await insert([a]);
    const r = await checkStored(db(), flows(), [a, b]);
    expect(r).toMatchObject({ state: 'partial', rows: 70, chunks: 2, stored: 30, restRows: 40 });
    if (r.state !== 'partial') throw new Error('unreachable');
    expect(Buffer.concat(r.rest).equals(b)).toBe(true);
    await insert(r.rest);
    expect(await stored(3)).toEqual(range(0, 70));
    expect((await checkStored(db(), flows(), [a, b])).state).toBe('stored');
  });

  it('a batch across midnight with one partition stored: the rest is the other day, row for row', async () => {
    // one chunk, its rows alternating between the two days (as held data can)
    const midnight = Date.UTC(2026, 10, 26);
    const recs = rows(4, 40, 0).map((r, i) =>
      Object.assign(r, { time_received: midnight + (i % 2 ? 1000 * i : -1000 * i - 1000) }),
    );
    const body = encodeFlowsRowBinary(recs);
    const day1 = filterRows(body, (t) => t < midnight / 1000);
    await insert([day1]);
    const r = await checkStored(db(), flows(), [body]);
    expect(r).toMatchObject({ state: 'partial', stored: 20, restRows: 20 });
    if (r.state !== 'partial') throw new Error('unreachable');
    expect(Buffer.concat(r.rest).equals(filterRows(body, (t) => t >= midnight / 1000))).toBe(true);
    await insert(r.rest);
    expect(await stored(4)).toEqual(range(0, 40));
  });

  it('a body cut short after some rows (a lost connection): the rest starts where it stopped', async () => {
    const a = encodeFlowsRowBinary(rows(5, 50, T, 10));
    const b = encodeFlowsRowBinary(rows(5, 80, T).slice(50));
    await insert([filterRows(a, (_t, i) => i < 17)]);
    const r = await checkStored(db(), flows(), [a, b]);
    expect(r).toMatchObject({ state: 'partial', stored: 17, restRows: 63 });
    if (r.state !== 'partial') throw new Error('unreachable');
    expect(Buffer.concat(r.rest).equals(Buffer.concat([filterRows(a, (_t, i) => i >= 17), b]))).toBe(true);
    await insert(r.rest);
    expect(await stored(5)).toEqual(range(0, 80));
  });

  it('an earlier insert of the batch still running: "running", then stored once it ends', async () => {
    // big enough that ClickHouse registers the query while it still waits for the end of the body
    const body = encodeFlowsRowBinary(rows(6, 30_000, T, 1));
    const queryId = insertQueryId([body]) as string;
    const url = new URL(inject('clickhouseUrl'));
    const req = request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: `/?query_id=${queryId}&query=${encodeURIComponent(`INSERT INTO ${flows()} (${FLOW_INSERT_COLUMNS}) FORMAT RowBinary`)}`,
    });
    const done = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    const cut = body.length - 1000;
    req.write(body.subarray(0, cut));
    let seen = false;
    for (let i = 0; i < 100 && !seen; i++) {
      const r = await db().query(`SELECT 1 FROM system.processes WHERE query_id = '${queryId}'`);
      seen = r.length > 0;
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toBe(true);
    expect(await checkStored(db(), flows(), [body])).toEqual({ state: 'running', queryIds: [queryId] });
    req.end(body.subarray(cut));
    expect(await done).toBe(200);
    expect(await checkStored(db(), flows(), [body])).toMatchObject({ state: 'stored', rows: 30_000 });
  });
});

describe('batch_id on an install from before it', () => {
  it('migration 2 adds the column; old rows read 0, new ones carry ids, rollups go on', async () => {
    const ch = db();
    const old = `${ch.database}_old`;
    await ch.command(`CREATE DATABASE ${old}`);
    try {
      // what migration 1 made before batch_id existed
      await ch.command(
        `CREATE TABLE ${old}.schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = TinyLog`,
      );
      await ch.command(`INSERT INTO ${old}.schema_migrations VALUES (1, 'v1', now())`);
      const v1 = createFlowsTable(old).replace(',\n  batch_id UInt64', '');
      expect(v1).not.toContain('batch_id');
      await ch.command(v1);
      for (const r of ROLLUPS) {
        await ch.command(createRollupTable(old, r));
        await ch.command(createRollupView(old, r));
      }
      const w = new RowBinaryWriter();
      const legacy = Object.assign(emptyFlow(), { time_received: T, tenant: 'acme', packets: 2 });
      for (const c of COLUMNS) {
        const v = legacy[c.name] as never;
        if (c.kind === 'string') w.string(v);
        else if (c.kind === 'ip') w.ip(v);
        else if (c.kind === 'datetime') w.dateTime(v);
        else if (c.kind === 'u8') w.u8(v);
        else if (c.kind === 'u16') w.u16(v);
        else if (c.kind === 'u32') w.u32(v);
        else w.u64(v);
      }
      await ch.insertRowBinary(`${old}.flows`, FLOW_SCHEMA_COLUMNS, w.finish());

      const handle = { ...ch, database: old } as typeof ch;
      // migration 2 and every later one (the dashboard's and the alerts' tables)
      expect(await migrate(handle)).toEqual({
        applied: MIGRATIONS.map((m) => m.version).filter((v) => v > 1),
        addedColumns: [],
      });
      expect(await migrate(handle)).toEqual({ applied: [], addedColumns: [] });
      const fresh = [Object.assign(emptyFlow(), { time_received: T, tenant: 'acme', packets: 3 })];
      const body = encodeFlowsRowBinary(fresh);
      // as the collector inserts since migration 5: rollup rows, then raw rows
      await insertLikeCollector(ch, old, fresh, body);
      const ids = await ch.query<{ id: string }>(
        `SELECT toString(batch_id) AS id FROM ${old}.flows ORDER BY packets`,
      );
      expect(ids.map((r) => r.id)).toEqual(['0', String(body.readBigUInt64LE(0))]);
      for (const r of ROLLUPS) {
        const [x] = await ch.query<{ p: string; f: string }>(
          `SELECT toString(sum(packets)) AS p, toString(sum(flows)) AS f FROM ${old}.${r.table}`,
        );
        expect(x, r.table).toEqual({ p: '5', f: '2' });
      }
      expect((await checkStored(handle, `${old}.flows`, [body])).state).toBe('stored');
    } finally {
      await ch.command(`DROP DATABASE IF EXISTS ${old}`);
    }
  });
});
