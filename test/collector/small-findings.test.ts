/**
 * The smaller findings of issue 9, each with the real program or the real module: saves
 * of templates.json that overlap, `vxflow decode` over several files with an unreadable one
 * among them, and a truncated capture given to the exporter. Before: ENOENT on rename,
 * decoding stopped at the first bad file, and the truncated capture said nothing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveDecoderStates } from '../../collector/src/sink/template-store.ts';
import { udpPcap } from '../helpers/packets.ts';
import { encoder, makeFlows, tempDir } from './harness.ts';

const root = resolve(import.meta.dirname, '../..');

function vxflow(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_')));
  const r = spawnSync(process.execPath, [join(root, 'bin/vxflow.js'), ...args], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
    // a hung program may ignore SIGTERM (the /proc spin did): never leave one behind
    killSignal: 'SIGKILL',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('smaller findings', () => {
  it('overlapping template saves each succeed and leave a whole file', async () => {
    const dir = tempDir('saves');
    try {
      const file = join(dir.path, 'templates.json');
      const states = [JSON.stringify({ format: 'vxflow-decoder-state/1', templates: [], domains: [] })];
      await Promise.all([1, 2, 3].map(() => saveDecoderStates(file, states)));
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
        format: 1,
        workers: [expect.any(Object)],
      });
    } finally {
      dir.remove();
    }
  });

  it('vxflow decode reports an unreadable file and still decodes the ones after it', () => {
    const dir = tempDir('decode-many');
    try {
      const enc = encoder(9, 5);
      const now = Date.now();
      const [tpl, data] = [enc.templates(now)[0], enc.encode(makeFlows(3), now)[0]];
      writeFileSync(join(dir.path, 'a.dat'), tpl);
      writeFileSync(join(dir.path, 'c.dat'), data);
      const r = vxflow([
        'decode',
        join(dir.path, 'a.dat'),
        join(dir.path, 'missing.dat'),
        join(dir.path, 'c.dat'),
      ]);
      expect(r.code).toBe(2);
      expect(r.out.trim().split('\n')).toHaveLength(3); // c.dat's flows, with a.dat's template
      expect(r.err).toContain('missing.dat');
      expect(r.err).not.toMatch(/^\s+at /m);
    } finally {
      dir.remove();
    }
  });

  it('the exporter warns about a truncated capture', () => {
    const dir = tempDir('pcap-cut');
    try {
      const whole = udpPcap([Buffer.alloc(100, 1), Buffer.alloc(100, 2)], 4789);
      const file = join(dir.path, 'cut.pcap');
      writeFileSync(file, whole.subarray(0, whole.length - 30));
      const r = vxflow(['exporter', '--source', `pcap:${file}`, '--to', 'udp://127.0.0.1:9']);
      expect(r.code).toBe(0);
      expect(r.err).toContain('capture is truncated');
    } finally {
      dir.remove();
    }
  });
});
