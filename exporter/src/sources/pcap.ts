/**
 * `pcap:FILE` and `pcap:-` (stdin): a packet source. Frames from a pcap/pcapng file or a
 * live `tcpdump -U -w -` stream are parsed (with overlay decapsulation), accounted in the
 * flow cache by their capture time, and the expired flows are emitted. A file ends with
 * every flow flushed (reason 4, forced end); a stream also expires flows on a wall-clock
 * tick so an idle link still exports. Reading is streamed in chunks: memory stays constant
 * however large the capture.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { END_FORCED } from '../../../protocol/src/ie/flow-end-reason.ts';
import { createFlowCache, type FlowCache, type FlowCacheOptions } from '../flow-cache.ts';
import { createCaptureStreamReader, type FrameSink } from '../../../protocol/src/capture/pcap.ts';
import { PacketInfo, PARSE_OK, type PARSE_STATUS_NAMES, tunnelPorts } from '../packet/packet-info.ts';
import { parsePacket } from '../packet/parse.ts';
import type { FlowSource, SourceContext } from './source.ts';

export interface PcapSourceSpec {
  /** capture file, or '-' for standard input */
  path: string;
  cache: FlowCacheOptions;
  /** the stream to read for '-' (default process.stdin); tests pass their own */
  input?: Readable;
  /** live streams: how often to expire flows by wall-clock time, ms (default 1000) */
  tickMs?: number;
  /** file reads: bytes per read (default 4 MiB) */
  chunkBytes?: number;
  /** UDP destination ports decapsulated as VXLAN (default 4789 and 8472) */
  vxlanPorts?: readonly number[];
  /** UDP destination ports decapsulated as Geneve (default 6081) */
  genevePorts?: readonly number[];
}

export interface PcapSourceStats {
  frames: number;
  bytesRead: number;
  /** frames by parse outcome: ok, unsupported-link, not-ip, truncated, bad-ip */
  parse: Record<(typeof PARSE_STATUS_NAMES)[number], number>;
  /** frames skipped by 1-in-N sampling */
  unsampled: number;
  /** bytes of an incomplete last record (a capture cut off mid-write) */
  truncatedTailBytes: number;
}

export interface PcapSource extends FlowSource {
  readonly stats: PcapSourceStats;
  readonly cache: FlowCache;
}

/** A capture the reader cannot go on with (not pcap, damaged container). */
export class CaptureReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureReadError';
  }
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;
/** room before each chunk for the previous chunk's incomplete record */
const RESERVE = 1024 * 1024;

/** Parses frames into the cache; one instance per source so the hot call stays monomorphic. */
class PacketSink implements FrameSink {
  readonly info: PacketInfo;
  readonly statusCounts = [0, 0, 0, 0, 0];
  unsampled = 0;
  lastTime = 0;
  constructor(
    private readonly cache: FlowCache,
    ports: Uint8Array,
  ) {
    this.info = new PacketInfo(ports);
  }

  frame(linkType: number, buf: Buffer, off: number, capLen: number, _orig: number, timeMs: number): void {
    this.lastTime = timeMs;
    if (!this.cache.sample()) {
      this.unsampled++;
      return;
    }
    const status = parsePacket(this.info, linkType, buf, off, off + capLen);
    this.statusCounts[status]++;
    if (status === PARSE_OK) this.cache.add(this.info, buf, timeMs);
  }
}

/** the pipeline's backpressure, when the context has it (tests may pass a bare context) */
function waitForDrain(ctx: SourceContext): Promise<void> | null {
  return (ctx as { drain?: () => Promise<void> }).drain?.() ?? null;
}

export function createPcapSource(spec: PcapSourceSpec): PcapSource {
  const cache = createFlowCache(spec.cache);
  const sink = new PacketSink(cache, tunnelPorts(spec.vxlanPorts, spec.genevePorts));
  const reader = createCaptureStreamReader();
  let bytesRead = 0;
  let truncatedTailBytes = 0;

  const emitDrained = (ctx: SourceContext) => {
    const records = cache.drain();
    if (records.length > 0) ctx.emit(records);
  };

  const finish = (ctx: SourceContext, tail: number) => {
    truncatedTailBytes = tail;
    cache.flush(END_FORCED);
    emitDrained(ctx);
    if (reader.error !== null) throw new CaptureReadError(`${spec.path}: ${reader.error}`);
  };

  /**
   * Double-buffered: the next chunk is read (on libuv's thread pool, so on the other core)
   * while this one is parsed. Each buffer keeps RESERVE bytes in front of its data, where
   * the previous chunk's incomplete last record is copied so records stay contiguous.
   */
  async function runFile(ctx: SourceContext): Promise<void> {
    const fh = await open(spec.path, 'r');
    const chunk = spec.chunkBytes ?? DEFAULT_CHUNK;
    const bufs = [Buffer.allocUnsafe(RESERVE + chunk), Buffer.allocUnsafe(RESERVE + chunk)];
    let cur = 0;
    let pending: Promise<{ bytesRead: number }> | null = null;
    let tail: Buffer = Buffer.alloc(0); // unread bytes of the previous chunk (a view)
    try {
      const size = (await fh.stat()).size;
      pending = fh.read(bufs[cur], RESERVE, chunk, null);
      while (!ctx.signal.aborted && reader.error === null) {
        const { bytesRead: n } = await pending;
        pending = null;
        if (n === 0) break;
        bytesRead += n;
        let data: Buffer;
        let start: number;
        if (tail.length <= RESERVE) {
          start = RESERVE - tail.length;
          tail.copy(bufs[cur], start);
          data = bufs[cur];
        } else {
          // a record larger than the reserve (rare: huge pcapng blocks): join by copying
          data = Buffer.concat([tail, bufs[cur].subarray(RESERVE, RESERVE + n)]);
          start = 0;
        }
        const end = data === bufs[cur] ? RESERVE + n : data.length;
        // the other buffer is free now (its tail was just copied): start the next read
        pending = fh.read(bufs[1 - cur], RESERVE, chunk, null);
        const used = reader.feed(data, start, end, sink);
        tail = data.subarray(used, end);
        cur = 1 - cur;
        emitDrained(ctx);
        // wait for the export queue: a large capture parses faster than it can be sent, and
        // records beyond the pipeline's queue (200k) would be dropped
        await waitForDrain(ctx);
        ctx.progress?.(size > 0 ? bytesRead / size : 1, `${reader.frames} packets, ${cache.size} flows`);
      }
      finish(ctx, tail.length);
    } finally {
      if (pending !== null) await pending.catch(() => undefined);
      await fh.close();
    }
  }

  function runStream(ctx: SourceContext, input: Readable): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let pending: Buffer | null = null;
      let wallAtLastPacket = 0;
      let framesAtTick = 0;
      const tick = setInterval(() => {
        // advance the packet clock by the wall time since the last packet: right for live
        // capture, and for a replayed old file piped in (its timestamps are in the past)
        if (reader.frames !== framesAtTick) {
          framesAtTick = reader.frames;
          wallAtLastPacket = Date.now();
          return;
        }
        if (wallAtLastPacket === 0) return;
        cache.expire(sink.lastTime + (Date.now() - wallAtLastPacket));
        emitDrained(ctx);
      }, spec.tickMs ?? 1000);
      const onData = (chunk: Buffer) => {
        bytesRead += chunk.length;
        const buf: Buffer = pending === null ? chunk : Buffer.concat([pending, chunk]);
        const used = reader.feed(buf, 0, buf.length, sink);
        // keep a copy of the tail so the stream's (possibly large) chunk can be freed
        pending = used < buf.length ? Buffer.from(buf.subarray(used)) : null;
        if (reader.frames !== framesAtTick) wallAtLastPacket = Date.now();
        emitDrained(ctx);
        if (reader.error !== null) {
          done();
          return;
        }
        // stop reading while the export queue drains (the writer blocks on the pipe instead
        // of the pipeline dropping records)
        const drained = waitForDrain(ctx);
        if (drained !== null) {
          input.pause();
          void drained.then(() => {
            if (!ended) input.resume();
          });
        }
      };
      const cleanup = () => {
        clearInterval(tick);
        input.off('data', onData);
        input.off('end', done);
        input.off('close', done);
        input.off('error', onError);
        ctx.signal.removeEventListener('abort', done);
      };
      let ended = false;
      function done() {
        ended = true;
        cleanup();
        input.pause();
        try {
          finish(ctx, pending?.length ?? 0);
          resolve();
        } catch (err) {
          reject(err);
        }
      }
      function onError(err: Error) {
        cleanup();
        try {
          finish(ctx, pending?.length ?? 0);
        } catch {
          // the stream error is the one to report
        }
        reject(err);
      }
      if (ctx.signal.aborted) {
        done();
        return;
      }
      input.on('data', onData);
      input.once('end', done);
      // a stream destroyed without 'end' (the writer died) still ends the capture
      input.once('close', done);
      input.once('error', onError);
      ctx.signal.addEventListener('abort', done, { once: true });
    });
  }

  return {
    name: `pcap:${spec.path}`,
    cache,
    get stats(): PcapSourceStats {
      const s = sink.statusCounts;
      return {
        frames: reader.frames,
        bytesRead,
        parse: {
          ok: s[0],
          'unsupported-link': s[1],
          'not-ip': s[2],
          truncated: s[3],
          'bad-ip': s[4],
        },
        unsampled: sink.unsampled,
        truncatedTailBytes,
      };
    },
    run(ctx: SourceContext): Promise<void> {
      if (spec.path === '-') return runStream(ctx, spec.input ?? process.stdin);
      return runFile(ctx);
    },
  };
}
