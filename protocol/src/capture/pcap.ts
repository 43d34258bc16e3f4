/**
 * Capture containers: classic libpcap (both byte orders, µs and ns) and pcapng (SHB, IDB,
 * EPB, SPB; several interfaces and sections). Pure: works on a Buffer, yields frames that
 * point into it (no copies). Malformed input ends the iteration with an error, never an
 * exception escaping from a half-read frame.
 */

export interface CapturedFrame {
  /** capture time, ms since the epoch (fractional) */
  readonly timeMs: number;
  /** link-layer type (1 Ethernet, 101 raw IP, 113 Linux SLL, 276 SLL2, 0 BSD loopback, …) */
  readonly linkType: number;
  /** the captured bytes (a view into the file buffer) */
  readonly data: Buffer;
  /** length on the wire (may exceed data.length when the capture was truncated) */
  readonly origLength: number;
}

export class CaptureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFormatError';
  }
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

export type CaptureFormat = 'pcap' | 'pcapng' | 'unknown';

export function detectCaptureFormat(buf: Buffer): CaptureFormat {
  if (buf.length < 4) return 'unknown';
  const be = buf.readUInt32BE(0);
  const le = buf.readUInt32LE(0);
  if (be === PCAPNG_SHB) return 'pcapng';
  if (be === PCAP_MAGIC_US || le === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_NS)
    return 'pcap';
  return 'unknown';
}

/** Frames of a pcap or pcapng file, in file order. Throws CaptureFormatError on a bad container. */
export function* readCapture(buf: Buffer): Generator<CapturedFrame> {
  const format = detectCaptureFormat(buf);
  if (format === 'pcap') yield* readPcap(buf);
  else if (format === 'pcapng') yield* readPcapng(buf);
  else throw new CaptureFormatError('not a pcap or pcapng file (unknown magic number)');
}

function* readPcap(buf: Buffer): Generator<CapturedFrame> {
  if (buf.length < 24) throw new CaptureFormatError('pcap: file shorter than its 24-byte header');
  const magicBE = buf.readUInt32BE(0);
  const little = magicBE !== PCAP_MAGIC_US && magicBE !== PCAP_MAGIC_NS;
  const magic = little ? buf.readUInt32LE(0) : magicBE;
  const nanos = magic === PCAP_MAGIC_NS;
  const u32 = little ? (o: number) => buf.readUInt32LE(o) : (o: number) => buf.readUInt32BE(o);
  const linkType = u32(20) & 0x0fffffff;
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const inclLen = u32(off + 8);
    const origLen = u32(off + 12);
    off += 16;
    if (inclLen > buf.length - off)
      throw new CaptureFormatError(`pcap: record at byte ${off - 16} runs past the end of the file`);
    yield {
      timeMs: sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3),
      linkType,
      data: buf.subarray(off, off + inclLen),
      origLength: origLen,
    };
    off += inclLen;
  }
}

interface NgInterface {
  linkType: number;
  /** units per second of the timestamps */
  tsPerSecond: number;
}

function* readPcapng(buf: Buffer): Generator<CapturedFrame> {
  let off = 0;
  let little = true;
  let interfaces: NgInterface[] = [];
  const u32 = (o: number) => (little ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number) => (little ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  while (off + 12 <= buf.length) {
    const typeBE = buf.readUInt32BE(off);
    if (typeBE === PCAPNG_SHB) {
      const bom = buf.readUInt32LE(off + 8);
      if (bom === PCAPNG_BOM) little = true;
      else if (buf.readUInt32BE(off + 8) === PCAPNG_BOM) little = false;
      else throw new CaptureFormatError(`pcapng: bad byte-order magic at byte ${off}`);
      interfaces = [];
    }
    const type = u32(off);
    const len = u32(off + 4);
    if (len < 12 || len % 4 !== 0 || len > buf.length - off) {
      throw new CaptureFormatError(`pcapng: block at byte ${off} has a bad length ${len}`);
    }
    const body = off + 8;
    const bodyEnd = off + len - 4;
    if (type === 1) {
      // Interface Description Block: linktype, reserved, snaplen, options (if_tsresol = 9)
      const linkType = u16(body);
      let tsPerSecond = 1e6;
      let o = body + 8;
      while (o + 4 <= bodyEnd) {
        const code = u16(o);
        const olen = u16(o + 2);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const v = buf[o + 4];
          tsPerSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
        }
        o += 4 + ((olen + 3) & ~3);
      }
      interfaces.push({ linkType, tsPerSecond });
    } else if (type === 6 || type === 3) {
      let ifIndex = 0;
      let tsHigh = 0;
      let tsLow = 0;
      let capLen: number;
      let origLen: number;
      let dataOff: number;
      if (type === 6) {
        ifIndex = u32(body);
        tsHigh = u32(body + 4);
        tsLow = u32(body + 8);
        capLen = u32(body + 12);
        origLen = u32(body + 16);
        dataOff = body + 20;
      } else {
        origLen = u32(body);
        capLen = Math.min(origLen, bodyEnd - body - 4);
        dataOff = body + 4;
      }
      const iface = interfaces[ifIndex];
      if (!iface)
        throw new CaptureFormatError(
          `pcapng: packet at byte ${off} names interface ${ifIndex}, not described`,
        );
      if (dataOff + capLen > bodyEnd)
        throw new CaptureFormatError(`pcapng: packet at byte ${off} runs past its block`);
      const ts = tsHigh * 4294967296 + tsLow;
      yield {
        timeMs: (ts / iface.tsPerSecond) * 1000,
        linkType: iface.linkType,
        data: buf.subarray(dataOff, dataOff + capLen),
        origLength: origLen,
      };
    }
    off += len;
  }
}
