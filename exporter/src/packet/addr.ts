/**
 * Address words → canonical text, done once per exported flow rather than per packet.
 * IPv6 uses the shared RFC 5952 formatter so exporter and collector print the same text.
 */
import { ipv6ToString } from '../../../protocol/src/capture/udp.ts';

export function ipv4WordToString(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
}

const scratch = Buffer.alloc(16);

/** Text of an address held as words (version 4: w0 only; 6: w0..w3); '' for version 0. */
export function wordsToAddress(version: number, w0: number, w1: number, w2: number, w3: number): string {
  if (version === 4) return ipv4WordToString(w0);
  if (version !== 6) return '';
  scratch.writeUInt32BE(w0 >>> 0, 0);
  scratch.writeUInt32BE(w1 >>> 0, 4);
  scratch.writeUInt32BE(w2 >>> 0, 8);
  scratch.writeUInt32BE(w3 >>> 0, 12);
  return ipv6ToString(scratch, 0);
}

/** 48-bit MAC at `off` as a number (the FlowRecord's 'mac' kind). */
export function macAt(b: Uint8Array, off: number): number {
  return (
    ((b[off] << 8) | b[off + 1]) * 0x100000000 +
    (((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0)
  );
}
