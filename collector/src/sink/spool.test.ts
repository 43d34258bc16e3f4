import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { takeIpfixMessages } from '../ingest/tcp-listener.ts';
import { openSpool } from './spool.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), `vxflow-spool-${process.pid}-`));
  dirs.push(d);
  return d;
};

describe('spool', () => {
  const COLS = 'batch_id, a, b';
  const HEADER = `vxflow-spool 2 columns=${COLS}\n`.length;
  it('keeps batches in order across a reopen, refuses past its bound, drops half-written files', async () => {
    const d = dir();
    const max = 2 * (40 + HEADER) + 10;
    const s = openSpool(d, max);
    expect(await s.put([Buffer.alloc(15, 1), Buffer.alloc(25, 1)], 4, COLS)).toBe(true);
    expect(await s.put([Buffer.alloc(40, 2)], 5, COLS)).toBe(true);
    expect(await s.put([Buffer.alloc(40, 3)], 6, COLS)).toBe(false);
    writeFileSync(join(d, '0000000000000099-1.v2.rowbinary.tmp'), 'half');
    const again = openSpool(d, max);
    expect([again.batches, again.rows, again.bytes]).toEqual([2, 9, 2 * (40 + HEADER)]);
    expect(readdirSync(d).some((f) => f.endsWith('.tmp'))).toBe(false);
    const first = again.oldest()!;
    const r = await again.read(first);
    expect(r.columns).toBe(COLS);
    expect(r.body).toEqual(Buffer.alloc(40, 1));
    await again.remove(first);
    expect((await again.read(again.oldest()!)).body[0]).toBe(2);
    expect(await again.put([Buffer.alloc(40, 4)], 1, COLS)).toBe(true);
  });

  it('still reads files from before the header (bare bodies), in order with new ones', async () => {
    const d = dir();
    writeFileSync(join(d, '0000000000000007-3.rowbinary'), Buffer.alloc(30, 7));
    const s = openSpool(d, 1 << 20);
    expect(await s.put([Buffer.alloc(10, 8)], 2, COLS)).toBe(true);
    expect(readdirSync(d).sort()).toEqual([
      '0000000000000007-3.rowbinary',
      '0000000000000008-2.v2.rowbinary',
    ]);
    const old = s.oldest()!;
    expect(old.format).toBe(1);
    expect(await s.read(old)).toEqual({ body: Buffer.alloc(30, 7), columns: undefined });
    await s.remove(old);
    expect((await s.read(s.oldest()!)).columns).toBe(COLS);
  });

  it('sets an unreadable file aside as .bad', async () => {
    const d = dir();
    writeFileSync(join(d, '0000000000000001-3.v2.rowbinary'), 'no header here');
    const s = openSpool(d, 1 << 20);
    const b = s.oldest()!;
    await expect(s.read(b)).rejects.toThrow(/no spool header/);
    await s.quarantine(b);
    expect([s.batches, s.rows, s.bytes]).toEqual([0, 0, 0]);
    expect(readdirSync(d)).toEqual(['0000000000000001-3.v2.rowbinary.bad']);
    // and a reopen leaves it alone
    expect(openSpool(d, 1 << 20).batches).toBe(0);
  });
});

describe('IPFIX over TCP framing', () => {
  const msg = (len: number) => {
    const b = Buffer.alloc(len);
    b.writeUInt16BE(10, 0);
    b.writeUInt16BE(len, 2);
    return b;
  };
  it('splits messages by header length and keeps the partial tail', () => {
    const got: number[] = [];
    const rest = takeIpfixMessages(Buffer.concat([msg(16), msg(40), msg(30).subarray(0, 10)]), (m) =>
      got.push(m.length),
    );
    expect(got).toEqual([16, 40]);
    expect(rest?.length).toBe(10);
  });
  it('reports a stream out of step (wrong version or a length below the header)', () => {
    const bad = msg(20);
    bad.writeUInt16BE(9, 0);
    expect(takeIpfixMessages(bad, () => {})).toBeNull();
    const short = msg(16);
    short.writeUInt16BE(8, 2);
    expect(takeIpfixMessages(short, () => {})).toBeNull();
  });
});
