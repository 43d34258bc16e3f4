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
  it('keeps batches in order across a reopen, refuses past its bound, drops half-written files', async () => {
    const d = dir();
    const s = openSpool(d, 100);
    expect(await s.put(Buffer.alloc(40, 1), 4)).toBe(true);
    expect(await s.put(Buffer.alloc(40, 2), 5)).toBe(true);
    expect(await s.put(Buffer.alloc(40, 3), 6)).toBe(false);
    writeFileSync(join(d, '0000000000000099-1.rowbinary.tmp'), 'half');
    const again = openSpool(d, 100);
    expect([again.batches, again.rows, again.bytes]).toEqual([2, 9, 80]);
    expect(readdirSync(d).some((f) => f.endsWith('.tmp'))).toBe(false);
    const first = again.oldest()!;
    expect((await again.read(first))[0]).toBe(1);
    await again.remove(first);
    expect((await again.read(again.oldest()!))[0]).toBe(2);
    expect(await again.put(Buffer.alloc(40, 4), 1)).toBe(true);
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
