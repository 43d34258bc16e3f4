/**
 * A real exporter: softflowd (Debian package) reads a pcap this test writes (TCP, UDP and
 * ICMP flows), exports NetFlow v9 and IPFIX to a UDP socket on 127.0.0.1 that the test owns;
 * the datagrams it sends are decoded here and by tshark (written out as a pcap), and the
 * two decodes must agree on every flow's 5-tuple, bytes and packets.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import { pcapFile } from '../helpers/packets.ts';

const SOFTFLOWD = '/usr/sbin/softflowd';
const SOFTFLOWCTL = '/usr/sbin/softflowctl';

function ipv4Header(src: string, dst: string, proto: number, payloadLen: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payloadLen, 2);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  h.writeUInt16BE(~sum & 0xffff, 10);
  return h;
}

function ether(ip: Buffer): Buffer {
  const e = Buffer.alloc(14);
  Buffer.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]).copy(e);
  e.writeUInt16BE(0x0800, 12);
  return Buffer.concat([e, ip]);
}

function l4(proto: number, sport: number, dport: number, payload: number, flags = 0x18): Buffer {
  if (proto === 6) {
    const t = Buffer.alloc(20 + payload);
    t.writeUInt16BE(sport, 0);
    t.writeUInt16BE(dport, 2);
    t[12] = 0x50;
    t[13] = flags;
    t.writeUInt16BE(65535, 14);
    return t;
  }
  if (proto === 17) {
    const u = Buffer.alloc(8 + payload);
    u.writeUInt16BE(sport, 0);
    u.writeUInt16BE(dport, 2);
    u.writeUInt16BE(8 + payload, 4);
    return u;
  }
  const i = Buffer.alloc(8 + payload); // ICMP echo request
  i[0] = 8;
  return i;
}

/** Traffic with known flows: TCP both ways, UDP, ICMP. */
function trafficPcap(): Buffer {
  const frames: { timeMs: number; data: Buffer }[] = [];
  const t0 = Date.now() - 60_000;
  const add = (
    i: number,
    src: string,
    dst: string,
    proto: number,
    sp: number,
    dp: number,
    len: number,
    flags?: number,
  ) => {
    const seg = l4(proto, sp, dp, len, flags);
    frames.push({
      timeMs: t0 + i * 10,
      data: ether(Buffer.concat([ipv4Header(src, dst, proto, seg.length), seg])),
    });
  };
  let i = 0;
  for (let k = 0; k < 5; k++) add(i++, '10.0.0.1', '10.0.0.2', 6, 40000, 80, 100 * k, k === 0 ? 0x02 : 0x18);
  for (let k = 0; k < 4; k++) add(i++, '10.0.0.2', '10.0.0.1', 6, 80, 40000, 1000);
  for (let k = 0; k < 3; k++) add(i++, '10.0.0.3', '10.0.0.9', 17, 5353, 53, 60 + k);
  for (let k = 0; k < 2; k++) add(i++, '10.0.0.4', '10.0.0.1', 1, 0, 0, 56);
  for (let k = 0; k < 20; k++) add(i++, `10.1.0.${k + 1}`, '10.0.0.1', 17, 1000 + k, 514, 30);
  return pcapFile(frames, 1);
}

const sockets: Socket[] = [];
const procs: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const s of sockets) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function exportWithSoftflowd(
  version: 9 | 10,
): Promise<{ datagrams: Buffer[]; port: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `vxflow-sfd-${process.pid}-`));
  dirs.push(dir);
  // softflowd silently truncates long -r paths (~16 characters): a short name in /tmp
  const pcap = `/tmp/${process.pid}${version}.cap`;
  dirs.push(pcap);
  writeFileSync(pcap, trafficPcap());
  const sock = createSocket('udp4');
  sockets.push(sock);
  const datagrams: Buffer[] = [];
  sock.on('message', (m) => datagrams.push(Buffer.from(m)));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  const ctl = join(dir, 'ctl');
  // -c before -r (otherwise it blocks in accept()), -a for absolute times from the pcap
  const p = spawn(
    SOFTFLOWD,
    [
      '-c',
      ctl,
      '-r',
      pcap,
      '-n',
      `127.0.0.1:${port}`,
      '-v',
      String(version),
      '-d',
      '-a',
      '-p',
      join(dir, 'pid'),
    ],
    { stdio: 'ignore' },
  );
  procs.push(p);
  // this build exits by itself at the end of the file; older ones wait for their main loop
  // to wake: statistics, then shutdown (which flushes every flow)
  for (let i = 0; i < 30 && p.exitCode === null; i++) await sleep(100);
  if (p.exitCode === null && existsSync(ctl)) {
    for (const cmd of ['statistics', 'shutdown']) {
      try {
        execFileSync(SOFTFLOWCTL, ['-c', ctl, cmd], { stdio: 'ignore' });
      } catch {
        // it may have exited between the check and the command
      }
      await sleep(300);
    }
  }
  for (let i = 0; i < 50 && p.exitCode === null; i++) await sleep(100);
  await sleep(300);
  return { datagrams, port, dir };
}

/** Datagrams as a pcap of Ethernet/IPv4/UDP frames for tshark. */
function datagramPcap(datagrams: Buffer[], port: number): Buffer {
  return pcapFile(
    datagrams.map((d, i) => {
      const udp = Buffer.alloc(8);
      udp.writeUInt16BE(40000, 0);
      udp.writeUInt16BE(port, 2);
      udp.writeUInt16BE(8 + d.length, 4);
      const payload = Buffer.concat([udp, d]);
      return {
        timeMs: 1_700_000_000_000 + i,
        data: ether(Buffer.concat([ipv4Header('127.0.0.1', '127.0.0.1', 17, payload.length), payload])),
      };
    }),
    1,
  );
}

/** tshark's decode: address/protocol/counter tuples, and the port pairs (ICMP records have none). */
function tsharkFlows(file: string, port: number): { flows: string[]; ports: string[] } {
  const fields = [
    'cflow.srcaddr',
    'cflow.dstaddr',
    'cflow.protocol',
    'cflow.octets',
    'cflow.packets',
    'cflow.srcport',
    'cflow.dstport',
  ];
  const out = execFileSync(
    'tshark',
    [
      '-r',
      file,
      '-d',
      `udp.port==${port},cflow`,
      '-T',
      'fields',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=;',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const flows: string[] = [];
  const ports: string[] = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const cols = line.split('\t').map((c) => (c ? c.split(';') : []));
    for (let i = 0; i < cols[0].length; i++)
      flows.push(
        cols
          .slice(0, 5)
          .map((c) => c[i])
          .join(' '),
      );
    for (let i = 0; i < cols[5].length; i++) ports.push(`${cols[5][i]} ${cols[6][i]}`);
  }
  return { flows, ports };
}

describe.each([9, 10] as const)('softflowd NetFlow/IPFIX version %i', (version) => {
  it('decodes what softflowd exports as tshark does', async () => {
    const { datagrams, port, dir } = await exportWithSoftflowd(version);
    expect(datagrams.length).toBeGreaterThan(0);
    const decoder = createDecoder();
    const ours: string[] = [];
    const ourPorts: string[] = [];
    const records: { proto: number; icmp_type: number }[] = [];
    for (const d of datagrams)
      decoder.decode(d, '127.0.0.1', Date.now(), (r) => {
        records.push({ proto: Number(r.proto), icmp_type: Number(r.icmp_type) });
        if (r.proto !== 1) ourPorts.push(`${r.src_port} ${r.dst_port}`);
        ours.push([r.src_addr, r.dst_addr, r.proto, r.bytes, r.packets].join(' '));
        // absolute times (-a): within the last few minutes, not 49 days off
        expect(Math.abs(Number(r.flow_start) - Date.now())).toBeLessThan(600_000);
      });
    decoder.expire(Number.POSITIVE_INFINITY);
    const file = join(dir, 'export.pcap');
    writeFileSync(file, datagramPcap(datagrams, port));
    const theirs = tsharkFlows(file, port);
    expect(ours.length).toBe(24); // TCP both directions (2), DNS (1), ICMP (1), 20 syslog senders
    expect(ours.sort()).toEqual(theirs.flows.sort());
    expect(ourPorts.sort()).toEqual(theirs.ports.sort());
    expect(records.find((r) => r.proto === 1)?.icmp_type).toBe(8);
    const errors = Object.entries(decoder.stats).filter(
      ([k, v]) => v > 0 && !['packets', 'records', 'templates', 'held'].includes(k),
    );
    expect(errors).toEqual([]);
  });
});
