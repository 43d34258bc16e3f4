/**
 * `vxflow decode FILE…`: decodes NetFlow v5/v9/IPFIX from pcap/pcapng captures (UDP
 * payloads, exporter = source address of each datagram) or raw datagram files (.dat/.bin:
 * one datagram per file, recognised by its version field), keeping template state across
 * the packets and files like a collector, and prints one JSON object per flow record.
 *
 * The printing path sets the speed, not the decoder: each record goes straight from the
 * decoder's reused object into a byte buffer (the collector's JSON-lines writer, the bytes
 * of schema/json.ts toJsonLine), and the buffer goes to stdout whole every 256 KiB, waiting
 * when stdout asks to (a slow pipe), so memory stays flat whatever the capture's size.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { CaptureFormatError, detectCaptureFormat, readCapture } from '../../protocol/src/capture/pcap.ts';
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
/** Output handed to stdout at a time: few writes, and still well inside the CPU caches. */
const CHUNK_BYTES = 256 * 1024;
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
      // Files, pipes and terminals take the bytes at once on Linux: the buffer is free again.
      // Otherwise the stream holds on to it: a new one (fresh memory costs page faults, so
      // not every time).
      if (process.stdout.writableLength > 0) out.buf = Buffer.allocUnsafeSlow(out.buf.length);
      if (ok) return undefined;
      return new Promise((resolve) => process.stdout.once('drain', resolve));
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
  return (done, datagrams, records) => {
    const now = Date.now();
    if (now - lastMs < everyMs && done < total) return;
    lastMs = now;
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

async function decodeFile(
  file: string,
  decoder: FlowDecoder,
  opts: DecodeOptions,
  emit: (rec: FlowRecord) => void,
  lines: StdoutLines,
): Promise<{ packets: number; skipped: number }> {
  const { buf, mtimeMs } = readInput(file);
  const format = detectCaptureFormat(buf);
  if (format === 'unknown') {
    if (!isFlowDatagram(buf))
      throw new UserError(`decode: ${file} is neither a pcap/pcapng capture nor a NetFlow/IPFIX datagram`);
    decoder.decode(buf, opts.exporter, Math.round(mtimeMs), emit);
    return { packets: 1, skipped: 0 };
  }
  const progress =
    opts.progress || (buf.length > PROGRESS_BYTES && process.stderr.isTTY)
      ? progressReporter(file, buf.length)
      : undefined;
  let packets = 0;
  let skipped = 0;
  let records = 0;
  try {
    for (const frame of readCapture(buf)) {
      const udp = extractUdp(frame.linkType, frame.data);
      if (!udp.ok || !isFlowDatagram(udp.value.payload)) {
        skipped++;
        continue;
      }
      packets++;
      records += decoder.decode(udp.value.payload, udp.value.srcAddr, Math.round(frame.timeMs), emit).records;
      if (lines.out.off >= CHUNK_BYTES) {
        const wait = lines.flush();
        if (wait) await wait;
      }
      if (progress && (packets & 255) === 0)
        progress(frame.data.byteOffset - buf.byteOffset, packets, records);
    }
  } catch (err) {
    if (err instanceof CaptureFormatError) throw new UserError(`decode: ${file}: ${err.message}`);
    throw err;
  }
  progress?.(buf.length, packets, records);
  return { packets, skipped };
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
