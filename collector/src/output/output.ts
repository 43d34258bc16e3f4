/**
 * collector/src/output/: what the decode worker does with each enriched flow. An output is a
 * driver (goflow2's format/ drivers are the model): a name, whether it needs the
 * non-canonical fields decoded, and a factory for one encoder that writes flows into its own
 * buffer and hands the bytes over a chunk at a time. The drivers are listed in registry.ts;
 * a new output is one new file plus its line there.
 */
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';

/** One output's encoder in one thread. */
export interface FlowOutput {
  /** Appends one flow. */
  write(rec: FlowRecord): void;
  /**
   * Bytes written since the last take, as a view over a transferable ArrayBuffer of its own
   * (common/transfer-pool.ts: it may be longer than the view); empties the output.
   */
  take(): Uint8Array;
}

export interface OutputDriver {
  /** what the configuration and the worker's chunk message call it */
  readonly name: string;
  /** whether flows must keep their non-canonical fields (record.extra) for this output */
  readonly keepExtra: boolean;
  create(): FlowOutput;
}

/** Room an output's buffer starts with (it grows when a chunk needs more). */
export const OUTPUT_BUFFER_BYTES = 1 << 20;
