/**
 * Hand-built NetFlow v9 from one exporter for the spread tests: a template id that can be
 * redefined with another layout mid-stream, data datagrams whose records are numbered (so
 * each stored flow says which one it is), and the packet sequence numbers v9 counts loss by.
 */

/** [field type, length] per field */
export type Layout = [number, number][];

/** srcaddr, dstaddr, bytes (4 octets), packets (4 octets), first and last switched */
export const LAYOUT_A: Layout = [
  [8, 4],
  [12, 4],
  [1, 4],
  [2, 4],
  [22, 4],
  [21, 4],
];
/** a different order and sizes: bytes (8 octets) first, dst port, srcaddr, packets (8 octets) */
export const LAYOUT_B: Layout = [
  [1, 8],
  [11, 2],
  [22, 4],
  [8, 4],
  [21, 4],
  [2, 8],
];

export interface V9Stream {
  /** a datagram carrying only the template `id` with `layout` */
  template(id: number, layout: Layout): Buffer;
  /**
   * a datagram of `per` records of template `id` in `layout`; record k carries
   * bytes = first + k and src 10.1.x.y from the same number; the flow ended a second before the export
   */
  data(id: number, layout: Layout, first: number, per: number): Buffer;
  /** uses up one sequence number without producing a datagram (a datagram lost on the way) */
  lose(): void;
  readonly sequence: number;
}

export function v9Stream(sourceId: number): V9Stream {
  let seq = 0;
  const header = (b: Buffer) => {
    b.writeUInt16BE(9, 0);
    b.writeUInt16BE(1, 2);
    b.writeUInt32BE(60_000, 4);
    b.writeUInt32BE(Math.floor(Date.now() / 1000), 8);
    b.writeUInt32BE(seq++, 12);
    b.writeUInt32BE(sourceId, 16);
  };
  return {
    template(id, layout) {
      const b = Buffer.alloc(20 + 8 + layout.length * 4);
      header(b);
      b.writeUInt16BE(0, 20);
      b.writeUInt16BE(8 + layout.length * 4, 22);
      b.writeUInt16BE(id, 24);
      b.writeUInt16BE(layout.length, 26);
      layout.forEach(([f, l], i) => {
        b.writeUInt16BE(f, 28 + i * 4);
        b.writeUInt16BE(l, 30 + i * 4);
      });
      return b;
    },
    data(id, layout, first, per) {
      const recLen = layout.reduce((n, [, l]) => n + l, 0);
      const setLen = 4 + per * recLen;
      const padded = setLen + ((4 - (setLen % 4)) % 4);
      const b = Buffer.alloc(20 + padded);
      header(b);
      b.writeUInt16BE(id, 20);
      b.writeUInt16BE(padded, 22);
      let r = 24;
      for (let k = 0; k < per; k++) {
        const n = first + k;
        for (const [f, l] of layout) {
          if (f === 8) b.writeUInt32BE((0x0a010000 + (n & 0xffff)) >>> 0, r);
          else if (f === 12) b.writeUInt32BE(0xc0000201, r);
          else if (f === 11) b.writeUInt16BE(443, r);
          else if (f === 1) {
            if (l === 8) b.writeBigUInt64BE(BigInt(n), r);
            else b.writeUInt32BE(n, r);
          } else if (f === 22) b.writeUInt32BE(59_000, r);
          else if (f === 21) b.writeUInt32BE(59_500, r);
          else if (f === 2) {
            if (l === 8) b.writeBigUInt64BE(1n, r);
            else b.writeUInt32BE(1, r);
          }
          r += l;
        }
      }
      return b;
    },
    lose() {
      seq++;
    },
    get sequence() {
      return seq;
    },
  };
}
