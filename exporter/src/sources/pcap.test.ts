import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowFrame, type VxlanCaptureSpec, writeVxlanCapture } from '../../../bench/tools/vxlan-capture.ts';
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { END_FORCED, END_IDLE } from '../../../protocol/src/ie/flow-end-reason.ts';
import { pcapFile, pcapngFile, pcapHeader, pcapRecordHeader } from '../../../test/helpers/packets.ts';
import { CaptureReadError, createPcapSource, type PcapSourceSpec } from './pcap.ts';

const dir = mkdtempSync(join(tmpdir(), `vxflow-pcap-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec: VxlanCaptureSpec = { packets: 20_000, flows: 200, vnis: 4, packetSize: 160 };
const file = join(dir, 'gen.pcap');
let facts: ReturnType<typeof writeVxlanCapture>;
beforeAll(() => {
  facts = writeVxlanCapture(file, spec);
});

async function collect(s: PcapSourceSpec, signal = new AbortController().signal) {
  const source = createPcapSource(s);
  const records: FlowRecord[] = [];
  const progress: number[] = [];
  await source.run({ emit: (r) => records.push(...r), signal, progress: (f) => progress.push(f) });
  return { source, records, progress };
}

function expectGeneratedFlows(records: FlowRecord[]) {
  expect(records).toHaveLength(spec.flows);
  const byKey = new Map(records.map((r) => [`${r.vni} ${r.src_addr} ${r.src_port}`, r]));
  for (let i = 0; i < spec.flows; i++) {
    const isTcp = i % 2 === 0;
    const key = `${facts.firstVni + (i % spec.vnis)} 10.${(i >> 8) & 255}.${i & 255}.1 ${isTcp ? 10000 + i : 20000 + i}`;
    const r = byKey.get(key);
    expect(r, key).toBeDefined();
    expect(r).toMatchObject({
      packets: facts.packetsPerFlow[i],
      bytes: facts.packetsPerFlow[i] * facts.innerIpLength,
      proto: isTcp ? 6 : 17,
      tunnel_type: 1,
      tunnel_src: `172.16.0.${1 + (i % 4)}`,
      flow_end_reason: END_FORCED,
    });
  }
}

describe('pcap source: files', () => {
  it('gives every inner flow of a generated VXLAN capture with exact packets and bytes', async () => {
    const { source, records, progress } = await collect({ path: file, cache: {} });
    expectGeneratedFlows(records);
    expect(source.stats).toMatchObject({ frames: 20_000, truncatedTailBytes: 0 });
    expect(source.stats.parse.ok).toBe(20_000);
    expect(progress.at(-1)).toBe(1);
    expect(source.cache.size).toBe(0);
  });

  it('gives the same flows when read in tiny chunks (records split across reads)', async () => {
    const { records } = await collect({ path: file, cache: {}, chunkBytes: 1000 });
    expectGeneratedFlows(records);
  });

  it('samples 1 in N packets before parsing and stamps the rate on every flow', async () => {
    const { source, records } = await collect({ path: file, cache: { samplingRate: 10 } });
    expect(source.stats.unsampled).toBe(18_000);
    expect(source.stats.parse.ok).toBe(2_000);
    expect(records.reduce((n, r) => n + Number(r.packets), 0)).toBe(2_000);
    expect(records.every((r) => r.sampling_rate === 10)).toBe(true);
  });

  it("waits for the pipeline's drain() between chunks (backpressure) and still gives every flow", async () => {
    const source = createPcapSource({ path: file, cache: {}, chunkBytes: 256 * 1024 });
    const records: FlowRecord[] = [];
    let drains = 0;
    let waiting = false;
    const ctx = {
      emit: (r: FlowRecord[]) => {
        expect(waiting, 'emitted while the queue was draining').toBe(false);
        records.push(...r);
      },
      signal: new AbortController().signal,
      drain: () => {
        drains++;
        waiting = true;
        return new Promise<void>((r) =>
          setTimeout(() => {
            waiting = false;
            r();
          }, 2),
        );
      },
    };
    await source.run(ctx);
    expect(drains).toBeGreaterThan(10);
    expectGeneratedFlows(records);
  });

  it('reads pcapng', async () => {
    const frames = Array.from({ length: 30 }, (_, j) => ({
      timeMs: 1_764_000_000_000 + j,
      data: flowFrame(j % 3, spec),
    }));
    const ng = join(dir, 'gen.pcapng');
    writeFileSync(ng, pcapngFile(frames));
    const { records } = await collect({ path: ng, cache: {} });
    expect(records.map((r) => r.packets)).toEqual([10, 10, 10]);
    expect(records[0].flow_start).toBe(1_764_000_000_000);
    expect(records[0].flow_end).toBe(1_764_000_000_027);
  });

  it('replays the capture timeouts by packet time', async () => {
    const t = 1_764_000_000_000;
    const frames = [
      { timeMs: t, data: flowFrame(0, spec) },
      { timeMs: t + 1000, data: flowFrame(1, spec) },
      { timeMs: t + 20_000, data: flowFrame(1, spec) },
    ];
    const p = join(dir, 'idle.pcap');
    writeFileSync(p, pcapFile(frames));
    const { records } = await collect({ path: p, cache: { inactiveTimeoutMs: 15_000 } });
    expect(records.map((r) => [r.src_port, r.packets, r.flow_end_reason])).toEqual([
      [10000, 1, END_IDLE],
      [20001, 1, END_IDLE],
      [20001, 1, END_FORCED],
    ]);
  });

  it('joins a record larger than the read-ahead reserve (1.5 MB frame between small ones)', async () => {
    const big = Buffer.alloc(1_500_000); // Ethernet with ethertype 0: not IP, just bytes
    const frames = [
      { timeMs: 1, data: flowFrame(0, spec) },
      { timeMs: 2, data: big },
      { timeMs: 3, data: flowFrame(0, spec) },
    ];
    const p = join(dir, 'big.pcap');
    writeFileSync(p, pcapFile(frames));
    const { source, records } = await collect({ path: p, cache: {}, chunkBytes: 65536 });
    expect(source.stats.frames).toBe(3);
    expect(source.stats.parse['not-ip']).toBe(1);
    expect(records.map((r) => r.packets)).toEqual([2]);
  });

  it('counts an incomplete last record instead of failing', async () => {
    const p = join(dir, 'cut.pcap');
    writeFileSync(
      p,
      Buffer.concat([pcapFile([{ timeMs: 0, data: flowFrame(0, spec) }]), pcapRecordHeader(1, 160)]),
    );
    const { source, records } = await collect({ path: p, cache: {} });
    expect(records).toHaveLength(1);
    expect(source.stats.truncatedTailBytes).toBe(16);
  });

  it('rejects a file that is not a capture, naming it', async () => {
    const p = join(dir, 'junk.pcap');
    writeFileSync(p, Buffer.from('this is not a capture file at all'));
    await expect(collect({ path: p, cache: {} })).rejects.toThrow(CaptureReadError);
    await expect(collect({ path: p, cache: {} })).rejects.toThrow(/junk\.pcap: not a pcap/);
  });

  it('stops early and flushes when the signal aborts', async () => {
    const ac = new AbortController();
    ac.abort();
    const { source, records } = await collect({ path: file, cache: {} }, ac.signal);
    expect(source.stats.frames).toBe(0);
    expect(records).toEqual([]);
  });
});

describe('pcap source: streams (pcap:-)', () => {
  it('reads a capture piped in small pieces and flushes at end of stream', async () => {
    const input = createReadStream(file, { highWaterMark: 777 });
    const { source, records } = await collect({ path: '-', cache: {}, input });
    expectGeneratedFlows(records);
    expect(source.stats.frames).toBe(20_000);
  });

  it('ends and flushes when the stream is destroyed without an end (the writer died)', async () => {
    const input = new PassThrough();
    const f = flowFrame(1, spec);
    input.write(
      Buffer.concat([pcapHeader(1), pcapRecordHeader(1000, f.length), f, pcapRecordHeader(1001, 160)]),
    );
    setTimeout(() => input.destroy(), 50);
    const { source, records } = await collect({ path: '-', cache: {}, input });
    expect(records.map((r) => [r.packets, r.flow_end_reason])).toEqual([[1, END_FORCED]]);
    expect(source.stats.truncatedTailBytes).toBe(16);
  });

  it('expires idle flows on the wall-clock tick while the stream stays open', async () => {
    const input = new PassThrough();
    const source = createPcapSource({ path: '-', cache: { inactiveTimeoutMs: 200 }, input, tickMs: 50 });
    const emitted: FlowRecord[] = [];
    const ac = new AbortController();
    const running = source.run({ emit: (r) => emitted.push(...r), signal: ac.signal });
    input.write(pcapHeader(1));
    const f = flowFrame(0, spec);
    input.write(Buffer.concat([pcapRecordHeader(Date.now(), f.length), f]));
    const deadline = Date.now() + 5000;
    while (emitted.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(emitted.map((r) => r.flow_end_reason)).toEqual([END_IDLE]);
    ac.abort();
    await running;
    input.destroy();
  });
});

it('reads the same bytes as the whole-buffer reader (shared/captures sanity)', async () => {
  // a real capture from another tool: every frame the whole-file reader sees, we see
  const p = join(process.cwd(), '../shared/captures/akvorado/decap/gre-v4-key.pcap');
  const { source, records } = await collect({ path: p, cache: {} });
  expect(source.stats.frames).toBe(2);
  expect(readFileSync(p).length).toBe(source.stats.bytesRead);
  expect(records.map((r) => [r.src_addr, r.vni, r.icmp_type]).sort()).toEqual([
    ['192.168.1.101', 1, 8],
    ['192.168.2.102', 1, 0],
  ]);
});
