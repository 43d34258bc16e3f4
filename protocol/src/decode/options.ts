/**
 * Options data records (v9 §6.2, IPFIX §3.4.2): not flows, but what they announce changes
 * how flows are read. Interpreted generically (they are rare) into the domain state:
 * sampling rate per sampler id, and the exporter's system init time for IE 21/22.
 */
import type { DomainState } from './context.ts';
import type { TemplateDef } from './template.ts';
import { VARLEN } from './template.ts';
import { readNumber, readUnsigned } from './values.ts';

/** sampler ids remembered per domain: bounds memory against a hostile exporter */
const MAX_SAMPLERS = 1024;

/**
 * Reads the options records in [o, end). Returns the number of records read, or -1 when a
 * variable-length field ran past the set.
 */
export function applyOptionsSet(
  b: Buffer,
  o: number,
  end: number,
  t: TemplateDef,
  minLength: number,
  version: number,
  st: DomainState,
): number {
  let n = 0;
  while (o + minLength <= end) {
    let samplerId = -1;
    let interval = 0;
    let space = -1;
    let rate = 0;
    let size = 0;
    let population = 0;
    let p = o;
    for (let i = 0; i < t.fields.length; i++) {
      const f = t.fields[i];
      let len = f.length;
      if (len === VARLEN) {
        if (p >= end) return -1;
        len = b[p++];
        if (len === 255) {
          if (p + 2 > end) return -1;
          len = (b[p] << 8) | b[p + 1];
          p += 2;
        }
      }
      if (p + len > end) return -1;
      // v9 scope fields are scope types (1 System, 2 Interface…), not element ids
      const isV9Scope = version === 9 && i < t.scopeFieldCount;
      if (f.pen === 0 && !isV9Scope && len > 0) {
        switch (f.id) {
          case 48: // samplerId (v9 FLOW_SAMPLER_ID)
          case 302: // selectorId
            samplerId = readNumber(b, p, len);
            break;
          case 34: // samplingInterval
          case 50: // samplerRandomInterval
            rate = readNumber(b, p, len);
            break;
          case 305: // samplingPacketInterval
            interval = readNumber(b, p, len);
            break;
          case 306: // samplingPacketSpace
            space = readNumber(b, p, len);
            break;
          case 309: // samplingSize
            size = readNumber(b, p, len);
            break;
          case 310: // samplingPopulation
            population = readNumber(b, p, len);
            break;
          case 311: {
            // samplingProbability (float64)
            if (len === 8) {
              const prob = b.readDoubleBE(p);
              if (prob > 0 && prob <= 1) rate = Math.round(1 / prob);
            }
            break;
          }
          case 160: {
            // systemInitTimeMilliseconds: base of flowStart/EndSysUpTime in IPFIX
            const v = readUnsigned(b, p, len);
            if (typeof v === 'number' && v > 0) st.initMs = v;
            break;
          }
        }
      }
      p += len;
    }
    // 1-in-N from PSAMP: (interval + space) / interval, or population / size (Cisco IOS XR)
    if (rate === 0 && interval > 0 && space >= 0) rate = Math.round((interval + space) / interval);
    if (rate === 0 && size > 0 && population > 0) rate = Math.round(population / size);
    if (rate === 0 && interval > 0) rate = interval;
    const key = Math.max(samplerId, 0);
    if (rate > 0 && (st.rates.size < MAX_SAMPLERS || st.rates.has(key))) st.rates.set(key, rate);
    n++;
    if (p <= o) return n; // cannot happen with minLength > 0; keeps the loop provably finite
    o = p;
  }
  return n;
}
