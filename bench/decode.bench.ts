/**
 * Decode throughput (records/s on one core) for NetFlow v5, a typical 20-field v9
 * template, a real 23-field Cisco v9 packet (goflow2's test vector), and IPFIX with
 * enterprise (VMware/OVS tunnel) and variable-length fields; v5 and v9 also through
 * node-netflowv9 (its nf5/nf9 decode functions called directly, templates preloaded) on
 * the same packets in the same run. Median of several runs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createDecoder } from '../protocol/src/decode/index.ts';
import {
  ipfixMessage,
  ipfixTemplateSet,
  ipv4,
  set,
  TYPICAL_V9_FIELDS,
  typicalV9Record,
  uint,
  v9Packet,
  v9TemplateSet,
  varlen,
} from '../test/decode/packets.ts';
import { type Bench, median, timeRuns } from './lib.ts';

const require = createRequire(import.meta.url);
const CAPTURES = join(import.meta.dirname, '../../shared/captures');

interface PeerCtx {
  templates: Record<string, unknown>;
  nfTypes: unknown;
  nfScope: unknown;
  nfInfoTemplates: (rinfo: unknown) => unknown;
  nf9PktDecode: (msg: Buffer, rinfo: unknown) => { flows: unknown[] };
  nf5PktDecode: (msg: Buffer, rinfo: unknown) => { flows: unknown[] };
}

/** node-netflowv9's decode functions bound to a collector-like context, without its socket. */
function peerDecoder(): PeerCtx {
  const nft = require('node-netflowv9/js/nf9/nftypes');
  const clone = require('clone');
  return {
    templates: {},
    nfTypes: clone(nft.nfTypes),
    nfScope: clone(nft.nfScope),
    nfInfoTemplates: require('node-netflowv9/js/nf9/nfinfotempl'),
    nf9PktDecode: require('node-netflowv9/js/nf9/nf9decode'),
    nf5PktDecode: require('node-netflowv9/js/nf5/nf5decode'),
  };
}

const RINFO = { address: '192.0.2.10', port: 2055, size: 0 };

function typicalV9(): { template: Buffer; data: Buffer; records: number } {
  const uptime = 3_600_000;
  const h = { sourceId: 1, sequence: 1, uptime, unixSecs: 1_763_000_000 };
  const template = v9Packet(h, [v9TemplateSet([{ id: 300, fields: TYPICAL_V9_FIELDS }])]);
  const records = 30; // 30 × 56 octets: a full 1500-octet datagram
  const body = Buffer.concat(Array.from({ length: records }, (_, i) => typicalV9Record(i, uptime)));
  return { template, data: v9Packet({ ...h, sequence: 2 }, [set(300, body)]), records };
}

function ipfixEnterprise(): { template: Buffer; data: Buffer; records: number } {
  const V = 6876;
  const fields: [number, number, number][] = [
    [0, 8, 4],
    [0, 12, 4],
    [0, 7, 2],
    [0, 11, 2],
    [0, 4, 1],
    [0, 6, 2],
    [0, 1, 8],
    [0, 2, 8],
    [0, 152, 8],
    [0, 153, 8],
    [0, 61, 1],
    [0, 10, 4],
    [0, 82, 65535],
    [V, 891, 1],
    [V, 892, 65535],
    [V, 893, 4],
    [V, 894, 4],
    [V, 895, 1],
    [V, 896, 2],
    [V, 897, 2],
  ];
  const h = { domain: 11, sequence: 0, exportSecs: 1_763_000_000 };
  const template = ipfixMessage(h, [ipfixTemplateSet([{ id: 400, fields }])]);
  const records = 20;
  const recs: Buffer[] = [];
  for (let i = 0; i < records; i++) {
    recs.push(
      ipv4(`10.0.${i}.1`),
      ipv4(`10.0.${i}.2`),
      uint(40000 + i, 2),
      uint(80, 2),
      uint(6, 1),
      uint(0x1b, 2),
      uint(123456 + i, 8),
      uint(100 + i, 8),
      uint(1_763_000_000_000 - 5000, 8),
      uint(1_763_000_000_000, 8),
      uint(0, 1),
      uint(2, 4),
      varlen(Buffer.from(`vx${i % 4}`)),
      uint(1, 1),
      varlen(uint(1001 + (i % 3), 3)),
      ipv4('192.168.50.2'),
      ipv4('192.168.50.3'),
      uint(17, 1),
      uint(50000 + i, 2),
      uint(4789, 2),
    );
  }
  const data = ipfixMessage({ ...h, sequence: 0 }, [set(400, Buffer.concat(recs))]);
  return { template, data, records };
}

const bench: Bench = async (ctx) => {
  const runs = ctx.quick ? 3 : 7;
  const packetsPerRun = ctx.quick ? 5_000 : 20_000;

  type Case = {
    name: string;
    setup: Buffer[];
    data: Buffer;
    peer?: (p: PeerCtx, b: Buffer) => number;
  };
  const v9 = typicalV9();
  const cases: Case[] = [
    {
      name: 'decode v5 (Juniper MX80, 29 records/packet)',
      setup: [],
      data: readFileSync(join(CAPTURES, 'logstash-codec-netflow/netflow5_test_juniper_mx80.dat')),
      peer: (p, b) => p.nf5PktDecode(b, RINFO).flows.length,
    },
    {
      name: 'decode v9 (typical 20-field template, 30 records/packet)',
      setup: [v9.template],
      data: v9.data,
      peer: (p, b) => p.nf9PktDecode(b, RINFO).flows.length,
    },
    {
      name: 'decode v9 (Cisco 23-field template, goflow2 vector, 21 records/packet)',
      setup: [readFileSync(join(CAPTURES, 'goflow2/netflow__TestDecodeNetFlowV9__template.bin'))],
      data: readFileSync(join(CAPTURES, 'goflow2/netflow__TestDecodeNetFlowV9__data.bin')),
      peer: (p, b) => p.nf9PktDecode(b, RINFO).flows.length,
    },
    {
      name: 'decode IPFIX (20 fields: 7 VMware PEN, 2 variable-length; 20 records/message)',
      ...(() => {
        const x = ipfixEnterprise();
        return { setup: [x.template], data: x.data };
      })(),
    },
  ];

  for (const c of cases) {
    const decoder = createDecoder();
    let count = 0;
    const emit = () => {
      count++;
    };
    for (const s of c.setup) decoder.decode(s, '192.0.2.10', 0, emit);
    count = 0;
    decoder.decode(c.data, '192.0.2.10', 0, emit);
    const perPacket = count;
    if (perPacket === 0) throw new Error(`${c.name}: no records decoded`);
    const ours = await timeRuns(runs, () => {
      for (let i = 0; i < packetsPerRun; i++) decoder.decode(c.data, '192.0.2.10', 0, emit);
    });
    const ourRates = ours.map((t) => (packetsPerRun * perPacket) / t);
    let peer: { name: string; value: number } | undefined;
    if (c.peer) {
      const p = peerDecoder();
      for (const s of c.setup) c.peer(p, s);
      const peerPerPacket = c.peer(p, c.data);
      if (peerPerPacket !== perPacket)
        ctx.log(`${c.name}: node-netflowv9 saw ${peerPerPacket} records, we ${perPacket}`);
      const theirs = await timeRuns(runs, () => {
        for (let i = 0; i < packetsPerRun; i++) c.peer!(p, c.data);
      });
      peer = {
        name: 'node-netflowv9',
        value: median(theirs.map((t) => (packetsPerRun * peerPerPacket) / t)),
      };
    }
    ctx.record({
      name: c.name,
      value: median(ourRates),
      unit: 'records/s',
      ...(peer ? { peer } : { note: 'node-netflowv9 has no IPFIX' }),
      samples: ourRates.map(Math.round),
    });
  }
};

export default bench;
