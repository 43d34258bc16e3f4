/**
 * Wire encoders: FlowRecord[] → NetFlow v9 / IPFIX / v5 datagrams. Pure (returns Buffers,
 * does no I/O); one encoder per export stream (Source ID / Observation Domain), since it
 * holds that stream's sequence number and template refresh state.
 */
import type { EncoderOptions, FlowEncoder } from './api.ts';
import { createIpfixEncoder } from './ipfix.ts';
import { createNetflowV5Encoder } from './netflow-v5.ts';
import { createNetflowV9Encoder } from './netflow-v9.ts';

export type { EncoderOptions, EncoderStats, FlowEncoder } from './api.ts';

export const ENCODER_DEFAULTS = {
  mtu: 1400,
  templateRefreshPackets: 20,
  templateRefreshMs: 60_000,
  samplingInterval: 1,
  activeTimeoutS: 60,
  inactiveTimeoutS: 15,
} as const;

/**
 * Throws RangeError for options no encoder can honour (an MTU too small for a template
 * and one record, refresh counts below 1): configuration mistakes, not data.
 */
export function createFlowEncoder(opts: EncoderOptions): FlowEncoder {
  const o = { ...ENCODER_DEFAULTS, ...stripUndefined(opts) };
  for (const key of ['mtu', 'templateRefreshPackets', 'templateRefreshMs', 'samplingInterval'] as const) {
    if (!Number.isFinite(o[key]) || o[key] < 1)
      throw new RangeError(`${key} must be at least 1, got ${o[key]}`);
  }
  const packer = { mtu: o.mtu, refreshPackets: o.templateRefreshPackets, refreshMs: o.templateRefreshMs };
  const options = {
    samplingInterval: o.samplingInterval,
    activeTimeoutS: o.activeTimeoutS,
    inactiveTimeoutS: o.inactiveTimeoutS,
  };
  switch (o.version) {
    case 9:
      return createNetflowV9Encoder({
        ...packer,
        ...options,
        sourceId: o.observationDomain,
        bootTimeMs: o.bootTimeMs,
      });
    case 10:
      return createIpfixEncoder({ ...packer, ...options, observationDomain: o.observationDomain });
    case 5:
      return createNetflowV5Encoder({
        mtu: o.mtu,
        observationDomain: o.observationDomain,
        bootTimeMs: o.bootTimeMs,
        samplingInterval: o.samplingInterval,
      });
    default:
      throw new RangeError(`unsupported NetFlow version ${String(o.version)} (use 5, 9 or 10)`);
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
