import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../../protocol/src/decode/index.ts';
import { createFlowEncoder } from '../../../protocol/src/encode/index.ts';
import { emptyFlow } from '../../../protocol/src/schema/columns.ts';
import { createSharedRowDiff, importStateOf } from './shared-rows.ts';

/** A decoder that learnt one v9 exporter's templates and sampling (from our own encoder). */
function decoderWithTemplates(exporter: string, domain: number) {
  const enc = createFlowEncoder({
    version: 9,
    observationDomain: domain,
    bootTimeMs: 1_000_000,
    samplingInterval: 100,
    templateRefreshPackets: 1e9,
    templateRefreshMs: 1e9,
  });
  const dec = createDecoder();
  const flow = { ...emptyFlow(), src_addr: '10.0.0.1', dst_addr: '10.0.0.2', bytes: 10, packets: 1 };
  for (const d of enc.templates(2_000_000)) dec.decode(d, exporter, 2_000_000, () => {});
  return { enc, dec, flow };
}

describe('shared template rows', () => {
  it('writes each template once, again only when its fields change, not when the exporter repeats it', () => {
    const { enc, dec } = decoderWithTemplates('192.0.2.1', 7);
    const diff = createSharedRowDiff();
    const first = diff.changes([JSON.stringify(dec.exportState())], 5_000_000);
    const templates = first.filter((r) => r.templateId >= 256);
    expect(templates.length).toBeGreaterThan(0);
    expect(first.some((r) => r.templateId === 0)).toBe(true); // the sampling rate's domain row
    // not committed (the write failed): the same rows come again
    expect(diff.changes([JSON.stringify(dec.exportState())], 5_000_100)).toHaveLength(first.length);
    diff.commit(first);
    // a refresh moves lastSeenMs only: nothing to write
    for (const d of enc.templates(3_000_000)) dec.decode(d, '192.0.2.1', 3_000_000, () => {});
    expect(diff.changes([JSON.stringify(dec.exportState())], 5_000_200)).toEqual([]);
    // after the daily reset everything is written again
    diff.reset();
    expect(diff.changes([JSON.stringify(dec.exportState())], 5_000_300)).toHaveLength(first.length);
  });

  it('gives a fresh decoder the templates back, so it decodes data sets without their template', () => {
    const { enc, dec, flow } = decoderWithTemplates('192.0.2.1', 7);
    const rows = createSharedRowDiff().changes([JSON.stringify(dec.exportState())], 5_000_000);
    const other = createDecoder();
    other.importState(importStateOf(rows));
    const templatePackets = enc.stats.templatePackets;
    const data = enc.encode([flow], 4_000_000);
    expect(enc.stats.templatePackets).toBe(templatePackets); // data sets only
    const got: number[] = [];
    for (const d of data) other.decode(d, '192.0.2.1', 4_000_000, (r) => got.push(r.sampling_rate));
    expect(got).toEqual([100]);
    expect(other.stats['template-missing']).toBe(0);
    expect(other.stats.held).toBe(0);
  });

  it('leaves out a stored row whose definition is not JSON', () => {
    const state = importStateOf([
      { exporter: 'x', version: 9, observationDomain: 1, templateId: 300, definition: '{', updatedMs: 1 },
    ]) as { templates: unknown[] };
    expect(state.templates).toEqual([]);
  });
});
