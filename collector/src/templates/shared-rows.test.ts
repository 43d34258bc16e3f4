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
  it('writes each template once, again only when its fields change, not when the exporter repeats it', async () => {
    const { enc, dec } = decoderWithTemplates('192.0.2.1', 7);
    const diff = createSharedRowDiff();
    const first = await diff.changes([JSON.stringify(dec.exportState())], 5_000_000);
    const templates = first.filter((r) => r.templateId >= 256);
    expect(templates.length).toBeGreaterThan(0);
    expect(first.some((r) => r.templateId === 0)).toBe(true); // the sampling rate's domain row
    // not committed (the write failed): the same rows come again
    expect(await diff.changes([JSON.stringify(dec.exportState())], 5_000_100)).toHaveLength(first.length);
    diff.commit(first);
    // a refresh moves lastSeenMs only: nothing to write
    for (const d of enc.templates(3_000_000)) dec.decode(d, '192.0.2.1', 3_000_000, () => {});
    expect(await diff.changes([JSON.stringify(dec.exportState())], 5_000_200)).toEqual([]);
    // after the daily reset everything is written again
    diff.reset();
    expect(await diff.changes([JSON.stringify(dec.exportState())], 5_000_300)).toHaveLength(first.length);
  });

  it('gives a fresh decoder the templates back, so it decodes data sets without their template', async () => {
    const { enc, dec, flow } = decoderWithTemplates('192.0.2.1', 7);
    const rows = await createSharedRowDiff().changes([JSON.stringify(dec.exportState())], 5_000_000);
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

  it('writes a template redefined under the same id, and one that went away and came back, over more objects than one scan slice', async () => {
    const state = (defs: number[], seen: number) =>
      JSON.stringify({
        format: 'vxflow-decoder-state/1',
        templates: defs.map((fieldId, i) => ({
          exporter: `192.0.2.${i % 250}`,
          version: 10,
          observationDomain: Math.floor(i / 250),
          templateId: 300,
          options: false,
          fields: [[0, fieldId, 4]],
          scopeFieldCount: 0,
          lastSeenMs: seen,
        })),
        domains: [],
      });
    const defs = Array.from({ length: 5000 }, () => 8);
    const diff = createSharedRowDiff();
    diff.commit(await diff.changes([state(defs, 1)], 0));
    expect(await diff.changes([state(defs, 2)], 0)).toEqual([]);
    defs[4321] = 12; // redefined
    const changed = await diff.changes([state(defs, 3)], 0);
    expect(changed.map((r) => [r.exporter, r.observationDomain, r.definition])).toEqual([
      ['192.0.2.71', 17, '{"options":false,"scopeFieldCount":0,"fields":[[0,12,4]]}'],
    ]);
    diff.commit(changed);
    expect(await diff.changes([state(defs.slice(0, 10), 4)], 0)).toEqual([]); // evicted: nothing to write
    expect(await diff.changes([state(defs, 5)], 0)).toHaveLength(4990); // back: written again
  });

  it('leaves out a stored row whose definition is not JSON', () => {
    const state = importStateOf([
      { exporter: 'x', version: 9, observationDomain: 1, templateId: 300, definition: '{', updatedMs: 1 },
    ]) as { templates: unknown[] };
    expect(state.templates).toEqual([]);
  });
});
