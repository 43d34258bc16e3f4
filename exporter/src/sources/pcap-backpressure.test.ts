/**
 * The pcap source waits for the export pipeline between read chunks: a capture that yields
 * far more flows than the pipeline's queue holds is exported whole, none dropped. Real
 * pipeline, real encoder, real UDP to a loopback socket; a small queue makes the overrun
 * happen with a modest file (without the wait, thousands of records are dropped).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { writeVxlanCapture } from '../../../bench/tools/vxlan-capture.ts';
import { createFlowEncoder } from '../../../protocol/src/encode/index.ts';
import { createPipeline } from '../export/pipeline.ts';
import { createPcapSource } from './pcap.ts';

const dir = mkdtempSync(join(tmpdir(), `vxflow-pcap-bp-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('exports every flow of a capture larger than the pipeline queue (drain between chunks)', async () => {
  const file = join(dir, 'many-flows.pcap');
  // every packet is its own flow; a 64-flow cache evicts one record per packet, so the
  // source emits 100 000 records while reading, five times the queue below. Chunks of
  // 256 KiB (~1 800 records) fit in the queue above its low-water mark, as the default 4 MiB
  // chunks fit in the default 200 000-record queue.
  writeVxlanCapture(file, { packets: 100_000, flows: 100_000, vnis: 4, packetSize: 128 });
  const rx = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  try {
    const port = rx.address().port;
    const pipeline = await createPipeline({
      targets: [{ url: `udp://127.0.0.1:${port}`, host: '127.0.0.1', port, family: 4 }],
      encoder: { version: 9, observationDomain: 1, bootTimeMs: Date.now() },
      createEncoder: createFlowEncoder,
      maxPendingRecords: 20_000,
      batchRecords: 1000,
    });
    const source = createPcapSource({ path: file, cache: { maxFlows: 64 }, chunkBytes: 256 * 1024 });
    await source.run(pipeline.context(new AbortController().signal));
    await pipeline.close();
    const stats = pipeline.stats();
    expect(source.stats.frames).toBe(100_000);
    expect(stats).toMatchObject({ received: 100_000, exported: 100_000, dropped: 0 });
    expect(stats.targets[0]).toMatchObject({ flows: 100_000, errors: 0 });
  } finally {
    rx.close();
  }
});
