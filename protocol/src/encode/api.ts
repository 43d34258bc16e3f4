/**
 * The contract between the wire encoders (protocol/src/encode) and the exporter.
 */
import type { FlowRecord } from '../schema/columns.ts';

export interface EncoderOptions {
  /** 9 (NetFlow v9, default), 10 (IPFIX) or 5 */
  version: 5 | 9 | 10;
  /** v9 Source ID / IPFIX Observation Domain ID (v5: engine_type<<8 | engine_id) */
  observationDomain: number;
  /** largest datagram payload to produce, in bytes (default 1400) */
  mtu?: number;
  /** resend templates every N datagrams (default 20) … */
  templateRefreshPackets?: number;
  /** … and at least every M ms (default 60 000) */
  templateRefreshMs?: number;
  /** when the exporter "booted": the base of v9/v5 sysUptime and IPFIX systemInitTime */
  bootTimeMs: number;
  /** packet sampling 1-in-N announced in options data (default 1 = none) */
  samplingInterval?: number;
  /** flow cache timeouts announced in options data, seconds */
  activeTimeoutS?: number;
  inactiveTimeoutS?: number;
}

export interface FlowEncoder {
  /**
   * Encodes the records into as many datagrams as the MTU needs, each starting with the
   * protocol header, with templates and options (template + data) inserted whenever the
   * refresh rules say so. Sequence numbers advance as the protocol defines them.
   */
  encode(records: readonly FlowRecord[], nowMs: number): Buffer[];
  /** datagrams carrying only the templates and options data (sent at start and on demand) */
  templates(nowMs: number): Buffer[];
  /** running totals since creation */
  readonly stats: Readonly<EncoderStats>;
}

export interface EncoderStats {
  /** datagrams produced */
  packets: number;
  /** octets in those datagrams (UDP payload) */
  octets: number;
  /** flow records encoded (v5: records written, after any 32-bit counter split) */
  records: number;
  /** datagrams that carried templates and options */
  templatePackets: number;
  /** records the protocol cannot carry and that were left out (v5: IPv6 flows) */
  skipped: number;
}
