/**
 * The export pipeline with the real encoders, real UDP sockets on loopback (IPv4 and IPv6
 * collectors at once) and the project's decoder reading what arrives.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createDecoder } from '../../../protocol/src/decode/index.ts';
import { createFlowEncoder } from '../../../protocol/src/encode/index.ts';
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { createSimSource } from '../sources/sim.ts';
import { createPipeline } from './pipeline.ts';
import { parseTarget, resolveTarget } from './targets.ts';

interface Collector {
  port: number;
  datagrams: Buffer[];
  socket: Socket;
}
const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function collector(type: 'udp4' | 'udp6'): Promise<Collector> {
  // a 4 MiB receive buffer: the sender is in this process and sends in bursts
  const socket = createSocket({ type, recvBufferSize: 4 << 20 });
  open.push(socket);
  const datagrams: Buffer[] = [];
  socket.on('message', (m) => datagrams.push(m));
  await new Promise<void>((r) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', r));
  return { port: socket.address().port, datagrams, socket };
}

async function targets(...urls: string[]) {
  return Promise.all(
    urls.map((u) => {
      const p = parseTarget(u);
      if (!p.ok) throw new Error(p.error);
      return resolveTarget(p.value);
    }),
  );
}

async function simRecords(n: number): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  const src = createSimSource({ rate: n, seed: 11, tenants: 4, durationS: 1, flat: true, realtime: false });
  await src.run({ emit: (r) => out.push(...r), signal: new AbortController().signal });
  return out;
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('targets', () => {
  it('parses IPv4, IPv6 and host names, and names what is wrong', () => {
    expect(parseTarget('udp://127.0.0.1:2055')).toEqual({
      ok: true,
      value: { url: 'udp://127.0.0.1:2055', host: '127.0.0.1', port: 2055 },
    });
    expect(parseTarget('udp://[::1]:4739')).toMatchObject({ ok: true, value: { host: '::1', port: 4739 } });
    expect(parseTarget('udp://localhost:2055')).toMatchObject({ ok: true, value: { host: 'localhost' } });
    expect(parseTarget('tcp://1.2.3.4:1')).toMatchObject({ ok: false });
    expect(parseTarget('udp://1.2.3.4:70000')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/port/),
    });
    expect(parseTarget('udp://[1.2.3.4]:5')).toMatchObject({ ok: false });
  });
});

describe('export pipeline', () => {
  for (const version of [9, 10, 5] as const) {
    it(`sends every record to every collector (v${version}), each seeing a gap-free sequence`, async () => {
      const c4 = await collector('udp4');
      const c6 = await collector('udp6');
      const p = await createPipeline({
        targets: await targets(`udp://127.0.0.1:${c4.port}`, `udp://[::1]:${c6.port}`),
        createEncoder: createFlowEncoder,
        batchRecords: 300,
        encoder: { version, observationDomain: 77, bootTimeMs: Date.now() - 1000 },
      });
      const records = (await simRecords(2000)).filter((r) => version !== 5 || r.ip_version === 4);
      await p.sendTemplates();
      for (let i = 0; i < records.length; i += 450) p.emit(records.slice(i, i + 450));
      await p.close();
      const s = p.stats();
      expect(s).toMatchObject({ received: records.length, exported: records.length, dropped: 0 });
      for (const t of s.targets) expect(t).toMatchObject({ flows: records.length, errors: 0 });
      await until(
        () =>
          c4.datagrams.length === s.targets[0].datagrams && c6.datagrams.length === s.targets[1].datagrams,
      );
      for (const c of [c4, c6]) {
        const dec = createDecoder();
        const got: FlowRecord[] = [];
        const seqs: number[] = [];
        for (const d of c.datagrams) {
          const sum = dec.decode(d, '127.0.0.1', Date.now(), (r) => got.push({ ...r }));
          expect(sum.errors).toBe(0);
          expect(sum.observationDomain).toBe(version === 5 ? 77 & 0xffff : 77);
          seqs.push(sum.sequence);
        }
        expect(got).toHaveLength(records.length);
        const key = (r: FlowRecord) => `${r.src_addr}|${r.dst_addr}|${r.src_port}|${r.dst_port}|${r.packets}`;
        expect(got.map(key).sort()).toEqual(records.map(key).sort());
        if (version !== 5) expect(new Set(got.map((r) => r.vni))).toEqual(new Set(records.map((r) => r.vni)));
        // v9 counts datagrams; IPFIX and v5 count records
        for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
        if (version === 9) expect(seqs[seqs.length - 1] - seqs[0]).toBe(seqs.length - 1);
      }
      expect(c4.datagrams.map((d) => d.toString('hex'))).toEqual(c6.datagrams.map((d) => d.toString('hex')));
    });
  }

  it('refreshes templates by time while idle', async () => {
    const c = await collector('udp4');
    const p = await createPipeline({
      targets: await targets(`udp://127.0.0.1:${c.port}`),
      createEncoder: createFlowEncoder,
      encoder: { version: 10, observationDomain: 1, bootTimeMs: Date.now(), templateRefreshMs: 1000 },
    });
    try {
      p.emit(await simRecords(50));
      await p.flush();
      const sent = p.stats().targets[0].datagrams;
      await until(() => c.datagrams.length >= sent);
      const afterData = c.datagrams.length;
      await until(() => c.datagrams.length > afterData, 4000);
      const dec = createDecoder();
      const sum = dec.decode(c.datagrams[c.datagrams.length - 1], '127.0.0.1', Date.now(), () => {});
      expect(sum.templates).toBeGreaterThan(0);
      expect(sum.records).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('bounds its queue: a source that overruns it has the excess dropped and counted', async () => {
    const c = await collector('udp4');
    const p = await createPipeline({
      targets: await targets(`udp://127.0.0.1:${c.port}`),
      createEncoder: createFlowEncoder,
      batchRecords: 100,
      maxPendingRecords: 1000,
      encoder: { version: 9, observationDomain: 1, bootTimeMs: Date.now() },
    });
    const recs = await simRecords(3000);
    p.emit(recs.slice(0, 800));
    p.emit(recs.slice(800)); // synchronously, before anything was sent
    await p.close();
    const s = p.stats();
    expect(s.received).toBe(recs.length);
    expect(s.exported + s.dropped).toBe(recs.length);
    expect(s.dropped).toBeGreaterThan(0);
    // at most the queue plus the one batch already taken out of it
    expect(s.exported).toBeLessThanOrEqual(1000 + 100);
  });

  it('counts send errors per collector without stopping the others', async () => {
    const good = await collector('udp4');
    const p = await createPipeline({
      // 255.255.255.255 (broadcast) fails with EACCES on a socket without SO_BROADCAST
      targets: await targets('udp://255.255.255.255:9', `udp://127.0.0.1:${good.port}`),
      createEncoder: createFlowEncoder,
      encoder: { version: 9, observationDomain: 1, bootTimeMs: Date.now() },
    });
    p.emit(await simRecords(100));
    await p.close();
    const [bad, ok] = p.stats().targets;
    expect(bad.errors).toBeGreaterThan(0);
    expect(bad.lastError).toMatch(/EACCES/);
    expect(ok.errors).toBe(0);
    expect(ok.flows).toBeGreaterThanOrEqual(100);
  });
});
