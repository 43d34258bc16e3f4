/**
 * Messages between the receiving main thread and the decode workers. Datagrams travel in
 * batches: one transferable ArrayBuffer of concatenated payloads plus a Float64Array index
 * (offset, length, receivedMs, exporter slot, mark) per datagram, so no per-datagram object is
 * cloned across threads. Decoded flows come back already encoded for each output.
 */

export interface WorkerInit {
  decoder: {
    maxTemplatesPerDomain: number;
    maxFieldsPerTemplate: number;
    maxDomains: number;
    maxDomainsPerExporter: number;
    /** this worker's share of collector.limits.maxTemplates */
    maxTemplates: number;
    maxTemplatesPerExporter: number;
    maxHeldSets: number;
    maxHeldSetsPerExporter: number;
    maxHeldSetsPerDomain: number;
    maxHeldAgeMs: number;
  };
  sampling: { default: number; overrides: { exporter: string; rate: number }[] };
  inventoryText: string;
  maxTcpSessions: number;
  outputs: { rowbinary: boolean; native: boolean; jsonl: boolean; protobuf: boolean; rollup: boolean };
  /** flows per chunk sent back; a batch of datagrams may give several chunks */
  chunkRows: number;
  /**
   * Shared with the main thread: set to 1 when shutdown runs out of time for decoding, so
   * datagrams still queued are skipped (counted) instead of holding the exit up.
   */
  abandon: SharedArrayBuffer;
  /** added to the worker thread's nice value (collector.workerNice; set by the worker pool) */
  nice?: number;
}

/** Index columns per datagram in DatagramBatch.index. */
export const INDEX_STRIDE = 5;

/**
 * The index's fifth column (ingest/spread.ts): 0 = an exporter decoded on this worker only
 * (the worker counts its sequence); a positive ticket = a datagram of an exporter spread over
 * the workers (the worker answers the ticket with its record count, and the receiving thread
 * counts the sequence); LEARN_ONLY = a copy of a spread exporter's template datagram that
 * another worker decodes: learn its templates (release data held for them), emit none of its
 * own records.
 */
export const LEARN_ONLY = -1;

export type ToWorker =
  | {
      type: 'datagrams';
      /** a view over a transferred buffer of its own, given back with 'done' (common/transfer-pool.ts) */
      payload: Uint8Array;
      index: Float64Array;
      /** exporter address per slot */
      exporters: string[];
      /** '' for UDP; a TCP session key ('tcp:addr:port#n'), which gets its own template scope */
      session: string;
    }
  | { type: 'inventory'; text: string }
  | { type: 'session-closed'; session: string }
  /** exporter addresses evicted from the exporter table: drop their templates and counters */
  | { type: 'forget'; exporters: string[] }
  | { type: 'expire'; nowMs: number }
  | { type: 'export-state'; id: number }
  /** the decoder state of one exporter address only (answered with 'state'), for a handoff to spread it */
  | { type: 'export-exporter-state'; id: number; exporter: string }
  | { type: 'import-state'; state: unknown }
  | { type: 'flush'; id: number }
  /** chunk buffers the receiving thread is done with (inserted, written, merged): reused for later chunks */
  | { type: 'recycle'; buffers: ArrayBuffer[] };

/** Sequence and volume accounting for one exporter + observation domain. */
export interface ExporterDomainStats {
  exporter: string;
  version: number;
  observationDomain: number;
  templates: number;
  samplingRate: number;
  packets: number;
  records: number;
  lostPackets: number;
  lostRecords: number;
  reordered: number;
  errors: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface WorkerStats {
  datagrams: number;
  records: number;
  errors: Record<string, number>;
  held: number;
  heldExpired: number;
  templateMisses: number;
  templatesLearnt: number;
  lostPackets: number;
  lostRecords: number;
  reordered: number;
  samplingDefaulted: number;
  enrich: { byVni: number; byVlan: number; bySubnet: number; unknownVni: number; unassigned: number };
  tcpSessions: number;
  tcpSessionsRejected: number;
  /** templates this worker holds now (UDP exporters) */
  templatesHeld: number;
  /** datagrams skipped because shutdown ran out of time for them */
  abandoned: number;
  /** this thread's own CPU time (not the whole process's) */
  cpuUs: number;
}

export type FromWorker =
  | {
      type: 'chunk';
      rows: number;
      // each a view over a transferred ArrayBuffer of its own, which the receiving thread
      // gives back ('recycle') once done with it (common/transfer-pool.ts)
      rowbinary?: Uint8Array;
      /** the same flows as one Native block (storage/src/flow-native.ts), when that is the insert format */
      native?: Uint8Array;
      jsonl?: Uint8Array;
      protobuf?: Uint8Array;
      /** staging rows for flows_rollup_in (output/rollup.ts) */
      rollup?: Uint8Array;
    }
  /** a datagram batch is done (queue accounting) */
  | {
      type: 'done';
      datagrams: number;
      /** per ticketed datagram: [ticket, data records, 1 = a flow datagram / 0 = not] */
      answers?: Float64Array;
      /** the batch's payload buffer, back for the next batch */
      payload?: ArrayBuffer;
    }
  | { type: 'stats'; stats: WorkerStats; exporters: ExporterDomainStats[] }
  /** a datagram from this address decoded as NetFlow v5/v9 or IPFIX: it is an exporter */
  | { type: 'exporter'; exporter: string }
  | { type: 'event'; level: 'info' | 'debug' | 'warn'; msg: string; data?: Record<string, unknown> }
  /** the decoder state as JSON text: serialised on the worker, because cloning 100 000
   *  templates as objects blocked the receiving thread for most of a second */
  | { type: 'state'; id: number; state: string }
  | { type: 'flushed'; id: number }
  | { type: 'ready' };
