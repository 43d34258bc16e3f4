/**
 * Byte builders for packets and pcap files: test fixtures and the benchmark's capture
 * generator. Not on any production path; simple over fast. IPv4 header checksums are
 * filled so tshark and the kernel accept the frames; UDP checksums are 0 (allowed on IPv4).
 */

export function mac(text: string): Buffer {
  return Buffer.from(text.split(':').map((x) => Number.parseInt(x, 16)));
}

export function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** Expands an IPv6 text address ('::' allowed, no embedded IPv4) to 16 bytes. */
export function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((w) => Number.parseInt(w, 16));
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(words[i], i * 2);
  return b;
}

export interface EthernetSpec {
  dst?: string;
  src?: string;
  etherType: number;
  /** 802.1Q tags, outermost first: [tpid, vlan id] */
  tags?: [number, number][];
}

export function ethernet(spec: EthernetSpec, payload: Buffer): Buffer {
  const tags = spec.tags ?? [];
  const h = Buffer.alloc(14 + tags.length * 4);
  mac(spec.dst ?? '02:00:00:00:00:02').copy(h, 0);
  mac(spec.src ?? '02:00:00:00:00:01').copy(h, 6);
  let o = 12;
  for (const [tpid, vid] of tags) {
    h.writeUInt16BE(tpid, o);
    h.writeUInt16BE(vid & 0x0fff, o + 2);
    o += 4;
  }
  h.writeUInt16BE(spec.etherType, o);
  return Buffer.concat([h, payload]);
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  proto: number;
  tos?: number;
  ttl?: number;
  id?: number;
  /** fragment offset in 8-byte units */
  fragOffset?: number;
  moreFragments?: boolean;
  /** IP options, padded to a multiple of 4 */
  options?: Buffer;
  /** total length to write instead of the real one (0 = super-frame) */
  totalLength?: number;
}

export function ipv4(spec: Ipv4Spec, payload: Buffer): Buffer {
  const opts = spec.options ?? Buffer.alloc(0);
  const ihl = 20 + Math.ceil(opts.length / 4) * 4;
  const h = Buffer.alloc(ihl);
  h[0] = 0x40 | (ihl / 4);
  h[1] = spec.tos ?? 0;
  h.writeUInt16BE(spec.totalLength ?? ihl + payload.length, 2);
  h.writeUInt16BE(spec.id ?? 0, 4);
  h.writeUInt16BE(((spec.moreFragments ? 1 : 0) << 13) | (spec.fragOffset ?? 0), 6);
  h[8] = spec.ttl ?? 64;
  h[9] = spec.proto;
  ipv4Bytes(spec.src).copy(h, 12);
  ipv4Bytes(spec.dst).copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, payload]);
}

export interface Ipv6Spec {
  src: string;
  dst: string;
  /** next header of the first header after the fixed one */
  next: number;
  trafficClass?: number;
  hopLimit?: number;
}

export function ipv6(spec: Ipv6Spec, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  const tc = spec.trafficClass ?? 0;
  h.writeUInt32BE(((6 << 28) | (tc << 20)) >>> 0, 0);
  h.writeUInt16BE(payload.length, 4);
  h[6] = spec.next;
  h[7] = spec.hopLimit ?? 64;
  ipv6Bytes(spec.src).copy(h, 8);
  ipv6Bytes(spec.dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

/** An IPv6 extension header with the given next header and 8-byte-multiple body length. */
export function ipv6Extension(next: number, bodyLength: number, payload: Buffer): Buffer {
  const len = 8 + bodyLength;
  const h = Buffer.alloc(len);
  h[0] = next;
  h[1] = len / 8 - 1;
  return Buffer.concat([h, payload]);
}

export function ipv6Fragment(
  next: number,
  offset8: number,
  more: boolean,
  id: number,
  payload: Buffer,
): Buffer {
  const h = Buffer.alloc(8);
  h[0] = next;
  h.writeUInt16BE((offset8 << 3) | (more ? 1 : 0), 2);
  h.writeUInt32BE(id >>> 0, 4);
  return Buffer.concat([h, payload]);
}

export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export function tcp(sport: number, dport: number, flags: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

export function udp(sport: number, dport: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function icmp(type: number, code: number, payload: Buffer = Buffer.alloc(8)): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h[1] = code;
  const b = Buffer.concat([h, payload]);
  b.writeUInt16BE(checksum(b), 2);
  return b;
}

/** VXLAN header (I flag, VNI) followed by the inner Ethernet frame. */
export function vxlan(vni: number, innerFrame: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 0x08;
  h.writeUIntBE(vni, 4, 3);
  return Buffer.concat([h, innerFrame]);
}

/** Geneve header with `optionBytes` (multiple of 4) of options, then the payload. */
export function geneve(vni: number, protocolType: number, payload: Buffer, optionBytes = 0): Buffer {
  const h = Buffer.alloc(8 + optionBytes);
  h[0] = optionBytes / 4;
  h.writeUInt16BE(protocolType, 2);
  h.writeUIntBE(vni, 4, 3);
  // one option TLV filling the space: class 0x0102, type 0x80, length in words
  if (optionBytes >= 4) {
    h.writeUInt16BE(0x0102, 8);
    h[10] = 0x80;
    h[11] = optionBytes / 4 - 1;
  }
  return Buffer.concat([h, payload]);
}

export interface GreSpec {
  protocolType: number;
  key?: number;
  checksum?: boolean;
  sequence?: number;
}

export function gre(spec: GreSpec, payload: Buffer): Buffer {
  const words: Buffer[] = [];
  let flags = 0;
  if (spec.checksum) {
    flags |= 0x8000;
    words.push(Buffer.alloc(4));
  }
  if (spec.key !== undefined) {
    flags |= 0x2000;
    const k = Buffer.alloc(4);
    k.writeUInt32BE(spec.key >>> 0);
    words.push(k);
  }
  if (spec.sequence !== undefined) {
    flags |= 0x1000;
    const s = Buffer.alloc(4);
    s.writeUInt32BE(spec.sequence >>> 0);
    words.push(s);
  }
  const h = Buffer.alloc(4);
  h.writeUInt16BE(flags, 0);
  h.writeUInt16BE(spec.protocolType, 2);
  return Buffer.concat([h, ...words, payload]);
}

export interface PcapFrame {
  timeMs: number;
  data: Buffer;
}

export function pcapHeader(linkType = 1, snapLen = 262144): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(snapLen, 16);
  h.writeUInt32LE(linkType, 20);
  return h;
}

export function pcapRecordHeader(timeMs: number, capLen: number, origLen = capLen): Buffer {
  const h = Buffer.alloc(16);
  const us = Math.round(timeMs * 1000);
  h.writeUInt32LE(Math.floor(us / 1e6), 0);
  h.writeUInt32LE(us % 1e6, 4);
  h.writeUInt32LE(capLen, 8);
  h.writeUInt32LE(origLen, 12);
  return h;
}

/** A classic little-endian µs pcap file of the frames. */
export function pcapFile(frames: PcapFrame[], linkType = 1): Buffer {
  const parts = [pcapHeader(linkType)];
  for (const f of frames) parts.push(pcapRecordHeader(f.timeMs, f.data.length), f.data);
  return Buffer.concat(parts);
}

/** A little-endian pcapng file (SHB, one IDB with µs resolution, EPBs) of the frames. */
export function pcapngFile(frames: PcapFrame[], linkType = 1): Buffer {
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(linkType, 0);
  idb.writeUInt32LE(262144, 4);
  const parts = [block(0x0a0d0d0a, shb), block(1, idb)];
  for (const f of frames) {
    const padded = Buffer.alloc(Math.ceil(f.data.length / 4) * 4);
    f.data.copy(padded);
    const epb = Buffer.alloc(20);
    const us = BigInt(Math.round(f.timeMs * 1000));
    epb.writeUInt32LE(0, 0);
    epb.writeUInt32LE(Number(us >> 32n), 4);
    epb.writeUInt32LE(Number(us & 0xffffffffn), 8);
    epb.writeUInt32LE(f.data.length, 12);
    epb.writeUInt32LE(f.data.length, 16);
    parts.push(block(6, Buffer.concat([epb, padded])));
  }
  return Buffer.concat(parts);
}

/**
 * UDP payloads (NetFlow/IPFIX datagrams) as a classic pcap of Ethernet / IPv4 / UDP frames
 * from 127.0.0.1:40000 to 127.0.0.1:dstPort, 1 ms apart, so that tshark can decode them.
 */
export function udpPcap(payloads: readonly Buffer[], dstPort: number, startMs = Date.now()): Buffer {
  return pcapFile(
    payloads.map((p, i) => ({
      timeMs: startMs + i,
      data: ethernet(
        { etherType: 0x0800 },
        ipv4({ src: '127.0.0.1', dst: '127.0.0.1', proto: 17, id: i & 0xffff }, udp(40000, dstPort, p)),
      ),
    })),
  );
}
