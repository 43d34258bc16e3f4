/**
 * A real exporter into the collector: softflowd reads a capture of known flows and exports
 * NetFlow v9 and IPFIX through a relay socket that keeps every datagram; tshark decodes
 * the same datagrams as the reference; ClickHouse must hold exactly the flows, bytes and
 * packets tshark sees. softflowd quirks (peers-on-this-machine.md §4): short relative -r
 * path, -c before -r, -a for timestamps, statistics-then-shutdown to make it read.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';
import { pcapFile as writePcap } from '../helpers/packets.ts';
import { startCollector, tempDir, waitFor } from './harness.ts';

const pcapFile = (packets: { ts: number; frame: Buffer }[], linkType: number): Buffer =>
  writePcap(
    packets.map((p) => ({ timeMs: p.ts, data: p.frame })),
    linkType,
  );

const db = useTestClickHouse();

function ipv4(src: number[], dst: number[], proto: number, l4: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + l4.length, 2);
  ip[8] = 64;
  ip[9] = proto;
  ip.set(src, 12);
  ip.set(dst, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  return Buffer.concat([ip, l4]);
}

function l4(proto: 6 | 17, sport: number, dport: number, payload: number, flags = 0x18): Buffer {
  const h = Buffer.alloc(proto === 6 ? 20 : 8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  if (proto === 6) {
    h[12] = 5 << 4;
    h[13] = flags;
    h.writeUInt16BE(65535, 14);
  } else h.writeUInt16BE(8 + payload, 4);
  return Buffer.concat([h, Buffer.alloc(payload)]);
}

/** 40 TCP and 20 UDP flows of 1–5 packets, Ethernet frames, timestamps a minute ago */
function knownCapture(): Buffer {
  const eth = Buffer.from('02000000000102000000000208 00'.replace(/ /g, ''), 'hex');
  const t0 = Date.now() - 60_000;
  const pkts: { ts: number; frame: Buffer }[] = [];
  for (let f = 0; f < 60; f++) {
    const proto = f < 40 ? 6 : 17;
    for (let k = 0; k <= f % 5; k++) {
      const fin = proto === 6 && k === f % 5 ? 0x11 : 0x18;
      const frame = Buffer.concat([
        eth,
        ipv4(
          [10, 1, 0, 1],
          [10, 2, 0, f + 1],
          proto,
          l4(proto, 20000 + f, proto === 6 ? 443 : 53, 100 + 10 * f, fin),
        ),
      ]);
      pkts.push({ ts: t0 + f * 10 + k, frame });
    }
  }
  return pcapFile(pkts, 1);
}

/** raw-IPv4 pcap of the relayed datagrams, so tshark can decode exactly what was exported */
function datagramsPcap(datagrams: Buffer[], port: number): Buffer {
  return pcapFile(
    datagrams.map((d, i) => {
      const udp = Buffer.alloc(8);
      udp.writeUInt16BE(40000, 0);
      udp.writeUInt16BE(port, 2);
      udp.writeUInt16BE(8 + d.length, 4);
      return { ts: Date.now() + i, frame: ipv4([127, 0, 0, 1], [127, 0, 0, 1], 17, Buffer.concat([udp, d])) };
    }),
    101,
  );
}

function tsharkTotals(file: string, port: number): { n: number; bytes: number; packets: number } {
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
      '-e',
      'cflow.octets',
      '-e',
      'cflow.packets',
    ],
    { encoding: 'utf8' },
  );
  let n = 0;
  let bytes = 0;
  let packets = 0;
  for (const line of out.split('\n')) {
    const [o, p] = line.split('\t');
    if (!o) continue;
    const os = o.split(',').map(Number);
    n += os.length;
    bytes += os.reduce((a, b) => a + b, 0);
    packets += (p ?? '')
      .split(',')
      .map(Number)
      .reduce((a, b) => a + b, 0);
  }
  return { n, bytes, packets };
}

describe('softflowd → collector', () => {
  for (const version of [9, 10] as const) {
    it(`stores exactly what softflowd exported as ${version === 9 ? 'NetFlow v9' : 'IPFIX'} (tshark as reference)`, async () => {
      const dir = tempDir(`sf${version}`);
      const relay = createSocket('udp4');
      const seen: Buffer[] = [];
      let softflowd: ReturnType<typeof spawn> | undefined;
      const c = await startCollector({
        stateDir: join(dir.path, 'state'),
        clickhouse: testClickHouseConfig(db().database),
      });
      try {
        await new Promise<void>((r) => relay.bind(0, '127.0.0.1', () => r()));
        const relayPort = relay.address().port;
        relay.on('message', (m) => {
          seen.push(Buffer.from(m));
          relay.send(m, c.udpPort, '127.0.0.1');
        });
        writeFileSync(join(dir.path, 'in.pcap'), knownCapture());
        softflowd = spawn(
          'softflowd',
          [
            '-c',
            'ctl',
            '-r',
            'in.pcap',
            '-n',
            `127.0.0.1:${relayPort}`,
            '-v',
            String(version),
            '-d',
            '-a',
            '-p',
            'pid',
          ],
          { cwd: dir.path, stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        softflowd.stderr?.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        // softflowd 1.1.0 exits by itself at the end of a capture it has read; when it
        // sits waiting instead, poke it through the control socket, then shut it down
        await waitFor('softflowd to finish', () => softflowd?.exitCode !== null, Boolean, 4000).catch(() => {
          execFileSync('softflowctl', ['-c', 'ctl', 'statistics'], { cwd: dir.path, stdio: 'ignore' });
          execFileSync('softflowctl', ['-c', 'ctl', 'shutdown'], { cwd: dir.path, stdio: 'ignore' });
        });
        await waitFor('softflowd exit', () => softflowd?.exitCode !== null, Boolean, 10_000);
        if (seen.length === 0) throw new Error(`softflowd exported nothing: ${stderr}`);
        await new Promise((r) => setTimeout(r, 300));
        const pcap = join(dir.path, 'exported.pcap');
        writeFileSync(pcap, datagramsPcap(seen, relayPort));
        const ref = tsharkTotals(pcap, relayPort);
        expect(ref.n).toBe(60);
        const stored = await waitFor(
          'flows stored',
          async () => {
            const [r] = await db().query<{ n: string; bytes: string; packets: string }>(
              `SELECT count() AS n, sum(bytes) AS bytes, sum(packets) AS packets FROM ${db().database}.flows WHERE version = ${version}`,
            );
            return { n: Number(r.n), bytes: Number(r.bytes), packets: Number(r.packets) };
          },
          (x) => x.n >= ref.n,
        );
        expect(stored).toEqual(ref);
      } finally {
        if (softflowd && softflowd.exitCode === null) softflowd.kill('SIGKILL');
        relay.close();
        await c.stop();
        dir.remove();
      }
    });
  }
});
