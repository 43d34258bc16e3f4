/**
 * The socket source on a real Unix socket with real protobuf messages: several agents,
 * messages split across writes, malformed messages (counted, the connection goes on) and
 * lost framing (that connection closed, the source goes on).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyFlow, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { encodeFlowDelimited, flowMessageType } from '../../../protocol/src/schema/protobuf.ts';
import { createSocketSource } from './socket.ts';
import { createDelimitedReader } from './socket/framing.ts';

function flow(i: number): FlowRecord {
  const rec = emptyFlow();
  Object.assign(rec, {
    flow_start: 1_795_000_000_000 + i,
    flow_end: 1_795_000_001_000 + i,
    src_addr: '10.0.0.1',
    dst_addr: i % 2 ? '2001:db8::2' : '10.0.0.2',
    src_port: 40000 + i,
    dst_port: 443,
    proto: 6,
    ip_version: i % 2 ? 6 : 4,
    bytes: 1500 * (i + 1),
    packets: i + 1,
    sampling_rate: 1,
    vni: 1001 + (i % 2),
    tunnel_type: 1,
    tunnel_src: '192.168.50.1',
    tunnel_dst: '192.168.50.2',
    src_mac: 0x020000000001,
  });
  return rec;
}

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `vxsock${process.pid}-`));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startSource() {
  const path = join(dir, 'agent.sock');
  const got: FlowRecord[] = [];
  const problems: string[] = [];
  const ac = new AbortController();
  let listening!: () => void;
  const ready = new Promise<void>((r) => {
    listening = r;
  });
  const source = createSocketSource({
    path,
    onListening: () => listening(),
    onProblem: (what, reason) => problems.push(`${what}: ${reason}`),
  });
  const done = source.run({ emit: (r) => got.push(...r), signal: ac.signal });
  await ready;
  return {
    path,
    got,
    problems,
    source,
    stop: () => {
      ac.abort();
      return done;
    },
  };
}

function agent(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('socket source', () => {
  it('takes records from several agents, split anywhere across writes', async () => {
    const s = await startSource();
    try {
      const a = await agent(s.path);
      const b = await agent(s.path);
      const stream = Buffer.concat(Array.from({ length: 50 }, (_, i) => encodeFlowDelimited(flow(i))));
      // agent a: byte-sized and odd-sized pieces; agent b: everything at once
      for (let off = 0; off < stream.length; off += 7) a.write(stream.subarray(off, off + 7));
      b.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeFlowDelimited(flow(100 + i)))));
      await until(() => s.got.length === 70);
      const fromA = s.got
        .filter((r) => (r.src_port as number) < 40100)
        .sort((x, y) => (x.src_port as number) - (y.src_port as number));
      expect(fromA).toEqual(Array.from({ length: 50 }, (_, i) => flow(i)));
      expect(s.source.stats()).toMatchObject({ connections: 2, messages: 70, records: 70, malformed: 0 });
      a.end();
      b.end();
    } finally {
      await s.stop();
    }
  });

  it('keeps exact 64-bit counters and fills defaults an agent left out', async () => {
    const s = await startSource();
    try {
      const a = await agent(s.path);
      const t = flowMessageType();
      const big = t
        .encodeDelimited(
          t.fromObject({ src_addr: Buffer.from([10, 1, 2, 3]), bytes: '18446744073709551615', packets: 7 }),
        )
        .finish();
      a.write(big);
      await until(() => s.got.length === 1);
      const r = s.got[0];
      expect(r.bytes).toBe(18446744073709551615n);
      expect(r.packets).toBe(7);
      expect(r.src_addr).toBe('10.1.2.3');
      expect(r.ip_version).toBe(4);
      expect(r.sampling_rate).toBe(1);
      expect(r.flow_end as number).toBeGreaterThan(Date.now() - 60_000);
      a.end();
    } finally {
      await s.stop();
    }
  });

  it('counts malformed messages and goes on with the connection', async () => {
    const s = await startSource();
    try {
      const a = await agent(s.path);
      const garbage = Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]); // length 5, invalid tag/varint
      const badAddr = flowMessageType()
        .encodeDelimited(flowMessageType().fromObject({ src_addr: Buffer.from([1, 2, 3]) }))
        .finish();
      const badU8 = flowMessageType()
        .encodeDelimited(flowMessageType().fromObject({ proto: 300 }))
        .finish();
      a.write(
        Buffer.concat([encodeFlowDelimited(flow(1)), garbage, badAddr, badU8, encodeFlowDelimited(flow(2))]),
      );
      await until(() => s.got.length === 2 && s.source.stats().malformed === 3);
      expect(s.got.map((r) => r.src_port)).toEqual([40001, 40002]);
      expect(s.problems.filter((p) => p.startsWith('malformed'))).toHaveLength(3);
      expect(a.destroyed).toBe(false);
      a.end();
    } finally {
      await s.stop();
    }
  });

  it('closes a connection whose framing is lost, and keeps serving others', async () => {
    const s = await startSource();
    try {
      const bad = await agent(s.path);
      const closed = new Promise((r) => bad.once('close', r));
      bad.on('error', () => {});
      bad.write(Buffer.from([0xff, 0xff, 0xff, 0x7f])); // a 268 MB message: framing lost
      await closed;
      expect(s.source.stats().framingErrors).toBe(1);
      expect(s.problems[0]).toMatch(/^framing: message length \d+ above/);
      const good = await agent(s.path);
      good.write(encodeFlowDelimited(flow(3)));
      await until(() => s.got.length === 1);
      good.end();
    } finally {
      await s.stop();
    }
  });

  it('removes a stale socket file at start and its own at stop', async () => {
    const first = await startSource();
    await first.stop();
    const { existsSync } = await import('node:fs');
    expect(existsSync(first.path)).toBe(false);
    const second = await startSource();
    await second.stop();
  });
});

describe('delimited framing', () => {
  it('handles a varint prefix split across chunks and rejects a 6-byte prefix', () => {
    const r = createDelimitedReader();
    const msg = Buffer.alloc(300, 1);
    const framed = Buffer.concat([Buffer.from([0xac, 0x02]), msg]);
    const out: Buffer[] = [];
    expect(r.push(framed.subarray(0, 1), (m) => out.push(m))).toEqual({ ok: true });
    expect(r.push(framed.subarray(1), (m) => out.push(m))).toEqual({ ok: true });
    expect(out).toHaveLength(1);
    expect(out[0].equals(msg)).toBe(true);
    expect(r.buffered).toBe(0);
    const bad = createDelimitedReader();
    expect(bad.push(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), () => {}).ok).toBe(false);
  });
});
