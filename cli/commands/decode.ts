/**
 * `vxflow decode FILE…`: decodes NetFlow v5/v9/IPFIX from pcap/pcapng captures (UDP
 * payloads, exporter = source address of each datagram) or raw datagram files (.dat/.bin:
 * one datagram per file, recognised by its version field), keeping template state across
 * the packets and files like a collector, and prints one JSON object per flow record.
 *
 * The printing path sets the speed, not the decoder: each record goes straight from the
 * decoder's reused object into a byte buffer (the collector's JSON-lines writer, the bytes
 * of schema/json.ts toJsonLine), and the buffer goes to stdout whole every 64 KiB, waiting
 * when stdout asks to (a slow pipe). Captures are read a megabyte at a time: memory stays
 * flat whatever the capture's size.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import {
  createCaptureStreamReader,
  detectCaptureFormat,
  type FrameSink,
} from '../../protocol/src/capture/pcap.ts';
import { extractUdp } from '../../protocol/src/capture/udp.ts';
import { createDecoder, type FlowDecoder } from '../../protocol/src/decode/index.ts';
import { describeElement } from '../../protocol/src/ie/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { writeJsonLine } from '../../collector/src/output/json-line.ts';
import { newOutputBuffer, type OutputBuffer } from '../../common/output-buffer.ts';
import { UserError } from '../../common/errors.ts';

interface DecodeOptions {
  templates?: boolean;
  stats?: boolean;
  progress?: boolean;
  exporter: string;
}

/** Without --progress, files above this size report progress on stderr when it is a terminal. */
const PROGRESS_BYTES = 32 * 1024 * 1024;
/**
 * Output handed to stdout at a time: what a Linux pipe holds, so a write into a pipe the
 * reader keeps empty goes in whole (larger chunks measured a few per cent slower into a pipe).
 */
const CHUNK_BYTES = 64 * 1024;
/** Room the buffer starts with: a chunk and the longest ordinary row after it. */
const BUFFER_BYTES = CHUNK_BYTES + 64 * 1024;

/** The JSON lines on their way to stdout: rows go into `out`, whole chunks to the stream. */
interface StdoutLines {
  readonly out: OutputBuffer;
  /** Hands what `out` holds to stdout; resolves when stdout can take more (at once, mostly). */
  flush(): Promise<void> | undefined;
}

function stdoutLines(): StdoutLines {
  const out = newOutputBuffer(BUFFER_BYTES);
  return {
    out,
    flush() {
      if (out.off === 0) return undefined;
      const ok = process.stdout.write(out.buf.subarray(0, out.off));
      out.off = 0;
      out.rows = 0;
      // A file takes the bytes at once; a pipe takes what fits and the stream keeps the
      // chunk until 'drain', which the caller waits for before writing more: either way the
      // buffer is free for the next chunk then. Fresh buffers cost page faults (a pipe
      // consumer reading slower made one per chunk when the buffer was not reused).
      if (!ok) return new Promise((resolve) => process.stdout.once('drain', resolve));
      // under the stream's high-water mark but not all written (rare with chunks this large)
      if (process.stdout.writableLength > 0) out.buf = Buffer.allocUnsafeSlow(out.buf.length);
      return undefined;
    },
  };
}

/** Progress of one file on stderr: one updating line on a terminal, a line now and then elsewhere. */
function progressReporter(
  file: string,
  total: number,
): (done: number, datagrams: number, records: number) => void {
  const tty = process.stderr.isTTY === true;
  const everyMs = tty ? 200 : 2000;
  let lastMs = 0;
  let ended = false;
  return (done, datagrams, records) => {
    const now = Date.now();
    if (ended || (now - lastMs < everyMs && done < total)) return;
    lastMs = now;
    ended = done >= total;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const text = `${file}: ${pct}% (${datagrams} datagrams, ${records} records)`;
    process.stderr.write(tty ? `\r${text}${done >= total ? '\n' : ''}` : `${text}\n`);
  };
}

function readInput(file: string): { buf: Buffer; mtimeMs: number } {
  try {
    return { buf: readFileSync(file), mtimeMs: statSync(file).mtimeMs };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`decode: cannot read ${file}${code ? ` (${code})` : ''}`);
  }
}

function isFlowDatagram(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const v = buf.readUInt16BE(0);
  return v === 5 || v === 9 || v === 10;
}

/** Capture bytes read at a time (the buffer grows only for a record larger than this). */
const READ_BYTES = 1 << 20;
/** Capture bytes decoded between two looks at the output: a few hundred KiB of JSON at most. */
const FEED_BYTES = 16 * 1024;

function openInput(file: string): { fd: number; size: number } {
  try {
    const fd = openSync(file, 'r');
    return { fd, size: fstatSync(fd).size };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`decode: cannot read ${file}${code ? ` (${code})` : ''}`);
  }
}

/**
 * Decodes one file. A capture is read a megabyte at a time through the streaming capture
 * reader, so its size does not matter (a whole-file read stopped at 2 GiB, and cost a page
 * fault per 4 KiB read); a raw datagram file is read whole.
 */
async function decodeFile(
  file: string,
  decoder: FlowDecoder,
  opts: DecodeOptions,
  emit: (rec: FlowRecord) => void,
  lines: StdoutLines,
): Promise<{ packets: number; skipped: number }> {
  const { fd, size } = openInput(file);
  try {
    let buf = Buffer.allocUnsafeSlow(READ_BYTES);
    let end = readSync(fd, buf, 0, buf.length, null);
    if (detectCaptureFormat(buf.subarray(0, end)) === 'unknown') {
      const { buf: whole, mtimeMs } = readInput(file);
      if (!isFlowDatagram(whole))
        throw new UserError(`decode: ${file} is neither a pcap/pcapng capture nor a NetFlow/IPFIX datagram`);
      decoder.decode(whole, opts.exporter, Math.round(mtimeMs), emit);
      return { packets: 1, skipped: 0 };
    }
    const progress =
      opts.progress || (size > PROGRESS_BYTES && process.stderr.isTTY)
        ? progressReporter(file, size)
        : undefined;
    let packets = 0;
    let skipped = 0;
    let records = 0;
    const sink: FrameSink = {
      frame(linkType, b, off, capLen, _origLen, timeMs) {
        const udp = extractUdp(linkType, b.subarray(off, off + capLen));
        if (!udp.ok || !isFlowDatagram(udp.value.payload)) {
          skipped++;
          return;
        }
        packets++;
        // the decoder copies what it keeps (data held for a template): `b` is reused
        records += decoder.decode(udp.value.payload, udp.value.srcAddr, Math.round(timeMs), emit).records;
      },
    };
    const reader = createCaptureStreamReader();
    let start = 0;
    let read = end;
    let eof = end === 0;
    let window = FEED_BYTES;
    for (;;) {
      // keep a window's worth of bytes ahead while the file has them
      if (!eof && end - start < window) {
        if (start > 0) {
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
        }
        if (buf.length < 2 * window) {
          const bigger = Buffer.allocUnsafeSlow(2 * window);
          buf.copy(bigger, 0, 0, end);
          buf = bigger;
        }
        const n = readSync(fd, buf, end, buf.length - end, null);
        if (n === 0) eof = true;
        end += n;
        read += n;
        continue;
      }
      const stop = Math.min(end, start + window);
      const used = reader.feed(buf, start, stop, sink);
      if (reader.error !== null) break;
      if (used === start) {
        if (eof && stop === end) {
          reader.finish(buf, start, end); // a cut-off last record is an error
          break;
        }
        window *= 2; // a record larger than the window
        continue;
      }
      start = used;
      window = FEED_BYTES;
      if (lines.out.off >= CHUNK_BYTES) {
        const wait = lines.flush();
        if (wait) await wait;
      }
      progress?.(read - (end - start), packets, records);
    }
    if (reader.error !== null) throw new UserError(`decode: ${file}: ${reader.error}`);
    progress?.(size, packets, records);
    return { packets, skipped };
  } finally {
    closeSync(fd);
  }
}

function printTemplates(decoder: FlowDecoder, out: OutputBuffer): void {
  for (const t of decoder.templates()) {
    const fields = t.fields.map(([pen, id, length], i) => ({
      ...(pen ? { pen } : {}),
      id,
      name:
        t.options && t.version === 9 && i < t.scopeFieldCount
          ? `scope${id}`
          : describeElement(pen, id, t.version),
      length: length === 65535 ? 'variable' : length,
      ...(i < t.scopeFieldCount ? { scope: true } : {}),
    }));
    const line = `${JSON.stringify({ template: { ...t, fields } })}\n`;
    const need = Buffer.byteLength(line);
    if (out.off + need > out.buf.length) {
      const next = Buffer.allocUnsafeSlow(2 * (out.off + need));
      out.buf.copy(next, 0, 0, out.off);
      out.buf = next;
    }
    out.off += out.buf.write(line, out.off, 'utf8');
  }
}

export function register(program: Command): void {
  program
    .command('decode')
    .description(
      'decode NetFlow v5/v9/IPFIX from pcap/pcapng captures or raw datagram files (.dat/.bin) and print one ' +
        'JSON object per flow record (canonical column names, extra elements under their IE name or ' +
        'pen<PEN>.<id>); template state carries across the packets and files given',
    )
    .argument('<file...>', 'pcap, pcapng, or raw datagram files (one datagram per file)')
    .option('--templates', 'print the templates seen (one JSON object each) instead of the flow records')
    .option(
      '--stats',
      'print one final JSON object {"stats":{…}} with packet, record and error counts by kind on stderr',
    )
    .option(
      '--progress',
      'report progress on stderr for every capture (default: only for captures above 32 MiB, and only when stderr is a terminal)',
    )
    .option('--exporter <addr>', 'exporter address for raw datagram files (captures carry their own)', '')
    .action(async (files: string[], opts: DecodeOptions) => {
      const decoder = createDecoder();
      const lines = stdoutLines();
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(0); // e.g. `vxflow decode x.pcap | head`
        throw err;
      });
      const out = lines.out;
      const emit = opts.templates ? () => {} : (rec: FlowRecord) => writeJsonLine(out, rec);
      let skipped = 0;
      // one unreadable file is reported and the rest still decoded (it used to stop there)
      const failed: string[] = [];
      try {
        for (const file of files) {
          try {
            skipped += (await decodeFile(file, decoder, opts, emit, lines)).skipped;
          } catch (err) {
            if (!(err instanceof UserError)) throw err;
            await lines.flush();
            process.stderr.write(`vxflow: ${err.message}\n`);
            failed.push(file);
          }
        }
      } finally {
        await lines.flush();
      }
      // data still waiting for a template will not get one now: count it as expired
      decoder.expire(Number.POSITIVE_INFINITY);
      if (opts.templates) {
        printTemplates(decoder, out);
        await lines.flush();
      }
      if (opts.stats) {
        const stats = { ...decoder.stats, nonFlowFrames: skipped, samplingRates: decoder.samplingRates() };
        process.stderr.write(`${JSON.stringify({ stats })}\n`);
      }
      if (failed.length > 0)
        throw new UserError(
          `decode: ${failed.length} of ${files.length} files could not be decoded: ${failed.join(', ')}`,
        );
    });
}
