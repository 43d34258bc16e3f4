/**
 * The contract between the wire decoders (protocol/src/decode) and their users (the
 * collector, `vxflow decode`, tests). Implementations live beside this file.
 */
import type { FlowRecord } from '../schema/columns.ts';

/** Why a packet, a set or a record was (partly) skipped. Counted, never thrown. */
export const DECODE_ERROR_KINDS = [
  'short-header',
  'bad-version',
  'bad-length',
  'set-length',
  'template-invalid',
  'template-limit',
  'field-limit',
  'template-missing',
  'record-short',
  'varlen-overrun',
  'held-expired',
  'held-overflow',
  'trailing-bytes',
] as const;
export type DecodeErrorKind = (typeof DECODE_ERROR_KINDS)[number];

export interface DecoderOptions {
  /** templates kept per exporter and domain (default 1024) */
  maxTemplatesPerDomain?: number;
  /** fields allowed in one template (default 512) */
  maxFieldsPerTemplate?: number;
  /** exporters (address + domain) tracked (default 10 000) */
  maxDomains?: number;
  /** observation domains one exporter address may have (default: maxDomains) */
  maxDomainsPerExporter?: number;
  /** templates kept in all (default: no bound beyond the per-domain ones) */
  maxTemplates?: number;
  /** templates one exporter address may have over all its domains (default: maxTemplates) */
  maxTemplatesPerExporter?: number;
  /** data sets held for one exporter address / one domain (default: no bound beyond maxHeldSets); beyond, new ones are refused as held-overflow */
  maxHeldSetsPerExporter?: number;
  maxHeldSetsPerDomain?: number;
  /** data sets held while their template has not arrived (default 10 000 in all) */
  maxHeldSets?: number;
  /** how long a held data set waits for its template (default 60 000 ms) */
  maxHeldAgeMs?: number;
  /** octets of data held in all while their template has not arrived (default 16 MiB) */
  maxHeldBytes?: number;
  /** keep fields with no canonical column in FlowRecord.extra (default true) */
  keepExtra?: boolean;
}

/** What one datagram yielded. */
export interface PacketSummary {
  version: number;
  /** v9 Source ID / IPFIX Observation Domain (0 for v5: engine type<<8 | engine id) */
  observationDomain: number;
  /** header sequence number (v5: flows seen, v9: packets, IPFIX: data records) */
  sequence: number;
  /** data records decoded from this datagram (including held ones released by it) */
  records: number;
  /**
   * data records (flow and options) carried by this datagram's own sets and decoded now:
   * what IPFIX sequence numbers count (held sets are not included)
   */
  dataRecords?: number;
  /** template/options-template records learnt */
  templates: number;
  /** data sets held for a template that has not arrived */
  held: number;
  errors: number;
}

export interface TemplateInfo {
  exporter: string;
  version: number;
  observationDomain: number;
  templateId: number;
  options: boolean;
  /** [enterprise number (0 = IANA), element id, length (65535 = variable)] */
  fields: [number, number, number][];
  scopeFieldCount: number;
  lastSeenMs: number;
}

export interface FlowDecoder {
  /**
   * Decodes one datagram (v5, v9 or IPFIX, detected from the first two bytes), calling
   * `emit` once per flow record. The record object may be reused after `emit` returns:
   * copy what you keep. Never throws on any input.
   */
  decode(
    datagram: Buffer,
    exporter: string,
    receivedMs: number,
    emit: (rec: FlowRecord) => void,
  ): PacketSummary;
  /** counters by error kind, and totals, since creation */
  readonly stats: Readonly<Record<DecodeErrorKind | 'packets' | 'records' | 'templates' | 'held', number>>;
  /** every template currently known (allocates one object per template: not for the hot path) */
  templates(): TemplateInfo[];
  /** templates known for one exporter and domain, in constant time */
  templateCount(exporter: string, version: number, observationDomain: number): number;
  /** drops everything known about one exporter address (its domains, templates, held data) */
  forgetExporter(exporter: string): void;
  /** sampling rates learnt from options data: `${exporter}/${domain}/${samplerId}` to rate */
  samplingRates(): Record<string, number>;
  /** drops held data older than maxHeldAgeMs (counted as held-expired); call now and then */
  expire(nowMs: number): void;
  /** JSON-serialisable template and sampling state, to persist across restarts */
  exportState(): unknown;
  /** restores exportState() output; ignores (and counts) what does not validate */
  importState(state: unknown): void;
}
