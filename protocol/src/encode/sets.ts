/**
 * Template and options material, built once per encoder as ready-to-copy set bytes.
 *
 * Set (v9 FlowSet / IPFIX Set):   Set ID (2) | Length (2) | record… | padding
 * v9 Template record (§5.2):      Template ID (2) | Field Count (2) | { Type (2) | Length (2) }…
 * IPFIX Template record (§3.4.1): Template ID (2) | Field Count (2) |
 *                                 { E|IE id (2) | Length (2) | [Enterprise Number (4) if E] }…
 */
import type { FieldSpec } from './fields.ts';
import type { SetChunk } from './set-packer.ts';
import type { DataTemplate } from './templates.ts';

export interface OptionsValues {
  samplingInterval: number;
  activeTimeoutS: number;
  inactiveTimeoutS: number;
}

/** A whole set around the given records; zero padding to 4 octets when `pad`. */
export function buildSet(setId: number, records: readonly Buffer[], pad: boolean): Buffer {
  const body = records.reduce((n, r) => n + r.length, 0);
  const length = pad ? (4 + body + 3) & ~3 : 4 + body;
  const set = Buffer.alloc(length);
  set.writeUInt16BE(setId, 0);
  set.writeUInt16BE(length, 2);
  let off = 4;
  for (const r of records) {
    r.copy(set, off);
    off += r.length;
  }
  return set;
}

/** Field specifiers; enterprise elements get the E bit and their PEN (IPFIX only). */
export function fieldSpecifiers(fields: readonly Pick<FieldSpec, 'id' | 'pen' | 'length'>[]): Buffer {
  const out = Buffer.alloc(fields.reduce((n, x) => n + (x.pen ? 8 : 4), 0));
  let off = 0;
  for (const x of fields) {
    if (x.pen) {
      out.writeUInt16BE(0x8000 | x.id, off);
      out.writeUInt16BE(x.length, off + 2);
      out.writeUInt32BE(x.pen, off + 4);
      off += 8;
    } else {
      out.writeUInt16BE(x.id, off);
      out.writeUInt16BE(x.length, off + 2);
      off += 4;
    }
  }
  return out;
}

export function templateRecord(t: DataTemplate): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(t.id, 0);
  head.writeUInt16BE(t.fields.length, 2);
  return Buffer.concat([head, fieldSpecifiers(t.fields)]);
}

/**
 * Template records packed greedily into as few sets as fit in `room` octets each (small
 * MTUs split them over datagrams; each chunk still fits one datagram on its own).
 */
export function templateChunks(
  setId: number,
  templates: readonly DataTemplate[],
  room: number,
  pad: boolean,
): SetChunk[] {
  const chunks: SetChunk[] = [];
  let group: Buffer[] = [];
  let size = 4;
  const close = () => {
    if (group.length === 0) return;
    chunks.push({ bytes: buildSet(setId, group, pad), records: group.length, dataRecords: 0 });
    group = [];
    size = 4;
  };
  for (const t of templates) {
    const rec = templateRecord(t);
    if (size + rec.length + 3 > room) close();
    group.push(rec);
    size += rec.length;
  }
  close();
  return chunks;
}

/** A one-record data set (options data), as a chunk. */
export function dataChunk(setId: number, record: Buffer, pad: boolean): SetChunk {
  return { bytes: buildSet(setId, [record], pad), records: 1, dataRecords: 1 };
}

/** Fields as (id, length) for the options templates; values written in the same order. */
export interface OptionField {
  id: number;
  length: number;
  value: number;
}

export function optionValues(fields: readonly OptionField[]): Buffer {
  const out = Buffer.alloc(fields.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of fields) {
    out.writeUIntBE(x.value, off, x.length);
    off += x.length;
  }
  return out;
}

/** u16 seconds as announced in 36/37, clamped to what the field holds */
export const clampU16 = (v: number) => Math.min(Math.max(Math.round(v), 0), 0xffff);
