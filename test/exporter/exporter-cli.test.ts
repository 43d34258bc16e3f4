/**
 * End to end: `vxflow exporter --source pcap:FILE --to udp://…` as a user runs it, on a
 * capture of VXLAN traffic (two tenants, same inner addresses, VNI 1001 and 1002) written by
 * this test; two collectors (IPv4 and IPv6 loopback) receive, and the project decoder reads
 * what arrived. The program must exit 0 with every flow flushed and sent.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';
import { pcapFile } from '../helpers/packets.ts';

const pcap = (frames: { tsMs: number; frame: Buffer }[]): Buffer =>
  pcapFile(frames.map((f) => ({ timeMs: f.tsMs, data: f.frame })));

const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));

/** One Ethernet/IPv4/UDP/VXLAN frame carrying Ethernet/IPv4/UDP with `payload` bytes. */
function vxlanFrame(vni: number, payload: number): Buffer {
  const inner = Buffer.alloc(14 + 20 + 8 + payload);
  inner.writeUInt16BE(0x0800, 12);
  inner.writeUInt8(0x45, 14);
  inner.writeUInt16BE(28 + payload, 16);
  inner.writeUInt8(64, 22);
  inner.writeUInt8(17, 23);
  ip4('10.0.0.1').copy(inner, 26);
  ip4('10.0.0.2').copy(inner, 30);
  inner.writeUInt16BE(1234, 34);
  inner.writeUInt16BE(53, 36);
  inner.writeUInt16BE(8 + payload, 38);
  const outer = Buffer.alloc(14 + 20 + 8 + 8);
  outer.writeUInt16BE(0x0800, 12);
  outer.writeUInt8(0x45, 14);
  outer.writeUInt16BE(20 + 8 + 8 + inner.length, 16);
  outer.writeUInt8(64, 22);
  outer.writeUInt8(17, 23);
  ip4('192.168.50.1').copy(outer, 26);
  ip4('192.168.50.2').copy(outer, 30);
  outer.writeUInt16BE(50000, 34);
  outer.writeUInt16BE(4789, 36);
  outer.writeUInt16BE(8 + 8 + inner.length, 38);
  outer.writeUInt8(0x08, 42); // VXLAN flags: VNI present
  outer.writeUInt32BE(vni << 8, 46);
  return Buffer.concat([outer, inner]);
}

let dir = '';
let file = '';
/** the capture's first packet time: flows must start there, however long the run takes */
let t0 = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `vxexp${process.pid}-`));
  file = join(dir, 'two-tenants.pcap');
  t0 = Date.now() - 20_000;
  const frames = [
    ...Array.from({ length: 5 }, (_, i) => ({ tsMs: t0 + i * 100, frame: vxlanFrame(1001, 100) })),
    ...Array.from({ length: 3 }, (_, i) => ({ tsMs: t0 + 50 + i * 100, frame: vxlanFrame(1002, 200) })),
  ].sort((a, b) => a.tsMs - b.tsMs);
  await writeFile(file, pcap(frames));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function collector(type: 'udp4' | 'udp6') {
  const socket: Socket = createSocket({ type, recvBufferSize: 1 << 20 });
  const datagrams: Buffer[] = [];
  socket.on('message', (m) => datagrams.push(m));
  await new Promise<void>((r) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', r));
  return { port: socket.address().port, datagrams, close: () => socket.close() };
}

function vxflow(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/vxflow.js', ...args], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, VXFLOW_CONFIG: '/dev/null', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // 'close', not 'exit': stderr may still hold data when the process exits
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('vxflow exporter --source pcap:FILE', () => {
  for (const version of ['9', '10']) {
    it(`exports every flow of the capture to every collector and exits 0 (version ${version})`, async () => {
      const a = await collector('udp4');
      const b = await collector('udp6');
      try {
        // the protocol version comes from the environment (the config's exporter.version):
        // `--version` after the subcommand is taken by the program's own --version today
        const run = await vxflow(
          [
            'exporter',
            '--source',
            `pcap:${file}`,
            '--to',
            `udp://127.0.0.1:${a.port}`,
            '--to',
            `udp://[::1]:${b.port}`,
            '--observation-domain',
            '42',
          ],
          { VXFLOW_EXPORTER_VERSION: version },
        );
        expect(run.stderr).not.toMatch(/"level":[56]0/);
        expect(run.code).toBe(0);
        const sent = run.stderr
          .split('\n')
          .filter((l) => l.includes('"msg":"sent"'))
          .map((l) => JSON.parse(l));
        expect(sent.map((s) => s.flows)).toEqual([2, 2]);
        await new Promise((r) => setTimeout(r, 200));
        for (const c of [a, b]) {
          expect(c.datagrams.length).toBe(sent[0].datagrams);
          const dec = createDecoder();
          const flows: FlowRecord[] = [];
          for (const d of c.datagrams) dec.decode(d, '127.0.0.1', Date.now(), (r) => flows.push({ ...r }));
          const summary = flows
            .map(
              (f) =>
                `${f.vni} ${f.src_addr}:${f.src_port}>${f.dst_addr}:${f.dst_port} p=${f.packets} b=${f.bytes}`,
            )
            .sort();
          expect(summary).toEqual([
            '1001 10.0.0.1:1234>10.0.0.2:53 p=5 b=640',
            '1002 10.0.0.1:1234>10.0.0.2:53 p=3 b=684',
          ]);
          for (const f of flows) {
            expect(f).toMatchObject({ version: Number(version), observation_domain: 42, proto: 17 });
            // the VTEPs travel in PEN 6876 elements, which only IPFIX can carry (v9 has no PENs)
            if (version === '10')
              expect(f).toMatchObject({ tunnel_src: '192.168.50.1', tunnel_dst: '192.168.50.2' });
            expect(Math.abs((f.flow_start as number) - t0)).toBeLessThan(1000);
          }
        }
      } finally {
        a.close();
        b.close();
      }
    });
  }

  it('runs a live source until SIGTERM, then flushes, reports per collector and exits 0', async () => {
    const a = await collector('udp4');
    try {
      const child = spawn(
        process.execPath,
        [
          'bin/vxflow.js',
          'exporter',
          '--source',
          'sim',
          '--rate',
          '400',
          '--to',
          `udp://127.0.0.1:${a.port}`,
        ],
        { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, VXFLOW_CONFIG: '/dev/null' } },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const closed = new Promise<number | null>((r) => child.on('close', r));
      const end = Date.now() + 20_000;
      while (a.datagrams.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      expect(await closed).toBe(0);
      const sent = stderr
        .split('\n')
        .filter((l) => l.includes('"msg":"sent"'))
        .map((l) => JSON.parse(l));
      expect(sent).toHaveLength(1);
      expect(sent[0].flows).toBeGreaterThan(0);
      expect(stderr).toMatch(/stopping: flushing flows/);
      await new Promise((r) => setTimeout(r, 200));
      const flows: FlowRecord[] = [];
      const dec = createDecoder();
      for (const d of a.datagrams) dec.decode(d, '127.0.0.1', Date.now(), (r) => flows.push({ ...r }));
      expect(flows).toHaveLength(sent[0].flows);
      expect(new Set(flows.map((f) => f.vni)).size).toBeGreaterThan(3);
    } finally {
      a.close();
    }
  });

  it('describes the sources in --help', async () => {
    const help = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['bin/vxflow.js', 'exporter', '--help'], {
        cwd: join(import.meta.dirname, '../..'),
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.on('close', () => resolve(out));
    });
    for (const s of ['sim', 'ovs[:DATAPATH]', 'pcap:FILE', 'socket:PATH', '--to', '--rate', '--ovs-appctl']) {
      expect(help).toContain(s);
    }
  });

  it('names a user mistake in one line and exits 2', async () => {
    const missing = await vxflow([
      'exporter',
      '--source',
      `pcap:${dir}/nope.pcap`,
      '--to',
      'udp://127.0.0.1:9',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    const badTo = await vxflow(['exporter', '--source', 'sim', '--to', 'tcp://127.0.0.1:9']);
    expect(badTo.code).toBe(2);
    expect(badTo.stderr).toMatch(/udp:\/\//);
    const badSource = await vxflow(['exporter', '--source', 'carrier-pigeon']);
    expect(badSource.code).toBe(2);
    expect(badSource.stderr).toMatch(/unknown source/);
  });
});
