/**
 * A source of flows for the exporter. Packet sources (pcap) feed the flow cache and emit
 * its expired flows; flow sources (ovs, socket, sim) emit per-flow records directly.
 */
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';

export interface SourceContext {
  /** hand finished flow records to the export pipeline */
  emit(records: FlowRecord[]): void;
  /** aborted on SIGINT/SIGTERM: flush what you hold, then resolve */
  signal: AbortSignal;
  /** progress for long work (a large capture): fraction 0..1 and a short text */
  progress?(fraction: number, text: string): void;
  /** resolves when the export queue has room again: sources that can wait (files) await it */
  drain?(): Promise<void>;
}

export interface FlowSource {
  readonly name: string;
  /** resolves when the source is exhausted (end of a file) or the signal aborts */
  run(ctx: SourceContext): Promise<void>;
}
