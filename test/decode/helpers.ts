/**
 * Test helpers: decode shared captures (read in place from ../shared/captures, never
 * copied into the repository) into plain record copies.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../../protocol/src/capture/pcap.ts';
import { extractUdp } from '../../protocol/src/capture/udp.ts';
import { DECODE_ERROR_KINDS } from '../../protocol/src/decode/api.ts';
import { createDecoder, type FlowDecoder } from '../../protocol/src/decode/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';

export const CAPTURES = resolve(fileURLToPath(new URL('../../', import.meta.url)), '../shared/captures');

export function capture(rel: string): string {
  return join(CAPTURES, rel);
}

export function listCaptures(dir = CAPTURES): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...listCaptures(p));
    else if (/\.(pcap|pcapng|dat|bin)$/.test(f)) out.push(p);
  }
  return out;
}

export function copyRecord(rec: FlowRecord): FlowRecord {
  const copy = { ...rec } as FlowRecord;
  copy.extra = rec.extra ? { ...rec.extra } : undefined;
  return copy;
}

/** The UDP payloads of a pcap, or the one datagram of a raw file. */
export function datagrams(path: string): { payload: Buffer; exporter: string; timeMs: number }[] {
  const buf = readFileSync(path);
  if (!/\.(pcap|pcapng)$/.test(path))
    return [{ payload: buf, exporter: '192.0.2.1', timeMs: 1_700_000_000_000 }];
  const out: { payload: Buffer; exporter: string; timeMs: number }[] = [];
  for (const frame of readCapture(buf)) {
    const u = extractUdp(frame.linkType, frame.data);
    const v = u.ok && u.value.payload.length >= 2 ? u.value.payload.readUInt16BE(0) : 0;
    if (u.ok && (v === 5 || v === 9 || v === 10))
      out.push({ payload: u.value.payload, exporter: u.value.srcAddr, timeMs: Math.round(frame.timeMs) });
  }
  return out;
}

/** Decodes files in order through one decoder (templates carry over), returning copies. */
export function decodeFiles(
  paths: string[],
  decoder: FlowDecoder = createDecoder(),
): { records: FlowRecord[]; decoder: FlowDecoder } {
  const records: FlowRecord[] = [];
  for (const p of paths)
    for (const d of datagrams(p))
      decoder.decode(d.payload, d.exporter, d.timeMs, (r) => records.push(copyRecord(r)));
  return { records, decoder };
}

export const ERROR_KINDS = DECODE_ERROR_KINDS;

export function errorCounts(decoder: FlowDecoder): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ERROR_KINDS) if (decoder.stats[k] > 0) out[k] = decoder.stats[k];
  return out;
}
