/**
 * Public entry of the wire decoders: `createDecoder()` implements FlowDecoder (api.ts) for
 * NetFlow v5, v9 and IPFIX; `createSequenceTracker()` does loss accounting. The JSON form
 * `vxflow decode` prints is the schema's (schema/json.ts).
 */
export type {
  DecodeErrorKind,
  DecoderOptions,
  FlowDecoder,
  PacketSummary,
  TemplateInfo,
} from './api.ts';
export { createDecoder } from './decoder.ts';
export { createSequenceTracker, type SequenceStats, type SequenceTracker } from './sequence.ts';
