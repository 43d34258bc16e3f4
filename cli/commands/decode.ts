/**
 * `vxflow decode FILE…`: decodes NetFlow v5/v9/IPFIX from pcap/pcapng captures (UDP
 * payloads, exporter = source address of each datagram) or raw datagram files (.dat/.bin:
 * one datagram per file, recognised by its version field), keeping template state across
 * the packets and files like a collector, and prints one JSON object per flow record.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { CaptureFormatError, detectCaptureFormat, readCapture } from '../../protocol/src/capture/pcap.ts';
import { extractUdp } from '../../protocol/src/capture/udp.ts';
import { createDecoder, type FlowDecoder } from '../../protocol/src/decode/index.ts';
import { toJsonLine } from '../../protocol/src/schema/json.ts';
import { describeElement } from '../../protocol/src/ie/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { UserError } from '../../common/errors.ts';

interface DecodeOptions {
  templates?: boolean;
  stats?: boolean;
  exporter: string;
}

/** Files above this size report progress on stderr (only when stderr is a terminal). */
const PROGRESS_BYTES = 32 * 1024 * 1024;

/** Buffers output lines and writes them in large chunks (one write per line is slow). */
function createWriter(): { line(s: string): void; flush(): void } {
  let chunk: string[] = [];
  let size = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    process.stdout.write(chunk.join(''));
    chunk = [];
    size = 0;
  };
  return {
    line(s) {
      chunk.push(s, '\n');
      size += s.length + 1;
      if (size > 1 << 16) flush();
    },
    flush,
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

function decodeFile(
  file: string,
  decoder: FlowDecoder,
  exporter: string,
  emit: (rec: FlowRecord) => void,
): { packets: number; skipped: number } {
  const { buf, mtimeMs } = readInput(file);
  const format = detectCaptureFormat(buf);
  if (format === 'unknown') {
    if (!isFlowDatagram(buf))
      throw new UserError(`decode: ${file} is neither a pcap/pcapng capture nor a NetFlow/IPFIX datagram`);
    decoder.decode(buf, exporter, Math.round(mtimeMs), emit);
    return { packets: 1, skipped: 0 };
  }
  const progress = buf.length > PROGRESS_BYTES && process.stderr.isTTY;
  let packets = 0;
  let skipped = 0;
  let nextReport = 0;
  try {
    for (const frame of readCapture(buf)) {
      const udp = extractUdp(frame.linkType, frame.data);
      if (!udp.ok || !isFlowDatagram(udp.value.payload)) {
        skipped++;
        continue;
      }
      packets++;
      decoder.decode(udp.value.payload, udp.value.srcAddr, Math.round(frame.timeMs), emit);
      if (progress && frame.data.byteOffset >= nextReport) {
        const done = frame.data.byteOffset - buf.byteOffset;
        process.stderr.write(`\r${file}: ${Math.floor((100 * done) / buf.length)}% (${packets} datagrams)`);
        nextReport = frame.data.byteOffset + buf.length / 100;
      }
    }
  } catch (err) {
    if (err instanceof CaptureFormatError) throw new UserError(`decode: ${file}: ${err.message}`);
    throw err;
  }
  if (progress) process.stderr.write('\n');
  return { packets, skipped };
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
    .option('--exporter <addr>', 'exporter address for raw datagram files (captures carry their own)', '')
    .action((files: string[], opts: DecodeOptions) => {
      const decoder = createDecoder();
      const out = createWriter();
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(0); // e.g. `vxflow decode x.pcap | head`
        throw err;
      });
      const emit = opts.templates ? () => {} : (rec: FlowRecord) => out.line(toJsonLine(rec));
      let skipped = 0;
      // one unreadable file is reported and the rest still decoded (it used to stop there)
      const failed: string[] = [];
      try {
        for (const file of files) {
          try {
            skipped += decodeFile(file, decoder, opts.exporter, emit).skipped;
          } catch (err) {
            if (!(err instanceof UserError)) throw err;
            out.flush();
            process.stderr.write(`vxflow: ${err.message}\n`);
            failed.push(file);
          }
        }
      } finally {
        out.flush();
      }
      // data still waiting for a template will not get one now: count it as expired
      decoder.expire(Number.POSITIVE_INFINITY);
      if (opts.templates) {
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
          out.line(JSON.stringify({ template: { ...t, fields } }));
        }
        out.flush();
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
