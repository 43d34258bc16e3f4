/** Rows for the `exporters` table (one per exporter and observation domain, refreshed). */
import { EXPORTERS_COLUMNS } from '../../../storage/src/ddl.ts';
import { RowBinaryWriter } from '../../../storage/src/rowbinary.ts';
import type { ExporterDomainStats } from '../ingest/worker-protocol.ts';

export const EXPORTERS_INSERT_COLUMNS = EXPORTERS_COLUMNS.map(([n]) => n).join(', ');

export function encodeExporterRows(
  rows: readonly ExporterDomainStats[],
  names: ReadonlyMap<string, string>,
): Buffer {
  const w = new RowBinaryWriter(1024 + rows.length * 128);
  for (const r of rows) {
    w.ip(r.exporter);
    w.string(names.get(r.exporter) ?? '');
    w.u8(r.version);
    w.u32(r.observationDomain);
    w.u32(r.templates);
    w.u32(r.samplingRate);
    w.u64(r.packets);
    w.u64(r.records);
    w.u64(r.lostPackets);
    w.u64(r.lostRecords);
    w.u64(r.errors);
    w.dateTime(r.firstSeenMs);
    w.dateTime(r.lastSeenMs);
  }
  return w.finish();
}
