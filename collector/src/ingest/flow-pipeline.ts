/**
 * The collector's per-flow work, importable (the decode worker runs it, the pipeline bench
 * measures it, unit tests drive it): decode a datagram → set the flow's sampling rate →
 * attribute it to its tenant → write it to every configured output. Nothing happens at
 * load and nothing here knows of threads: the caller gives datagrams in and takes chunks
 * out through onChunk (the worker transfers them to the main thread).
 */
import type { DecoderOptions, FlowDecoder, PacketSummary } from '../../../protocol/src/decode/api.ts';
import { createDecoder } from '../../../protocol/src/decode/index.ts';
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { createEnricher, type EnrichStats } from '../enrich/enrich.ts';
import type { Inventory } from '../enrich/inventory.ts';
import { createSamplingPolicy, type SamplingPolicy } from '../enrich/sampling.ts';
import type { FlowOutput } from '../output/output.ts';
import { OUTPUT_DRIVERS, type OutputName } from '../output/registry.ts';

export interface FlowPipelineInit {
  decoder: DecoderOptions;
  sampling: { default: number; overrides: readonly { exporter: string; rate: number }[] };
  inventory: Inventory;
  /** the outputs each flow is written to (output/registry.ts) */
  outputs: readonly OutputName[];
  /** a chunk goes to onChunk once it holds this many flows (or at flush) */
  chunkRows: number;
  onChunk(chunk: FlowChunk): void;
}

/** The flows written since the last chunk: their count and each output's bytes. */
export interface FlowChunk {
  rows: number;
  outputs: Partial<Record<OutputName, Uint8Array>>;
}

export interface FlowPipeline {
  /** the decoder for datagrams outside any TCP session */
  readonly decoder: FlowDecoder;
  /** a decoder of its own (same options), for one IPFIX-over-TCP session's template scope */
  newDecoder(): FlowDecoder;
  /** Decodes one datagram with `dec` (default: this pipeline's decoder); every flow goes through to the outputs. */
  decode(datagram: Buffer, exporter: string, receivedMs: number, dec?: FlowDecoder): PacketSummary;
  setInventory(inv: Inventory): void;
  /** Hands what the outputs hold to onChunk, if any flow is waiting. */
  flush(): void;
  /** flows written since the last chunk */
  readonly pendingRows: number;
  readonly sampling: SamplingPolicy;
  readonly enrichStats: EnrichStats;
}

export function createFlowPipeline(init: FlowPipelineInit): FlowPipeline {
  const drivers = init.outputs.map((name) => ({ name, driver: OUTPUT_DRIVERS[name] }));
  const decoderOptions: DecoderOptions = {
    ...init.decoder,
    keepExtra: drivers.some((d) => d.driver.keepExtra),
  };
  const decoder = createDecoder(decoderOptions);
  const sampling = createSamplingPolicy(init.sampling);
  const enricher = createEnricher(init.inventory);
  const names: OutputName[] = drivers.map((d) => d.name);
  const outputs: FlowOutput[] = drivers.map((d) => d.driver.create());
  const n = outputs.length;
  const { chunkRows, onChunk } = init;
  let rows = 0;

  function flush(): void {
    if (rows === 0) return;
    const chunk: FlowChunk = { rows, outputs: {} };
    for (let i = 0; i < n; i++) chunk.outputs[names[i]] = outputs[i].take();
    rows = 0;
    onChunk(chunk);
  }

  function emit(rec: FlowRecord): void {
    sampling.apply(rec);
    enricher.enrich(rec);
    for (let i = 0; i < n; i++) outputs[i].write(rec);
    if (++rows >= chunkRows) flush();
  }

  return {
    decoder,
    newDecoder: () => createDecoder(decoderOptions),
    decode: (datagram, exporter, receivedMs, dec = decoder) =>
      dec.decode(datagram, exporter, receivedMs, emit),
    setInventory: (inv) => enricher.setInventory(inv),
    flush,
    get pendingRows() {
      return rows;
    },
    sampling,
    enrichStats: enricher.stats,
  };
}
