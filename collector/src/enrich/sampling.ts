/**
 * Sampling rate policy. The decoder fills sampling_rate from options data or per-record
 * fields (0 = the exporter never said). Configured overrides (by exporter address or
 * network) win over what the exporter says, because they exist to correct exporters that
 * announce nothing or the wrong thing; the default fills in only where the rate is unknown.
 * Counters stay unscaled; sampling_rate travels beside them.
 */
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { parseCidr } from '../net/ip.ts';
import { createPrefixTrie } from '../net/prefix-trie.ts';

export interface SamplingPolicy {
  apply(rec: FlowRecord): void;
  /** flows that arrived with no known rate and got the default */
  readonly defaulted: number;
  /** flows whose rate an override set */
  readonly overridden: number;
}

export function createSamplingPolicy(cfg: {
  default: number;
  overrides: readonly { exporter: string; rate: number }[];
}): SamplingPolicy {
  const trie = createPrefixTrie<number>();
  for (const o of cfg.overrides) {
    const c = parseCidr(o.exporter);
    if (!c)
      throw new Error(`collector.sampling.overrides: exporter ${JSON.stringify(o.exporter)} is not a CIDR`);
    trie.insert(c, o.rate);
  }
  // exporters are few; remember each one's override (or its absence) after the first lookup
  const cache = new Map<string, number>();
  let defaulted = 0;
  let overridden = 0;
  return {
    get defaulted() {
      return defaulted;
    },
    get overridden() {
      return overridden;
    },
    apply(rec) {
      const exporter = rec.exporter as string;
      let forced = cache.get(exporter);
      if (forced === undefined) {
        forced = trie.size > 0 ? (trie.lookup(exporter) ?? 0) : 0;
        if (cache.size < 100_000) cache.set(exporter, forced);
      }
      if (forced !== 0) {
        rec.sampling_rate = forced;
        overridden++;
      } else if (rec.sampling_rate === 0) {
        rec.sampling_rate = cfg.default;
        defaulted++;
      }
    },
  };
}
