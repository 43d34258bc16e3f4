/**
 * Hostile traffic for the collector's hardening tests and the hostile benchmark: template
 * churn (one exporter redefining thousands of template ids over many observation domains)
 * and random bytes. Built with the independent packet builders of test/decode/packets.ts.
 */
import { createSocket, type Socket } from 'node:dgram';
import { v9Packet, v9TemplateSet } from '../decode/packets.ts';

/** A 9-field IPv4 template: 4 + 9 × 4 = 40 octets per template record. */
const CHURN_FIELDS: [number, number][] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [1, 4],
  [2, 4],
  [22, 4],
  [21, 4],
];

/**
 * v9 datagrams that together define `domains × perDomain` templates (ids 256…), 30 per
 * datagram (about 1.2 KB each), each datagram for one Source ID; `variant` changes a field
 * length so a second round redefines every id instead of refreshing it.
 */
export function templateChurn(domains: number, perDomain: number, variant = 0, firstDomain = 1): Buffer[] {
  const out: Buffer[] = [];
  const fields = CHURN_FIELDS.map(([t, l], i): [number, number] =>
    i === 0 && variant % 2 ? [t, 16] : [t, l],
  );
  for (let d = 0; d < domains; d++) {
    for (let first = 0; first < perDomain; first += 30) {
      const templates = [];
      for (let id = first; id < Math.min(perDomain, first + 30); id++)
        templates.push({ id: 256 + id, fields });
      out.push(
        v9Packet({ sourceId: firstDomain + d, sequence: out.length, uptime: 1000, unixSecs: 1_763_000_000 }, [
          v9TemplateSet(templates),
        ]),
      );
    }
  }
  return out;
}

/** Deterministic pseudo-random bytes (xorshift), so a failing run can be repeated. */
export function randomDatagrams(n: number, seed = 1, minLen = 4, maxLen = 1400): Buffer[] {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(minLen + (next() % (maxLen - minLen + 1)));
    for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
    out.push(b);
  }
  return out;
}

/** A UDP socket bound to one loopback source address (any of 127.0.0.0/8 works on Linux). */
export async function socketFrom(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address, port: 0 }, () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

export function send(s: Socket, port: number, b: Buffer, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => s.send(b, port, host, (e) => (e ? reject(e) : resolve())));
}

/** Sends every datagram from one source address, pausing now and then so the kernel keeps up. */
export async function sendFrom(
  address: string,
  port: number,
  datagrams: Buffer[],
  pauseEvery = 100,
): Promise<void> {
  const s = await socketFrom(address);
  try {
    for (let i = 0; i < datagrams.length; i++) {
      await send(s, port, datagrams[i]);
      if (i % pauseEvery === pauseEvery - 1) await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    s.close();
  }
}

/** The i-th of many distinct loopback source addresses: 127.1.0.1, 127.1.0.2, … (never .0 or .255) */
export const loopbackSource = (i: number) =>
  `127.${1 + Math.floor(i / (256 * 254))}.${Math.floor(i / 254) % 256}.${(i % 254) + 1}`;
