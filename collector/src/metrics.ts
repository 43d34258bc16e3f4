/**
 * The collector's Prometheus metrics, on a registry of its own (several collectors can
 * live in one process, e.g. in tests). Worker counters arrive as running totals and are
 * turned into increments here.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createCollectorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vxflow_collector_' });
  const r = { registers: [registry] };
  return {
    registry,
    datagrams: new Counter({
      name: 'vxflow_collector_datagrams_total',
      help: 'datagrams and TCP messages received',
      labelNames: ['transport'],
      ...r,
    }),
    records: new Counter({ name: 'vxflow_collector_records_total', help: 'flow records decoded', ...r }),
    decodeErrors: new Counter({
      name: 'vxflow_collector_decode_errors_total',
      help: 'decode problems by kind (packets, sets or records skipped)',
      labelNames: ['kind'],
      ...r,
    }),
    templateMisses: new Counter({
      name: 'vxflow_collector_template_misses_total',
      help: 'data sets that arrived before their template',
      ...r,
    }),
    held: new Counter({
      name: 'vxflow_collector_held_sets_total',
      help: 'data sets held for a template that had not arrived',
      ...r,
    }),
    heldExpired: new Counter({
      name: 'vxflow_collector_held_expired_total',
      help: 'held data sets whose template never came in time',
      ...r,
    }),
    templates: new Counter({
      name: 'vxflow_collector_templates_learnt_total',
      help: 'template records learnt',
      ...r,
    }),
    lostPackets: new Counter({
      name: 'vxflow_collector_sequence_lost_packets_total',
      help: 'export packets missing by sequence number (NetFlow v9)',
      ...r,
    }),
    lostRecords: new Counter({
      name: 'vxflow_collector_sequence_lost_records_total',
      help: 'flow records missing by sequence number (IPFIX, v5)',
      ...r,
    }),
    reordered: new Counter({
      name: 'vxflow_collector_sequence_reordered_total',
      help: 'packets that arrived after a later one',
      ...r,
    }),
    samplingDefaulted: new Counter({
      name: 'vxflow_collector_sampling_defaulted_total',
      help: 'flows with no announced sampling rate, given the configured default',
      ...r,
    }),
    enriched: new Counter({
      name: 'vxflow_collector_enrich_total',
      help: 'flows by how the tenant was found',
      labelNames: ['by'],
      ...r,
    }),
    dropped: new Counter({
      name: 'vxflow_collector_dropped_total',
      help: 'items dropped by a bounded stage (decode, shutdown: datagrams; batch, spool, file outputs: flows)',
      labelNames: ['stage'],
      ...r,
    }),
    rejected: new Counter({
      name: 'vxflow_collector_rejected_datagrams_total',
      help: 'datagrams refused before decoding',
      labelNames: ['reason'],
      ...r,
    }),
    kernelDrops: new Gauge({
      name: 'vxflow_collector_kernel_drops',
      help: 'datagrams the kernel dropped on our sockets (/proc/net/udp drops)',
      labelNames: ['port'],
      ...r,
    }),
    recvBuffer: new Gauge({
      name: 'vxflow_collector_recv_buffer_bytes',
      help: 'UDP receive buffer granted by the kernel',
      labelNames: ['port'],
      ...r,
    }),
    insertSeconds: new Histogram({
      name: 'vxflow_collector_insert_seconds',
      help: 'ClickHouse batch insert latency',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ...r,
    }),
    insertedRows: new Counter({
      name: 'vxflow_collector_clickhouse_insert_rows_total',
      help: 'rows ClickHouse acknowledged',
      ...r,
    }),
    insertFailures: new Counter({
      name: 'vxflow_collector_clickhouse_insert_failures_total',
      help: 'failed batch inserts',
      ...r,
    }),
    spooledRows: new Counter({
      name: 'vxflow_collector_spooled_rows_total',
      help: 'rows written to the on-disk spool',
      ...r,
    }),
    alreadyStoredRows: new Counter({
      name: 'vxflow_collector_already_stored_rows_total',
      help: 'rows of batches sent again (after a failed insert, or from the spool) that ClickHouse already held, so were not inserted twice',
      ...r,
    }),
    spoolBytes: new Gauge({ name: 'vxflow_collector_spool_bytes', help: 'bytes waiting in the spool', ...r }),
    spoolBatches: new Gauge({
      name: 'vxflow_collector_spool_batches',
      help: 'batches waiting in the spool',
      ...r,
    }),
    clickhouseUp: new Gauge({
      name: 'vxflow_collector_clickhouse_up',
      help: '1 when inserts go straight to ClickHouse',
      ...r,
    }),
    exporters: new Gauge({
      name: 'vxflow_collector_exporters',
      help: 'exporter/domain pairs that sent decodable NetFlow/IPFIX',
      ...r,
    }),
    exporterTable: new Gauge({
      name: 'vxflow_collector_exporter_table',
      help: 'source addresses tracked (collector.limits.maxExporters): exporters, and candidates that have not sent a decodable datagram yet',
      labelNames: ['state'],
      ...r,
    }),
    exporterEvictions: new Counter({
      name: 'vxflow_collector_exporter_evictions_total',
      help: 'addresses evicted from a full exporter table to make room: never-valid (no datagram decoded) or idle exporters',
      labelNames: ['reason'],
      ...r,
    }),
    templatesHeld: new Gauge({
      name: 'vxflow_collector_templates',
      help: 'templates held now (bounded by collector.limits.maxTemplates*; refusals count as decode_errors_total{kind="template-limit"})',
      ...r,
    }),
    decodeBacklog: new Gauge({
      name: 'vxflow_collector_decode_backlog',
      help: 'datagrams queued for decode workers',
      ...r,
    }),
    outputRows: new Counter({
      name: 'vxflow_collector_output_rows_total',
      help: 'flows written to each output',
      labelNames: ['output'],
      ...r,
    }),
    workerCpuSeconds: new Gauge({
      name: 'vxflow_collector_worker_cpu_seconds',
      help: "CPU time used by the decode worker threads (each thread's own, summed)",
      ...r,
    }),
  };
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;

/** Remembers the last running total per key and returns the increase. */
export function createDeltas() {
  const last = new Map<string, number>();
  return (key: string, total: number): number => {
    const prev = last.get(key) ?? 0;
    last.set(key, total);
    return total > prev ? total - prev : 0;
  };
}
