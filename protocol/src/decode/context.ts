/**
 * Per-datagram and per-domain state the compiled record decoders read. Kept in plain
 * objects with a fixed shape so the generated code stays monomorphic.
 */

/** What one exporter's observation domain (v9 Source ID) has told us outside templates. */
export interface DomainState {
  readonly key: string;
  readonly exporter: string;
  readonly version: number;
  readonly domain: number;
  /** sampling rate by sampler id (48 / 302); 0 = announced without a sampler id */
  readonly rates: Map<number, number>;
  /** IPFIX systemInitTimeMilliseconds (160) from options data: base of IE 21/22; 0 = unknown */
  initMs: number;
  heldCount: number;
}

/** The header values a record needs, set once per datagram (or restored for held data). */
export interface HeaderContext {
  exporter: string;
  receivedMs: number;
  version: number;
  domain: number;
  /** v9: header UNIX secs × 1000; v5: secs and nsecs; IPFIX: export time × 1000 */
  exportMs: number;
  /** v9/v5 header sysUpTime (ms) */
  uptime: number;
  st: DomainState;
  /** set by a compiled decoder when a record ran past its set: 1 = varlen overrun */
  err: number;
}

export function samplingRateFor(st: DomainState, samplerId: number): number {
  const rates = st.rates;
  if (rates.size === 0) return 0;
  if (samplerId >= 0) {
    const r = rates.get(samplerId);
    if (r !== undefined) return r;
  }
  const r0 = rates.get(0);
  if (r0 !== undefined) return r0;
  // one sampler announced for the whole domain: records that do not name it use it
  if (rates.size === 1) for (const r of rates.values()) return r;
  return 0;
}
