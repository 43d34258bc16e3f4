/**
 * Capture containers, the one reader: classic libpcap (both byte orders, µs and ns) and
 * pcapng (SHB, IDB, EPB, SPB; several sections and interfaces). Pure: works on Buffers.
 *
 * The streaming reader (createCaptureStreamReader) does not need the whole file: the
 * caller feeds whatever bytes it has, the reader hands every complete frame to a sink
 * (positional arguments, no object per frame) and returns how far it got; the caller keeps
 * the unconsumed tail and feeds it again with more bytes. So a multi-GB capture or an
 * endless `tcpdump -w -` stream runs in constant memory (the exporter's pcap source).
 * readCapture() is the same reader over a whole file in memory (`vxflow decode`, tests):
 * frames that point into the file buffer (no copies).
 *
 * A damaged container sets `error` and stops consuming; the stream reader never throws.
 * readCapture throws CaptureFormatError after the frames before the damage.
 */

export interface FrameSink {
  /** one frame: bytes buf[off, off + capLen), valid only during the call */
  frame(linkType: number, buf: Buffer, off: number, capLen: number, origLen: number, timeMs: number): void;
}

export interface CaptureStreamReader {
  /** Reads complete records from buf[start, end); returns the offset of the first unread byte. */
  feed(buf: Buffer, start: number, end: number, sink: FrameSink): number;
  /**
   * The input ended: the unread bytes buf[start, end) that the last feed left are a cut-off
   * record, reported in `error` (a tail shorter than any record header is ignored).
   */
  finish(buf: Buffer, start: number, end: number): void;
  /** the container format, once its first bytes were seen */
  readonly format: 'pcap' | 'pcapng' | null;
  /** set when the container is damaged; nothing more is read after it */
  readonly error: string | null;
  readonly frames: number;
}

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
/** larger records are garbage, not frames: refuse them rather than buffer without bound */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export type CaptureFormat = 'pcap' | 'pcapng' | 'unknown';

function formatAt(buf: Buffer, at: number): CaptureFormat {
  const be = buf.readUInt32BE(at);
  const le = buf.readUInt32LE(at);
  if (be === PCAPNG_SHB) return 'pcapng';
  if (be === PCAP_MAGIC_US || le === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_NS)
    return 'pcap';
  return 'unknown';
}

export function detectCaptureFormat(buf: Buffer): CaptureFormat {
  return buf.length < 4 ? 'unknown' : formatAt(buf, 0);
}

interface NgInterface {
  linkType: number;
  /** timestamp units per second (if_tsresol) */
  perSecond: number;
}

class StreamReader implements CaptureStreamReader {
  format: 'pcap' | 'pcapng' | null = null;
  error: string | null = null;
  frames = 0;
  private headerDone = false;
  private little = true;
  /** divides the pcap record's fraction into ms: 1e3 (µs) or 1e6 (ns) */
  private fracPerMs = 1e3;
  private linkType = 0;
  private interfaces: NgInterface[] = [];
  /** bytes consumed before the current feed's start (for the byte offsets in errors) */
  private consumed = 0;

  feed(buf: Buffer, start: number, end: number, sink: FrameSink): number {
    if (this.error !== null) return start;
    if (this.format === null) {
      if (end - start < 4) return start;
      const format = formatAt(buf, start);
      if (format === 'unknown') {
        this.error = 'not a pcap or pcapng capture (unknown magic number)';
        return start;
      }
      this.format = format;
    }
    const used =
      this.format === 'pcap' ? this.feedPcap(buf, start, end, sink) : this.feedPcapng(buf, start, end, sink);
    this.consumed += used - start;
    return used;
  }

  finish(buf: Buffer, start: number, end: number): void {
    if (this.error !== null || this.format === null) return;
    const at = this.consumed;
    if (this.format === 'pcap') {
      if (!this.headerDone) this.error = 'pcap: file shorter than its 24-byte header';
      else if (end - start >= 16) this.error = `pcap: record at byte ${at} runs past the end of the file`;
    } else if (end - start >= 12) {
      this.error = `pcapng: block at byte ${at} has a bad length ${this.u32(buf, start + 4)}`;
    }
  }

  private feedPcap(buf: Buffer, off: number, end: number, sink: FrameSink): number {
    if (!this.headerDone) {
      if (end - off < 24) return off;
      const magicBE = buf.readUInt32BE(off);
      this.little = magicBE !== PCAP_MAGIC_US && magicBE !== PCAP_MAGIC_NS;
      const magic = this.little ? buf.readUInt32LE(off) : magicBE;
      this.fracPerMs = magic === PCAP_MAGIC_NS ? 1e6 : 1e3;
      // the upper 4 bits may carry FCS information (pcap-linktype)
      this.linkType = (this.little ? buf.readUInt32LE(off + 20) : buf.readUInt32BE(off + 20)) & 0x0fffffff;
      this.headerDone = true;
      off += 24;
    }
    const linkType = this.linkType;
    const fracPerMs = this.fracPerMs;
    const little = this.little;
    let frames = 0;
    while (off + 16 <= end) {
      let sec: number;
      let frac: number;
      let incl: number;
      let orig: number;
      if (little) {
        sec = buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24);
        frac = buf[off + 4] | (buf[off + 5] << 8) | (buf[off + 6] << 16) | (buf[off + 7] << 24);
        incl = buf[off + 8] | (buf[off + 9] << 8) | (buf[off + 10] << 16) | (buf[off + 11] << 24);
        orig = buf[off + 12] | (buf[off + 13] << 8) | (buf[off + 14] << 16) | (buf[off + 15] << 24);
      } else {
        sec = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
        frac = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
        incl = (buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11];
        orig = (buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15];
      }
      sec >>>= 0;
      frac >>>= 0;
      incl >>>= 0;
      orig >>>= 0;
      if (incl > MAX_RECORD_BYTES) {
        this.error = `pcap: record at byte ${this.consumed + off} claims ${incl} bytes (damaged file?)`;
        break;
      }
      if (off + 16 + incl > end) break;
      // a division by the exact power of ten: an exact fraction stays exact
      sink.frame(linkType, buf, off + 16, incl, orig, sec * 1000 + frac / fracPerMs);
      frames++;
      off += 16 + incl;
    }
    this.frames += frames;
    return off;
  }

  private u32(buf: Buffer, o: number): number {
    return this.little ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
  }

  private u16(buf: Buffer, o: number): number {
    return this.little ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
  }

  private feedPcapng(buf: Buffer, start: number, end: number, sink: FrameSink): number {
    let off = start;
    while (off + 12 <= end) {
      const at = this.consumed + (off - start);
      if (buf.readUInt32BE(off) === PCAPNG_SHB) {
        // a new section: its byte-order magic decides how to read everything up to the next
        const bom = buf.readUInt32LE(off + 8);
        if (bom === PCAPNG_BOM) this.little = true;
        else if (buf.readUInt32BE(off + 8) === PCAPNG_BOM) this.little = false;
        else {
          this.error = `pcapng: bad byte-order magic at byte ${at}`;
          return off;
        }
      }
      const type = this.u32(buf, off);
      const len = this.u32(buf, off + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
        this.error = `pcapng: block at byte ${at} has a bad length ${len}`;
        return off;
      }
      if (off + len > end) break;
      const body = off + 8;
      const bodyEnd = off + len - 4;
      if (type === PCAPNG_SHB) {
        this.interfaces = [];
      } else if (type === 1) {
        this.readInterface(buf, body, bodyEnd);
      } else if (type === 6 || type === 3) {
        if (!this.readPacketBlock(type, buf, body, bodyEnd, at, sink)) return off;
      }
      off += len;
    }
    return off;
  }

  private readInterface(buf: Buffer, body: number, bodyEnd: number): void {
    const linkType = this.u16(buf, body);
    let perSecond = 1e6; // default resolution: µs
    let o = body + 8;
    while (o + 4 <= bodyEnd) {
      const code = this.u16(buf, o);
      const olen = this.u16(buf, o + 2);
      if (code === 0) break;
      if (code === 9 && olen >= 1) {
        const v = buf[o + 4];
        perSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.interfaces.push({ linkType, perSecond });
  }

  private readPacketBlock(
    type: number,
    buf: Buffer,
    body: number,
    bodyEnd: number,
    at: number,
    sink: FrameSink,
  ): boolean {
    let ifIndex = 0;
    let units = 0;
    let capLen: number;
    let origLen: number;
    let dataOff: number;
    if (type === 6) {
      if (body + 20 > bodyEnd) {
        this.error = `pcapng: packet at byte ${at} runs past its block`;
        return false;
      }
      ifIndex = this.u32(buf, body);
      units = this.u32(buf, body + 4) * 4294967296 + this.u32(buf, body + 8);
      capLen = this.u32(buf, body + 12);
      origLen = this.u32(buf, body + 16);
      dataOff = body + 20;
    } else {
      origLen = this.u32(buf, body);
      capLen = Math.min(origLen, bodyEnd - body - 4);
      dataOff = body + 4;
    }
    const iface = this.interfaces[ifIndex];
    if (iface === undefined) {
      this.error = `pcapng: packet at byte ${at} names interface ${ifIndex}, not described`;
      return false;
    }
    if (dataOff + capLen > bodyEnd) {
      this.error = `pcapng: packet at byte ${at} runs past its block`;
      return false;
    }
    sink.frame(iface.linkType, buf, dataOff, capLen, origLen, (units / iface.perSecond) * 1000);
    this.frames++;
    return true;
  }
}

export function createCaptureStreamReader(): CaptureStreamReader {
  return new StreamReader();
}

/** Frames of a pcap or pcapng file in memory, in file order. Throws CaptureFormatError on a bad container. */
export function* readCapture(buf: Buffer): Generator<CapturedFrame> {
  if (detectCaptureFormat(buf) === 'unknown')
    throw new CaptureFormatError('not a pcap or pcapng file (unknown magic number)');
  const reader = createCaptureStreamReader();
  const frames: CapturedFrame[] = [];
  const sink: FrameSink = {
    frame(linkType, b, off, capLen, origLength, timeMs) {
      frames.push({ timeMs, linkType, data: b.subarray(off, off + capLen), origLength });
    },
  };
  // a window at a time, so a big file is never held as one array of frames
  let off = 0;
  let window = 1 << 20;
  for (;;) {
    const end = Math.min(buf.length, off + window);
    const used = reader.feed(buf, off, end, sink);
    yield* frames;
    frames.length = 0;
    if (reader.error !== null) break;
    if (end === buf.length) {
      reader.finish(buf, used, end);
      break;
    }
    if (used === off) window *= 2; // a record larger than the window
    off = used;
  }
  if (reader.error !== null) throw new CaptureFormatError(reader.error);
}
