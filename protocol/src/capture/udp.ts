/**
 * Pulls UDP datagrams out of captured frames, for tools that read NetFlow/IPFIX captures
 * (`vxflow decode`, tests). Handles Ethernet with 802.1Q/QinQ tags, raw IP, Linux SLL/SLL2
 * and BSD loopback framing, IPv4 (unfragmented or first fragment with the full datagram)
 * and IPv6 with extension headers. Returns null for anything that is not a complete UDP
 * datagram, with the reason.
 */

export interface UdpDatagram {
  readonly srcAddr: string;
  readonly dstAddr: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Buffer;
}

export type UdpSkipReason = 'not-ip' | 'not-udp' | 'truncated' | 'fragment' | 'unsupported-link';

export type UdpResult = { ok: true; value: UdpDatagram } | { ok: false; reason: UdpSkipReason };

export function ipv4ToString(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text form (lower case, longest zero run compressed, IPv4-mapped shown dotted). */
export function ipv6ToString(b: Buffer, o: number): string {
  let mapped = true;
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) mapped = false;
  if (mapped && b[o + 10] === 0xff && b[o + 11] === 0xff) return `::ffff:${ipv4ToString(b, o + 12)}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[o + i] << 8) | b[o + i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** Offset of the IP header in a frame, and the ethertype that announces it (0x0800 / 0x86dd). */
function locateIp(linkType: number, f: Buffer): { off: number; etherType: number } | null {
  switch (linkType) {
    case 1: {
      // Ethernet, skipping 802.1Q / 802.1ad tags
      let off = 12;
      if (f.length < 14) return null;
      let et = f.readUInt16BE(off);
      while ((et === 0x8100 || et === 0x88a8 || et === 0x9100) && off + 6 <= f.length) {
        off += 4;
        et = f.readUInt16BE(off);
      }
      return { off: off + 2, etherType: et };
    }
    case 101:
    case 12:
    case 14:
    case 228:
    case 229: {
      if (f.length < 1) return null;
      const v = f[0] >> 4;
      return { off: 0, etherType: v === 6 ? 0x86dd : v === 4 ? 0x0800 : 0 };
    }
    case 113: // Linux cooked capture v1: protocol at 14
      if (f.length < 16) return null;
      return { off: 16, etherType: f.readUInt16BE(14) };
    case 276: // SLL2: protocol at 0
      if (f.length < 20) return null;
      return { off: 20, etherType: f.readUInt16BE(0) };
    case 0:
    case 108: {
      // BSD loopback: 4-byte address family in host (0) or network (108) order
      if (f.length < 4) return null;
      const v = f.length > 4 ? f[4] >> 4 : 0;
      return { off: 4, etherType: v === 6 ? 0x86dd : v === 4 ? 0x0800 : 0 };
    }
    default:
      return null;
  }
}

export function extractUdp(linkType: number, f: Buffer): UdpResult {
  const ip = locateIp(linkType, f);
  if (!ip) return { ok: false, reason: 'unsupported-link' };
  let off = ip.off;
  let src: string;
  let dst: string;
  let proto: number;
  let l4End: number;
  if (ip.etherType === 0x0800) {
    if (off + 20 > f.length) return { ok: false, reason: 'truncated' };
    const ihl = (f[off] & 0x0f) * 4;
    const total = f.readUInt16BE(off + 2);
    const fragField = f.readUInt16BE(off + 6);
    if ((fragField & 0x1fff) !== 0 || fragField & 0x2000) return { ok: false, reason: 'fragment' };
    proto = f[off + 9];
    src = ipv4ToString(f, off + 12);
    dst = ipv4ToString(f, off + 16);
    l4End = Math.min(f.length, off + (total || f.length - off));
    off += ihl;
  } else if (ip.etherType === 0x86dd) {
    if (off + 40 > f.length) return { ok: false, reason: 'truncated' };
    const payloadLen = f.readUInt16BE(off + 4);
    proto = f[off + 6];
    src = ipv6ToString(f, off + 8);
    dst = ipv6ToString(f, off + 24);
    l4End = Math.min(f.length, off + 40 + payloadLen);
    off += 40;
    // hop-by-hop, routing, destination options; a fragment header means we cannot decode
    while (proto === 0 || proto === 43 || proto === 60 || proto === 44) {
      if (proto === 44) return { ok: false, reason: 'fragment' };
      if (off + 8 > l4End) return { ok: false, reason: 'truncated' };
      proto = f[off];
      off += (f[off + 1] + 1) * 8;
    }
  } else {
    return { ok: false, reason: 'not-ip' };
  }
  if (proto !== 17) return { ok: false, reason: 'not-udp' };
  if (off + 8 > l4End) return { ok: false, reason: 'truncated' };
  const udpLen = f.readUInt16BE(off + 4);
  const end = udpLen >= 8 ? Math.min(l4End, off + udpLen) : l4End;
  if (udpLen > 8 && off + udpLen > f.length) return { ok: false, reason: 'truncated' };
  return {
    ok: true,
    value: {
      srcAddr: src,
      dstAddr: dst,
      srcPort: f.readUInt16BE(off),
      dstPort: f.readUInt16BE(off + 2),
      payload: f.subarray(off + 8, end),
    },
  };
}
