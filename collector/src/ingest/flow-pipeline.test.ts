import { describe, expect, it } from 'vitest';
import { scanFlowRows } from '../../../storage/src/flow-rowbinary.ts';
import { parseInventory } from '../enrich/inventory.ts';
import type { OutputName } from '../output/registry.ts';
import { createFlowPipeline, type FlowChunk } from './flow-pipeline.ts';

/** NetFlow v9: template 256 (src, dst, ports, proto, bytes, packets), then datagrams of `per` records. */
function v9(datagrams: number, per: number): Buffer[] {
  const fields: [number, number][] = [
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [1, 4],
    [2, 4],
  ];
  const recLen = fields.reduce((n, [, l]) => n + l, 0);
  const header = (b: Buffer, seq: number) => {
    b.writeUInt16BE(9, 0);
    b.writeUInt16BE(1, 2);
    b.writeUInt32BE(60_000, 4);
    b.writeUInt32BE(1_700_000_000, 8);
    b.writeUInt32BE(seq, 12);
    b.writeUInt32BE(1, 16);
  };
  const t = Buffer.alloc(20 + 8 + fields.length * 4);
  header(t, 0);
  t.writeUInt16BE(0, 20);
  t.writeUInt16BE(8 + fields.length * 4, 22);
  t.writeUInt16BE(256, 24);
  t.writeUInt16BE(fields.length, 26);
  fields.forEach(([f, l], i) => {
    t.writeUInt16BE(f, 28 + i * 4);
    t.writeUInt16BE(l, 30 + i * 4);
  });
  const out = [t];
  for (let d = 1; d <= datagrams; d++) {
    const b = Buffer.alloc(20 + 4 + per * recLen);
    header(b, d);
    b.writeUInt16BE(256, 20);
    b.writeUInt16BE(4 + per * recLen, 22);
    for (let k = 0, r = 24; k < per; k++, r += recLen) {
      b.writeUInt32BE(0x0a000001 + k, r); // 10.0.0.x: tenant acme
      b.writeUInt32BE(0xc0000201, r + 4);
      b.writeUInt16BE(40_000 + k, r + 8);
      b.writeUInt16BE(443, r + 10);
      b[r + 12] = 6;
      b.writeUInt32BE(1000, r + 13);
      b.writeUInt32BE(10, r + 17);
    }
    out.push(b);
  }
  return out;
}

const inventory = (tenant: string) => {
  const inv = parseInventory(
    `tenants:\n  - name: ${tenant}\n    networks:\n      - name: web\n        subnets: [{ cidr: 10.0.0.0/8 }]\n`,
  );
  if (!inv.ok) throw new Error(inv.reason);
  return inv.value;
};

function run(
  chunkRows: number,
  datagrams: Buffer[],
  outputs: OutputName[] = ['rowbinary', 'jsonl', 'protobuf'],
) {
  const chunks: FlowChunk[] = [];
  const pipeline = createFlowPipeline({
    decoder: {},
    sampling: { default: 4, overrides: [] },
    inventory: inventory('acme'),
    outputs,
    chunkRows,
    onChunk: (c) => chunks.push(c),
  });
  for (const d of datagrams) pipeline.decode(d, '192.0.2.9', 1_700_000_000_000);
  return { pipeline, chunks };
}

const lines = (b: Uint8Array | undefined) =>
  (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.alloc(0))
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('createFlowPipeline (decode → sampling → enrichment → outputs)', () => {
  it('writes every flow, sampled and attributed, to every output', () => {
    const { pipeline, chunks } = run(100, v9(2, 3));
    expect(chunks).toEqual([]);
    expect(pipeline.pendingRows).toBe(6);
    pipeline.flush();
    expect(chunks).toHaveLength(1);
    const [c] = chunks;
    expect(c.rows).toBe(6);
    expect(scanFlowRows(Buffer.from(c.outputs.rowbinary ?? new Uint8Array(0)), () => {})).toBe(6);
    const json = lines(c.outputs.jsonl);
    expect(json).toHaveLength(6);
    for (const r of json) {
      expect(r.tenant).toBe('acme');
      expect(r.network).toBe('web');
      expect(r.sampling_rate).toBe(4);
      expect(r.exporter).toBe('192.0.2.9');
    }
    expect(c.outputs.protobuf?.byteLength).toBeGreaterThan(6 * 10);
    expect(pipeline.enrichStats.bySubnet).toBe(6);
    expect(pipeline.sampling.defaulted).toBe(6);
    pipeline.flush();
    expect(chunks).toHaveLength(1); // nothing waiting, no empty chunk
  });

  it('hands a chunk over every chunkRows flows, the rest at flush', () => {
    const { pipeline, chunks } = run(4, v9(2, 3), ['jsonl']);
    expect(chunks.map((c) => c.rows)).toEqual([4]);
    expect(Object.keys(chunks[0].outputs)).toEqual(['jsonl']);
    expect(lines(chunks[0].outputs.jsonl)).toHaveLength(4);
    expect(pipeline.pendingRows).toBe(2);
    pipeline.flush();
    expect(chunks.map((c) => c.rows)).toEqual([4, 2]);
    expect(lines(chunks[1].outputs.jsonl)).toHaveLength(2);
  });

  it('attributes new flows by the inventory it was last given', () => {
    const { pipeline, chunks } = run(100, v9(1, 2), ['jsonl']);
    pipeline.setInventory(inventory('globex'));
    for (const d of v9(1, 2).slice(1)) pipeline.decode(d, '192.0.2.9', 1_700_000_000_000);
    pipeline.flush();
    expect(lines(chunks[0].outputs.jsonl).map((r) => r.tenant)).toEqual(['acme', 'acme', 'globex', 'globex']);
  });

  it('gives TCP sessions decoders of their own: templates do not cross', () => {
    const [template, data] = v9(1, 2);
    const { pipeline, chunks } = run(100, [template]);
    const session = pipeline.newDecoder();
    const sum = pipeline.decode(data, '192.0.2.9', 1_700_000_000_000, session);
    expect(sum.records).toBe(0); // the session has not seen the template
    pipeline.decode(data, '192.0.2.9', 1_700_000_000_000);
    pipeline.flush();
    expect(chunks[0].rows).toBe(2);
  });
});
