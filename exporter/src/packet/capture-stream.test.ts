import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../../protocol/src/capture/pcap.ts';
import { pcapFile, pcapngFile } from '../../../test/helpers/packets.ts';
import { createCaptureStreamReader, type FrameSink } from './capture-stream.ts';

type Seen = [linkType: number, timeMs: number, hex: string, origLen: number];
/** to the microsecond: the two readers may round the last bit of a double differently */
const us = (ms: number) => Math.round(ms * 1000) / 1000;

/** Feeds `file` in pieces cut at `cuts`, keeping the unread tail as a source does. */
function readInPieces(file: Buffer, cuts: number[]): { frames: Seen[]; error: string | null; tail: number } {
  const reader = createCaptureStreamReader();
  const frames: Seen[] = [];
  const sink: FrameSink = {
    frame(linkType, buf, off, capLen, origLen, timeMs) {
      frames.push([linkType, us(timeMs), buf.subarray(off, off + capLen).toString('hex'), origLen]);
    },
  };
  let pending = Buffer.alloc(0);
  let prev = 0;
  for (const cut of [...cuts.sort((a, b) => a - b), file.length]) {
    const buf = Buffer.concat([pending, file.subarray(prev, cut)]);
    prev = cut;
    const used = reader.feed(buf, 0, buf.length, sink);
    pending = buf.subarray(used);
  }
  return { frames, error: reader.error, tail: pending.length };
}

const whole = (file: Buffer): Seen[] =>
  [...readCapture(file)].map((f) => [f.linkType, us(f.timeMs), f.data.toString('hex'), f.origLength]);

const frameArb = fc.record({
  timeMs: fc.integer({ min: 0, max: 2 ** 31 }).map((s) => s * 1000 + 0.123),
  data: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a)),
});

describe('capture stream reader', () => {
  it('gives the same frames as the whole-file reader however the bytes are split (pcap, pcapng)', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 20 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        (frames, ng, rawCuts) => {
          const file = ng ? pcapngFile(frames, 1) : pcapFile(frames, 1);
          const cuts = rawCuts.map((c) => c % (file.length + 1));
          const got = readInPieces(file, cuts);
          expect(got.error).toBeNull();
          expect(got.tail).toBe(0);
          expect(got.frames).toEqual(whole(file));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads every real capture in ../shared/captures like the whole-file reader, in 1 KiB pieces', () => {
    const root = join(process.cwd(), '../shared/captures');
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.pcap')) files.push(join(d, e.name));
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) {
      const file = readFileSync(f);
      const cuts = Array.from({ length: Math.floor(file.length / 1024) }, (_, i) => (i + 1) * 1024);
      const got = readInPieces(file, cuts);
      expect(got.error, f).toBeNull();
      expect(got.frames, f).toEqual(whole(file));
    }
  });

  it('reports a damaged container instead of throwing, and consumes nothing after it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 400 }), (bytes) => {
        // random bytes (never an exception): not a capture unless they start with a magic
        const got = readInPieces(Buffer.from(bytes), [7, 50]);
        const magic = Buffer.from(bytes).readUInt32BE(0);
        const magics = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a];
        if (!magics.includes(magic)) expect(got.error).toMatch(/unknown magic/);
      }),
      { numRuns: 300 },
    );
    const bad = pcapFile([{ timeMs: 0, data: Buffer.alloc(10) }]);
    bad.writeUInt32LE(0x7fffffff, 24 + 8); // record claims 2 GB
    const got = readInPieces(bad, []);
    expect(got.error).toMatch(/claims/);
    const reader = createCaptureStreamReader();
    const none: FrameSink = { frame: () => expect.unreachable() };
    expect(reader.feed(bad, 0, bad.length, none)).toBe(24);
    expect(reader.feed(bad, 24, bad.length, none)).toBe(24);
    expect(readInPieces(Buffer.from('not a capture'), []).error).toMatch(/unknown magic/);
  });

  it('reads big-endian and nanosecond pcap', () => {
    const le = pcapFile([{ timeMs: 1_764_000_000_123.456, data: Buffer.from('abcd') }]);
    const be = Buffer.alloc(le.length);
    // header fields to big endian, magic to the nanosecond variant
    be.writeUInt32BE(0xa1b23c4d, 0);
    be.writeUInt16BE(2, 4);
    be.writeUInt16BE(4, 6);
    be.writeUInt32BE(262144, 16);
    be.writeUInt32BE(1, 20);
    be.writeUInt32BE(1_764_000_000, 24);
    be.writeUInt32BE(123_456_789, 28);
    be.writeUInt32BE(4, 32);
    be.writeUInt32BE(4, 36);
    le.copy(be, 40, 40);
    const got = readInPieces(be, [30]);
    expect(got.frames).toEqual([[1, 1_764_000_000_123.457, '61626364', 4]]);
  });
});
