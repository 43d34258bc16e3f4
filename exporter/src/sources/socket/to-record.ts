/**
 * A decoded FlowMessage (protobufjs message object) → the canonical record. Times arrive in
 * nanoseconds, addresses as 4 or 16 bytes (IPv4-mapped 16-byte addresses become IPv4 text),
 * 64-bit counters as numbers or Long objects (kept exact: bigint above 2^53).
 */
import { COLUMNS, emptyFlow, type FlowRecord } from '../../../../protocol/src/schema/columns.ts';
import { protobufFieldName } from '../../../../protocol/src/schema/protobuf.ts';
import { ipv4ToString, ipv6ToString } from '../../../../protocol/src/capture/udp.ts';

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

function u64(v: unknown): number | bigint {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    const l = v as LongLike;
    const high = l.high >>> 0;
    const low = l.low >>> 0;
    if (high < 0x200000) return high * 4294967296 + low;
    return (BigInt(high) << 32n) | BigInt(low);
  }
  return 0;
}

function nsToMs(v: unknown): number {
  const n = u64(v);
  return typeof n === 'bigint' ? Number(n / 1_000_000n) : Math.floor(n / 1e6);
}

function addr(v: unknown): string | null {
  if (!(v instanceof Uint8Array) || v.length === 0) return '';
  const b = Buffer.from(v.buffer, v.byteOffset, v.length);
  if (b.length === 4) return ipv4ToString(b, 0);
  if (b.length !== 16) return null;
  const mapped = b.readUInt32BE(0) === 0 && b.readUInt32BE(4) === 0 && b.readUInt32BE(8) === 0xffff;
  return mapped ? ipv4ToString(b, 12) : ipv6ToString(b, 0);
}

const FIELDS = COLUMNS.map((c) => ({ col: c, pb: protobufFieldName(c) }));

/** Returns the record, or an error text when a field is out of range (counted by the caller). */
export function messageToRecord(msg: Record<string, unknown>, nowMs: number): FlowRecord | string {
  const r = emptyFlow() as unknown as Record<string, unknown>;
  for (const { col, pb } of FIELDS) {
    const v = msg[pb];
    if (v === undefined || v === null) continue;
    switch (col.kind) {
      case 'datetime':
        r[col.name] = nsToMs(v);
        break;
      case 'ip': {
        const a = addr(v);
        if (a === null) return `${pb}: address of ${(v as Uint8Array).length} bytes (expected 4 or 16)`;
        r[col.name] = a;
        break;
      }
      case 'u64':
        r[col.name] = u64(v);
        break;
      case 'mac': {
        const m = u64(v);
        r[col.name] = typeof m === 'bigint' ? 0 : m;
        break;
      }
      case 'u8':
      case 'u16': {
        const n = Number(v);
        if (n > (col.kind === 'u8' ? 0xff : 0xffff)) return `${pb}: ${n} out of range for ${col.kind}`;
        r[col.name] = n;
        break;
      }
      default:
        r[col.name] = typeof v === 'string' ? v : Number(v);
    }
  }
  const rec = r as unknown as FlowRecord;
  if (rec.flow_end === 0) rec.flow_end = nowMs;
  if (rec.flow_start === 0) rec.flow_start = rec.flow_end;
  if (rec.sampling_rate === 0) rec.sampling_rate = 1;
  if (rec.ip_version === 0 && rec.src_addr) rec.ip_version = (rec.src_addr as string).includes(':') ? 6 : 4;
  return rec;
}
