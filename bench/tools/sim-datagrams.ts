/**
 * Realistic traffic for the collector bench: the exporter's simulator (tenants, VMs, VXLAN,
 * Zipf-ranked peers and ports, the product's own datapath records) encoded once by our
 * NetFlow v9 or IPFIX encoder into a file that bench/tools/blast.c replays (`replay:FILE`)
 * at a paced rate. Blast's own traffic is synthetic (12 fields, sequential addresses); this
 * is what rollup aggregation and compression see in use.
 *
 * File: per datagram, u16 length, u16 flow records (rows the collector stores), u16 data
 * records (flow and options: what IPFIX sequence numbers count), all big-endian, then the
 * datagram. The counts come from our decoder, so they are what the collector will see.
 */
import { writeFileSync } from 'node:fs';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import { createFlowEncoder } from '../../protocol/src/encode/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { createGenerator } from '../../exporter/src/sources/sim/generate.ts';
import { buildCloud } from '../../exporter/src/sources/sim/model.ts';

export interface SimDatagrams {
  datagrams: number;
  flows: number;
  bytes: number;
}

/**
 * Writes `flows` simulated flows as datagrams of one exporter, the flows' times spread as a
 * stream at `ratePerSecond` would spread them (so a minute's rollup keys are as many as that
 * rate gives in the file's span). Returns what the file holds.
 */
export function writeSimDatagrams(
  path: string,
  version: 9 | 10,
  flows: number,
  ratePerSecond: number,
): SimDatagrams {
  const cloud = buildCloud({ seed: 7, tenants: 12 });
  const gen = createGenerator(cloud, 7);
  const start = Date.now() - Math.ceil((flows / ratePerSecond) * 1000) - 60_000;
  const enc = createFlowEncoder({ version, observationDomain: 1, bootTimeMs: start - 3_600_000 });
  const dec = createDecoder({});
  const parts: Buffer[] = [];
  const out = { datagrams: 0, flows: 0, bytes: 0 };
  const add = (d: Buffer) => {
    let rows = 0;
    const sum = dec.decode(d, '127.0.0.1', Date.now(), () => {
      rows++;
    });
    const head = Buffer.alloc(6);
    head.writeUInt16BE(d.length, 0);
    head.writeUInt16BE(rows, 2);
    head.writeUInt16BE(sum.dataRecords ?? sum.records, 4);
    parts.push(head, d);
    out.datagrams++;
    out.flows += rows;
    out.bytes += d.length;
  };
  const batch: FlowRecord[] = [];
  let now = start;
  for (const d of enc.templates(now)) add(d);
  for (let i = 0; i < flows; i++) {
    now = start + Math.floor((i * 1000) / ratePerSecond);
    batch.push(gen.next(now));
    if (batch.length === 1000 || i === flows - 1) {
      for (const d of enc.encode(batch, now)) add(d);
      batch.length = 0;
    }
  }
  writeFileSync(path, Buffer.concat(parts));
  return out;
}
