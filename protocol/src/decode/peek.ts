/**
 * What a receiving thread can learn from a datagram without decoding a record: its
 * version, first sequence number and observation domain, and whether it carries template
 * or options-template sets (v9 FlowSet ids 0/1, IPFIX Set ids 2/3). A walk over set
 * headers only, so a collector can spread one exporter's datagrams over several decoders
 * and still send every template to all of them. Also the learn-only copy those other
 * decoders get: the same bytes with every data set's id turned into a reserved one.
 */

export interface DatagramPeek {
  version: 5 | 9 | 10;
  /** v9 Source ID / IPFIX Observation Domain of the (first) message; v5: engine type<<8 | id */
  observationDomain: number;
  /** header sequence number of the (first) message */
  sequence: number;
  /** a template or options-template set is in it */
  hasTemplates: boolean;
}

/**
 * A set id that v9 and IPFIX both reserve (v9: 2-255, IPFIX: 4-255) and that decoders skip,
 * so its bytes are walked over and never read as records.
 */
export const SKIPPED_SET_ID = 255;

const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u32 = (b: Uint8Array, at: number) =>
  ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/**
 * The header facts, calling `each(offset of set header, set id)` for every set when given.
 * Plain functions and no closure per call: this runs on the receiving thread per datagram.
 */
function walk(b: Uint8Array, each?: (at: number, id: number) => void): DatagramPeek | undefined {
  if (b.length < 4) return undefined;
  const version = u16(b, 0);
  if (version === 5) {
    if (b.length < 24) return undefined;
    return { version, observationDomain: u16(b, 20), sequence: u32(b, 16), hasTemplates: false };
  }
  if (version === 9) {
    if (b.length < 20) return undefined;
    const peek: DatagramPeek = {
      version,
      observationDomain: u32(b, 16),
      sequence: u32(b, 12),
      hasTemplates: false,
    };
    for (let p = 20; p + 4 <= b.length; ) {
      const id = u16(b, p);
      const len = u16(b, p + 2);
      if (len < 4) break;
      if (id <= 1) peek.hasTemplates = true;
      if (each) each(p, id);
      p += len;
    }
    return peek;
  }
  if (version === 10) {
    if (b.length < 16) return undefined;
    const peek: DatagramPeek = {
      version,
      observationDomain: u32(b, 12),
      sequence: u32(b, 8),
      hasTemplates: false,
    };
    // a datagram may hold several IPFIX messages back to back
    for (let off = 0; off + 16 <= b.length && u16(b, off) === 10; ) {
      const mlen = u16(b, off + 2);
      if (mlen < 16) break;
      const end = Math.min(off + mlen, b.length);
      for (let p = off + 16; p + 4 <= end; ) {
        const id = u16(b, p);
        const len = u16(b, p + 2);
        if (len < 4) break;
        if (id === 2 || id === 3) peek.hasTemplates = true;
        if (each) each(p, id);
        p += len;
      }
      off += mlen;
    }
    return peek;
  }
  return undefined;
}

/** The header facts of a v5, v9 or IPFIX datagram, or undefined when it is none of them. */
export function peekDatagram(b: Uint8Array): DatagramPeek | undefined {
  return walk(b);
}

/**
 * Turns every data set of `b` (in place: pass a copy) into a skipped set, so that decoding
 * it learns the templates (and releases data held for them) but yields none of its own
 * records. Template and options-template sets are left as they are.
 */
export function maskDataSets(b: Uint8Array): void {
  walk(b, (at, id) => {
    if (id >= 256) {
      b[at] = 0;
      b[at + 1] = SKIPPED_SET_ID;
    }
  });
}
