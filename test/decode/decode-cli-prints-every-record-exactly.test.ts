/**
 * `vxflow decode` (the real program) prints exactly what the plain path makes of every
 * record: the schema's toJsonLine of each record the decoder emits, in order, through one
 * decoder for all the files given, byte for byte. The program prints through its own byte
 * writer (collector/src/output/json-line.ts) and its own chunked stdout; the reference here
 * is computed in the test the straightforward way, so a faster printing path cannot drift
 * from the JSON form. Also: the output survives a pipe when the program ends with an error,
 * and progress goes to stderr, never to stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import { toJsonLine } from '../../protocol/src/schema/json.ts';
import { udpPcap } from '../helpers/packets.ts';
import { CAPTURES, datagrams } from './helpers.ts';
import { set, TYPICAL_V9_FIELDS, typicalV9Record, v9Packet, v9TemplateSet } from './packets.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vxflow-decode-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(under: string, pattern: RegExp): string[] {
  const out: string[] = [];
  for (const e of readdirSync(under, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(under, e.name);
    if (e.isDirectory()) out.push(...files(p, pattern));
    else if (pattern.test(e.name)) out.push(p);
  }
  return out;
}

/** Runs `vxflow decode ARGS` with stdout into a pipe (as `| jq` would read it), to the end. */
function vxflowDecode(args: string[]): Promise<{ code: number | null; out: Buffer; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(root, 'bin/vxflow.js'), 'decode', ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, out: Buffer.concat(out), err }));
  });
}

/** What `vxflow decode` must print for these captures, made the plain way. */
function reference(paths: string[], raw?: { exporter: string }): string {
  const decoder = createDecoder();
  let text = '';
  const emit = (rec: Parameters<Parameters<typeof decoder.decode>[3]>[0]) => {
    text += `${toJsonLine(rec)}\n`;
  };
  for (const p of paths) {
    if (raw) decoder.decode(datagrams(p)[0].payload, raw.exporter, Math.round(statSync(p).mtimeMs), emit);
    else for (const d of datagrams(p)) decoder.decode(d.payload, d.exporter, d.timeMs, emit);
  }
  return text;
}

describe('vxflow decode output', () => {
  it('is byte for byte toJsonLine of every record of every shared pcap/pcapng capture', async () => {
    const captures = files(CAPTURES, /\.(pcap|pcapng)$/);
    expect(captures.length).toBeGreaterThan(20);
    const r = await vxflowDecode(captures);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const want = reference(captures);
    // many of these records carry extra (non-canonical) fields: those are printed too
    expect(
      want.split('\n').filter((l) => l.length > 0 && Object.keys(JSON.parse(l)).length > 46).length,
    ).toBeGreaterThan(100);
    expect(r.out.toString('utf8')).toBe(want);
  }, 120_000);

  it('is byte for byte toJsonLine for the raw NetFlow datagram files, and none of it is lost in the pipe when some files are not NetFlow', async () => {
    const raw = files(CAPTURES, /\.(dat|bin)$/);
    const flows = raw.filter((p) => [5, 9, 10].includes(datagrams(p)[0].payload.readUInt16BE(0)));
    expect(flows.length).toBeGreaterThan(50);
    expect(raw.length).toBeGreaterThan(flows.length); // sFlow and others: reported, then exit 2
    const r = await vxflowDecode(['--exporter', '192.0.2.1', ...raw]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('files could not be decoded');
    // the exit with an error used to drop what was still queued for the pipe
    expect(r.out.toString('utf8')).toBe(reference(flows, { exporter: '192.0.2.1' }));
  }, 120_000);

  it('over a large capture is byte for byte toJsonLine, and --progress reports on stderr only', async () => {
    // 2000 datagrams of 30 different records: many 64 KiB chunks through the pipe
    const uptime = 3_600_000;
    const packets: Buffer[] = [];
    for (let p = 0; p < 2000; p++) {
      const h = { sourceId: 7, sequence: p, uptime, unixSecs: 1_763_000_000 + p };
      const sets = p % 500 === 0 ? [v9TemplateSet([{ id: 300, fields: TYPICAL_V9_FIELDS }])] : [];
      const body = Buffer.concat(Array.from({ length: 30 }, (_, i) => typicalV9Record(p * 30 + i, uptime)));
      packets.push(v9Packet(h, [...sets, set(300, body)]));
    }
    const file = join(dir, 'large.pcap');
    writeFileSync(file, udpPcap(packets, 2055, 1_763_000_000_000));
    const r = await vxflowDecode(['--progress', file]);
    expect(r.code).toBe(0);
    const want = reference([file]);
    expect(want.split('\n')).toHaveLength(60_001);
    expect(r.out.toString('utf8')).toBe(want);
    // stderr is not a terminal here: whole lines, the last one at 100 %
    const progress = r.err.trim().split('\n');
    expect(progress.at(-1)).toBe(`${file}: 100% (2000 datagrams, 60000 records)`);
    for (const line of progress)
      expect(line).toMatch(/^\S+large\.pcap: \d+% \(\d+ datagrams, \d+ records\)$/);
  }, 120_000);
});
