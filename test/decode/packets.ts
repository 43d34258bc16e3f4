/**
 * Builders for NetFlow v9 and IPFIX datagrams, for tests and the benchmark: small,
 * explicit, and independent of the encoders (so they check the decoder, not a round trip).
 */

export type V9Field = [type: number, length: number];
export type IpfixField = [pen: number, id: number, length: number];

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

/** A set with its 4-octet header, padded to a 4-octet boundary. */
export function set(id: number, body: Buffer, pad = true): Buffer {
  const padLen = pad ? (4 - ((body.length + 4) % 4)) % 4 : 0;
  const out = Buffer.alloc(4 + body.length + padLen);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(out.length, 2);
  body.copy(out, 4);
  return out;
}

export function v9TemplateSet(templates: { id: number; fields: V9Field[] }[]): Buffer {
  const parts: Buffer[] = [];
  for (const t of templates) {
    parts.push(u16(t.id), u16(t.fields.length));
    for (const [type, len] of t.fields) parts.push(u16(type), u16(len));
  }
  return set(0, Buffer.concat(parts), false);
}

export function v9OptionsTemplateSet(id: number, scope: V9Field[], options: V9Field[]): Buffer {
  const parts: Buffer[] = [u16(id), u16(scope.length * 4), u16(options.length * 4)];
  for (const [type, len] of [...scope, ...options]) parts.push(u16(type), u16(len));
  return set(1, Buffer.concat(parts));
}

export function ipfixTemplateSet(
  templates: { id: number; fields: IpfixField[]; scope?: number }[],
  options = false,
): Buffer {
  const parts: Buffer[] = [];
  for (const t of templates) {
    parts.push(u16(t.id), u16(t.fields.length));
    if (options) parts.push(u16(t.scope ?? 1));
    for (const [pen, id, len] of t.fields) {
      parts.push(u16(pen ? id | 0x8000 : id), u16(len));
      if (pen) {
        const p = Buffer.alloc(4);
        p.writeUInt32BE(pen);
        parts.push(p);
      }
    }
  }
  return set(options ? 3 : 2, Buffer.concat(parts));
}

export function v9Packet(
  h: { sourceId: number; sequence: number; uptime: number; unixSecs: number },
  sets: Buffer[],
): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt16BE(9, 0);
  head.writeUInt16BE(sets.length, 2);
  head.writeUInt32BE(h.uptime >>> 0, 4);
  head.writeUInt32BE(h.unixSecs, 8);
  head.writeUInt32BE(h.sequence >>> 0, 12);
  head.writeUInt32BE(h.sourceId >>> 0, 16);
  return Buffer.concat([head, ...sets]);
}

export function ipfixMessage(
  h: { domain: number; sequence: number; exportSecs: number },
  sets: Buffer[],
): Buffer {
  const body = Buffer.concat(sets);
  const head = Buffer.alloc(16);
  head.writeUInt16BE(10, 0);
  head.writeUInt16BE(16 + body.length, 2);
  head.writeUInt32BE(h.exportSecs, 4);
  head.writeUInt32BE(h.sequence >>> 0, 8);
  head.writeUInt32BE(h.domain >>> 0, 12);
  return Buffer.concat([head, body]);
}

/** Big-endian unsigned of `len` octets (bigint for the wide ones). */
export function uint(value: number | bigint, len: number): Buffer {
  const b = Buffer.alloc(len);
  let v = BigInt(value);
  for (let i = len - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

export function ipv4(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** A variable-length field: 1-octet length below 255, else 255 + 2-octet length. */
export function varlen(value: Buffer, long = false): Buffer {
  if (!long && value.length < 255) return Buffer.concat([Buffer.from([value.length]), value]);
  return Buffer.concat([Buffer.from([255]), u16(value.length), value]);
}

/** The "typical" 20-field v9 template used by the benchmark and tests. */
export const TYPICAL_V9_FIELDS: V9Field[] = [
  [8, 4],
  [12, 4],
  [15, 4],
  [10, 4],
  [14, 4],
  [2, 4],
  [1, 4],
  [22, 4],
  [21, 4],
  [7, 2],
  [11, 2],
  [6, 1],
  [4, 1],
  [5, 1],
  [16, 4],
  [17, 4],
  [9, 1],
  [13, 1],
  [61, 1],
  [60, 1],
];

/** A deterministic record for TYPICAL_V9_FIELDS (index i varies addresses, ports, counters). */
export function typicalV9Record(i: number, uptime: number): Buffer {
  return Buffer.concat([
    ipv4(`10.${(i >> 8) & 255}.${i & 255}.1`),
    ipv4(`192.168.${i & 255}.2`),
    ipv4('10.0.0.254'),
    uint(3, 4),
    uint(4, 4),
    uint(10 + (i % 50), 4),
    uint(1500 * (10 + (i % 50)), 4),
    uint(uptime - 5000, 4),
    uint(uptime - 100, 4),
    uint(1024 + (i % 60000), 2),
    uint(443, 2),
    uint(0x18, 1),
    uint(6, 1),
    uint(0, 1),
    uint(64512, 4),
    uint(64513, 4),
    uint(24, 1),
    uint(16, 1),
    uint(0, 1),
    uint(4, 1),
  ]);
}
