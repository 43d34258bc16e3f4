/**
 * Splits a byte stream into varint-length-prefixed messages (protobuf "delimited" framing).
 * Chunks may split a prefix or a message anywhere; complete messages come out in order.
 * Never throws: a prefix longer than 5 bytes or a length above `maxMessage` means the framing
 * is lost, reported once as an error (the caller closes the connection).
 */
export interface DelimitedReader {
  /** feeds a chunk; calls onMessage for every complete message */
  push(chunk: Buffer, onMessage: (msg: Buffer) => void): { ok: true } | { ok: false; reason: string };
  /** bytes held waiting for the rest of a message */
  readonly buffered: number;
}

export function createDelimitedReader(maxMessage = 65_536): DelimitedReader {
  let buf: Buffer = Buffer.alloc(0);
  let lost: string | null = null;
  return {
    push(chunk, onMessage) {
      if (lost) return { ok: false, reason: lost };
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let off = 0;
      while (off < buf.length) {
        // varint length
        let len = 0;
        let shift = 0;
        let i = off;
        let complete = false;
        while (i < buf.length && i - off < 5) {
          const b = buf[i++];
          len += (b & 0x7f) * 2 ** shift;
          shift += 7;
          if ((b & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete) {
          if (i - off >= 5) {
            lost = 'length prefix longer than 5 bytes';
            return { ok: false, reason: lost };
          }
          break; // prefix split across chunks
        }
        if (len > maxMessage) {
          lost = `message length ${len} above the ${maxMessage}-byte limit`;
          return { ok: false, reason: lost };
        }
        if (buf.length - i < len) break; // message not complete yet
        onMessage(buf.subarray(i, i + len));
        off = i + len;
      }
      buf = off === 0 ? buf : Buffer.from(buf.subarray(off));
      return { ok: true };
    },
    get buffered() {
      return buf.length;
    },
  };
}
