/**
 * Streaming reader for classic pcap (both byte orders, µs and ns) and pcapng (SHB, IDB,
 * EPB, SPB; several sections and interfaces). Unlike protocol/src/capture/pcap.ts it does
 * not need the whole file: the caller feeds whatever bytes it has, the reader hands every
 * complete frame to a sink (positional arguments, no object per frame) and returns how far
 * it got; the caller keeps the unconsumed tail and feeds it again with more bytes. So a
 * multi-GB capture or an endless `tcpdump -w -` stream runs in constant memory.
 *
 * A damaged container sets `error` and stops consuming; it never throws.
 */

export interface FrameSink {
  /** one frame: bytes buf[off, off + capLen), valid only during the call */
  frame(linkType: number, buf: Buffer, off: number, capLen: number, origLen: number, timeMs: number): void;
}

export interface CaptureStreamReader {
  /** Reads complete records from buf[start, end); returns the offset of the first unread byte. */
  feed(buf: Buffer, start: number, end: number, sink: FrameSink): number;
  /** the container format, once its first bytes were seen */
  readonly format: 'pcap' | 'pcapng' | null;
  /** set when the container is damaged; nothing more is read after it */
  readonly error: string | null;
  readonly frames: number;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
/** larger records are garbage, not frames: refuse them rather than buffer without bound */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

interface NgInterface {
  linkType: number;
  /** ms per timestamp unit */
  msPerUnit: number;
}

class StreamReader implements CaptureStreamReader {
  format: 'pcap' | 'pcapng' | null = null;
  error: string | null = null;
  frames = 0;
  private headerDone = false;
  private little = true;
  private nanos = false;
  private linkType = 0;
  private interfaces: NgInterface[] = [];

  feed(buf: Buffer, start: number, end: number, sink: FrameSink): number {
    if (this.error !== null) return start;
    const off = start;
    if (this.format === null) {
      if (end - start < 4) return start;
      const be = buf.readUInt32BE(start);
      const le = buf.readUInt32LE(start);
      if (be === PCAPNG_SHB) this.format = 'pcapng';
      else if (be === PCAP_MAGIC_US || le === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_NS)
        this.format = 'pcap';
      else {
        this.error = 'not a pcap or pcapng capture (unknown magic number)';
        return start;
      }
    }
    return this.format === 'pcap' ? this.feedPcap(buf, off, end, sink) : this.feedPcapng(buf, off, end, sink);
  }

  private feedPcap(buf: Buffer, off: number, end: number, sink: FrameSink): number {
    if (!this.headerDone) {
      if (end - off < 24) return off;
      const magicBE = buf.readUInt32BE(off);
      this.little = magicBE !== PCAP_MAGIC_US && magicBE !== PCAP_MAGIC_NS;
      const magic = this.little ? buf.readUInt32LE(off) : magicBE;
      this.nanos = magic === PCAP_MAGIC_NS;
      // the upper 4 bits may carry FCS information (pcap-linktype)
      this.linkType = (this.little ? buf.readUInt32LE(off + 20) : buf.readUInt32BE(off + 20)) & 0x0fffffff;
      this.headerDone = true;
      off += 24;
    }
    const linkType = this.linkType;
    const fracToMs = this.nanos ? 1e-6 : 1e-3;
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
        this.error = `pcap: a record claims ${incl} bytes (damaged file?)`;
        break;
      }
      if (off + 16 + incl > end) break;
      sink.frame(linkType, buf, off + 16, incl, orig, sec * 1000 + frac * fracToMs);
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

  private feedPcapng(buf: Buffer, off: number, end: number, sink: FrameSink): number {
    while (off + 12 <= end) {
      if (buf.readUInt32BE(off) === PCAPNG_SHB) {
        // a new section: its byte-order magic decides how to read everything up to the next
        const bom = buf.readUInt32LE(off + 8);
        if (bom === PCAPNG_BOM) this.little = true;
        else if (buf.readUInt32BE(off + 8) === PCAPNG_BOM) this.little = false;
        else {
          this.error = `pcapng: bad byte-order magic in the section header`;
          return off;
        }
      }
      const type = this.u32(buf, off);
      const len = this.u32(buf, off + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
        this.error = `pcapng: block of type ${type} has a bad length ${len}`;
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
        if (!this.readPacketBlock(type, buf, body, bodyEnd, sink)) return off;
      }
      off += len;
    }
    return off;
  }

  private readInterface(buf: Buffer, body: number, bodyEnd: number): void {
    const linkType = this.u16(buf, body);
    let msPerUnit = 1e-3; // default resolution: µs
    let o = body + 8;
    while (o + 4 <= bodyEnd) {
      const code = this.u16(buf, o);
      const olen = this.u16(buf, o + 2);
      if (code === 0) break;
      if (code === 9 && olen >= 1) {
        const v = buf[o + 4];
        const perSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
        msPerUnit = 1000 / perSecond;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.interfaces.push({ linkType, msPerUnit });
  }

  private readPacketBlock(
    type: number,
    buf: Buffer,
    body: number,
    bodyEnd: number,
    sink: FrameSink,
  ): boolean {
    let ifIndex = 0;
    let units = 0;
    let capLen: number;
    let origLen: number;
    let dataOff: number;
    if (type === 6) {
      if (body + 20 > bodyEnd) {
        this.error = 'pcapng: enhanced packet block shorter than its header';
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
      this.error = `pcapng: packet names interface ${ifIndex}, which no block described`;
      return false;
    }
    if (dataOff + capLen > bodyEnd) {
      this.error = 'pcapng: packet data runs past its block';
      return false;
    }
    sink.frame(iface.linkType, buf, dataOff, capLen, origLen, units * iface.msPerUnit);
    this.frames++;
    return true;
  }
}

export function createCaptureStreamReader(): CaptureStreamReader {
  return new StreamReader();
}
