import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pcapFile, pcapngFile } from '../../../test/helpers/packets.ts';
import { CaptureFormatError, createCaptureStreamReader, type FrameSink, readCapture } from './pcap.ts';

type Seen = [linkType: number, timeMs: number, hex: string, origLen: number];
/** to the microsecond (nanosecond captures print more digits than a test wants to spell) */
const us = (ms: number) => Math.round(ms * 1000) / 1000;

/** Feeds `file` in pieces cut at `cuts`, keeping the unread tail as a source does. */
function readInPieces(file: Buffer, cuts: number[]): { frames: Seen[]; error: string | null; tail: number } {
  const reader = createCaptureStreamReader();
  const frames: Seen[] = [];
  const sink: FrameSink = {
    frame(linkType, buf, off, capLen, origLen, timeMs) {
      frames.push([linkType, timeMs, buf.subarray(off, off + capLen).toString('hex'), origLen]);
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
  [...readCapture(file)].map((f) => [f.linkType, f.timeMs, f.data.toString('hex'), f.origLength]);

const frameArb = fc.record({
  timeMs: fc.integer({ min: 0, max: 2 ** 31 }).map((s) => s * 1000 + 0.123),
  data: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a)),
});

describe('capture reader', () => {
  it('gives the same frames however the bytes are split, as readCapture gives for the whole file (pcap, pcapng)', () => {
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
    expect(got.frames.map(([l, t, d, o]) => [l, us(t), d, o])).toEqual([
      [1, 1_764_000_000_123.457, '61626364', 4],
    ]);
    expect(got.frames[0][1]).toBe(1_764_000_000_000 + 123_456_789 / 1e6);
  });

  it('reads a whole file: the frames before damage, then CaptureFormatError naming the byte', () => {
    const two = pcapFile([
      { timeMs: 1_000, data: Buffer.from('aaaa') },
      { timeMs: 2_000, data: Buffer.from('bbbb') },
    ]);
    const seen: string[] = [];
    const read = (file: Buffer) => {
      seen.length = 0;
      for (const f of readCapture(file)) seen.push(f.data.toString());
    };
    expect(() => read(two.subarray(0, two.length - 1))).toThrow(
      new CaptureFormatError('pcap: record at byte 44 runs past the end of the file'),
    );
    expect(seen).toEqual(['aaaa']);
    read(two.subarray(0, two.length - 4 - 16 + 15)); // a tail shorter than a record header
    expect(seen).toEqual(['aaaa']);
    expect(() => read(two.subarray(0, 20))).toThrow(/shorter than its 24-byte header/);
    expect(() => read(Buffer.from('nope'))).toThrow(/unknown magic/);
    const ng = pcapngFile([{ timeMs: 1_000, data: Buffer.from('cccc') }], 1);
    expect(() => read(ng.subarray(0, ng.length - 4))).toThrow(
      /^pcapng: block at byte \d+ has a bad length \d+$/,
    );
    expect(seen).toEqual([]);
  });

  it('reads a whole file bigger than its reading window, frames larger than the window included', () => {
    const frames = Array.from({ length: 40 }, (_, i) => ({
      timeMs: i,
      data: Buffer.alloc(i % 7 === 0 ? 1_500_000 : 100_000, i),
    }));
    for (const file of [pcapFile(frames, 1), pcapngFile(frames, 1)]) {
      const got = [...readCapture(file)];
      expect(got.map((f) => [f.timeMs, f.data.length, f.data[0]])).toEqual(
        frames.map((f, i) => [i, f.data.length, i]),
      );
    }
  });
});
