#!/usr/bin/env node
/**
 * The peer side of the decode benchmark (bench/decode.bench.ts): what a node-netflowv9 user
 * writes to print a capture as JSON lines. Its nf5/nf9 decode functions (bound to a
 * collector-like context, as its own socket handler binds them), then JSON.stringify of
 * each flow and a newline, buffered into chunks of 64 KiB or more for stdout (the same
 * chunking `vxflow decode` uses; one write per line would be far slower, and the point is
 * the peer's best).
 *
 * node-netflowv9 has no capture reader, so this reads classic little-endian pcap of
 * Ethernet / IPv4 / UDP frames (what the benchmark writes) with a few lines of its own.
 * Plain CommonJS: started with `node FILE CAPTURE`, no TypeScript loader in the timing.
 *
 * Usage: node bench/tools/node-netflowv9-decode.cjs CAPTURE.pcap > out.jsonl
 */
const { readFileSync } = require('node:fs');
const clone = require('clone');
const nft = require('node-netflowv9/js/nf9/nftypes');

const ctx = {
  templates: {},
  nfTypes: clone(nft.nfTypes),
  nfScope: clone(nft.nfScope),
  nfInfoTemplates: require('node-netflowv9/js/nf9/nfinfotempl'),
  nf9PktDecode: require('node-netflowv9/js/nf9/nf9decode'),
  nf5PktDecode: require('node-netflowv9/js/nf5/nf5decode'),
};

const CHUNK = 64 * 1024;
let lines = [];
let size = 0;

/** Writes the buffered lines; resolves at once unless stdout asks to wait (backpressure). */
function flush() {
  if (lines.length === 0) return null;
  const ok = process.stdout.write(lines.join(''));
  lines = [];
  size = 0;
  return ok ? null : new Promise((resolve) => process.stdout.once('drain', resolve));
}

async function main(file) {
  const buf = readFileSync(file);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian µs pcap`);
  let o = 24;
  while (o + 16 <= buf.length) {
    const capLen = buf.readUInt32LE(o + 8);
    const frame = o + 16;
    o = frame + capLen;
    // Ethernet II, IPv4, UDP
    if (buf.readUInt16BE(frame + 12) !== 0x0800) continue;
    const ip = frame + 14;
    if (buf[ip + 9] !== 17) continue;
    const udp = ip + (buf[ip] & 0x0f) * 4;
    const payload = buf.subarray(udp + 8, udp + buf.readUInt16BE(udp + 4));
    const rinfo = {
      address: `${buf[ip + 12]}.${buf[ip + 13]}.${buf[ip + 14]}.${buf[ip + 15]}`,
      port: buf.readUInt16BE(udp),
      size: payload.length,
    };
    const version = payload.readUInt16BE(0);
    const decoded =
      version === 9
        ? ctx.nf9PktDecode(payload, rinfo)
        : version === 5
          ? ctx.nf5PktDecode(payload, rinfo)
          : { flows: [] };
    for (const flow of decoded.flows) {
      const line = `${JSON.stringify(flow)}\n`;
      lines.push(line);
      size += line.length;
    }
    if (size >= CHUNK) {
      const wait = flush();
      if (wait) await wait;
    }
  }
  const wait = flush();
  if (wait) await wait;
}

main(process.argv[2]).catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
