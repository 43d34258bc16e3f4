/**
 * The packing engine NetFlow v9 and IPFIX share: both are a header followed by sets
 * (`Set ID (2) | Length (2) | records…`); they differ in header, set IDs, field specifier
 * form, padding and what the sequence number counts, which the dialect supplies.
 *
 * Rules this enforces:
 * - no datagram exceeds the MTU (records never straddle datagrams);
 * - templates, the options template and options data go out in the first datagram, then
 *   again every `refreshPackets` datagrams and every `refreshMs` ms (RFC 3954 §7 wants
 *   both triggers), always before any data set in the same datagram (RFC 7011 §8.2);
 * - records are grouped by template so each datagram holds few sets.
 */
import type { FlowRecord } from '../schema/columns.ts';
import type { EncoderStats, FlowEncoder } from './api.ts';
import type { TemplateSet } from './templates.ts';

/** One ready-made set of template/options material. */
export interface SetChunk {
  readonly bytes: Buffer;
  /** records it holds (v9 header Count) */
  readonly records: number;
  /** data records it holds (options data; IPFIX sequence counts them) */
  readonly dataRecords: number;
}

export interface SetDialect {
  readonly headerLength: number;
  /** pad each data set to a 4-octet boundary with zeros (v9 §5.3 SHOULD) */
  readonly padSets: boolean;
  readonly templateSet: TemplateSet;
  /** template sets, options template set, options data set, in sending order */
  readonly templateChunks: readonly SetChunk[];
  /** writes the header of a finished datagram and advances the sequence number */
  writeHeader(buf: Buffer, length: number, records: number, dataRecords: number, nowMs: number): void;
}

export interface PackerOptions {
  mtu: number;
  refreshPackets: number;
  refreshMs: number;
}

const align4 = (n: number) => (n + 3) & ~3;

export function createSetPacker(dialect: SetDialect, opts: PackerOptions): FlowEncoder {
  const { headerLength, padSets, templateChunks } = dialect;
  const { templates, select } = dialect.templateSet;
  const { mtu, refreshPackets, refreshMs } = opts;

  const largestChunk = Math.max(...templateChunks.map((c) => c.bytes.length));
  const largestRecord = Math.max(...templates.map((t) => t.maxLength));
  const needed = headerLength + Math.max(largestChunk, align4(4 + largestRecord));
  if (mtu < needed || mtu > 65535) {
    throw new RangeError(`mtu ${mtu} out of range: these templates need ${needed}..65535 octets`);
  }

  const buf = Buffer.alloc(mtu);
  const stats: EncoderStats = { packets: 0, octets: 0, records: 0, templatePackets: 0, skipped: 0 };
  let templatesSent = false;
  let packetsSinceTemplates = 0;
  let lastTemplatesMs = 0;

  // the datagram being filled
  let out: Buffer[] = [];
  let now = 0;
  let open = false;
  let off = 0;
  let records = 0;
  let dataRecords = 0;
  let hasTemplates = false;
  let setStart = -1;
  let setTemplate = -1;
  let selections = new Uint8Array(256);

  const fits = (end: number) => (padSets ? align4(end) : end) <= mtu;

  function closeSet(): void {
    if (setStart < 0) return;
    if (padSets) {
      const padded = align4(off);
      buf.fill(0, off, padded);
      off = padded;
    }
    buf.writeUInt16BE(off - setStart, setStart + 2);
    setStart = -1;
    setTemplate = -1;
  }

  function flush(): void {
    closeSet();
    if (!open) return;
    open = false;
    if (off === headerLength) return;
    dialect.writeHeader(buf, off, records, dataRecords, now);
    const datagram = Buffer.allocUnsafe(off);
    buf.copy(datagram, 0, 0, off);
    out.push(datagram);
    stats.packets++;
    stats.octets += off;
    if (hasTemplates) stats.templatePackets++;
    packetsSinceTemplates++;
  }

  function beginPacket(): void {
    open = true;
    off = headerLength;
    records = 0;
    dataRecords = 0;
    hasTemplates = false;
  }

  function writeTemplates(): void {
    for (const chunk of templateChunks) {
      if (off + chunk.bytes.length > mtu) {
        flush();
        beginPacket();
      }
      chunk.bytes.copy(buf, off);
      off += chunk.bytes.length;
      records += chunk.records;
      dataRecords += chunk.dataRecords;
      hasTemplates = true;
    }
    templatesSent = true;
    packetsSinceTemplates = 0;
    lastTemplatesMs = now;
  }

  function startPacket(): void {
    beginPacket();
    if (!templatesSent || packetsSinceTemplates >= refreshPackets || now - lastTemplatesMs >= refreshMs) {
      writeTemplates();
    }
  }

  function openSet(t: number): void {
    setStart = off;
    setTemplate = t;
    buf.writeUInt16BE(templates[t].id, off);
    off += 4;
  }

  /** Starts a datagram with room for a new set of `length`-octet records. */
  function packetFor(length: number): void {
    flush();
    startPacket();
    // templates that were due can leave too little room: they then travel alone
    if (!fits(off + 4 + length)) {
      flush();
      beginPacket();
    }
  }

  function writeRecord(t: number, rec: FlowRecord): void {
    const template = templates[t];
    const length = template.maxLength;
    if (setTemplate !== t) {
      closeSet();
      if (!open || !fits(off + 4 + length)) packetFor(length);
      openSet(t);
    } else if (!fits(off + length)) {
      packetFor(length);
      openSet(t);
    }
    off = template.write(buf, off, rec);
    records++;
    dataRecords++;
    stats.records++;
  }

  return {
    stats,
    encode(records, nowMs) {
      const recs = records;
      out = [];
      now = nowMs;
      const n = recs.length;
      if (n === 0) return out;
      if (selections.length < n) selections = new Uint8Array(Math.max(n, selections.length * 2));
      let used = 0;
      for (let i = 0; i < n; i++) {
        const t = select(recs[i]);
        selections[i] = t;
        used |= 1 << t;
      }
      for (let t = 0; t < templates.length; t++) {
        if ((used & (1 << t)) === 0) continue;
        for (let i = 0; i < n; i++) if (selections[i] === t) writeRecord(t, recs[i]);
      }
      flush();
      return out;
    },
    templates(nowMs) {
      out = [];
      now = nowMs;
      beginPacket();
      writeTemplates();
      flush();
      return out;
    },
  };
}
