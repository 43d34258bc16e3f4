/** `udp://ADDR:PORT` and `tcp://ADDR:PORT` listen addresses (IPv6 in brackets). */
import { isIP } from 'node:net';

export interface ListenAddress {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
  family: 4 | 6;
}

export type ListenParse = { ok: true; value: ListenAddress } | { ok: false; reason: string };

export function parseListenUrl(text: string): ListenParse {
  const m = /^(udp|tcp):\/\/(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m)
    return { ok: false, reason: `${text}: expected udp://ADDR:PORT or tcp://ADDR:PORT ([v6] in brackets)` };
  const host = m[2] ?? m[3];
  const family = isIP(host);
  if (family === 0) return { ok: false, reason: `${text}: ${host} is not an IP address` };
  if (m[2] && family !== 6) return { ok: false, reason: `${text}: brackets are for IPv6 addresses` };
  const port = Number(m[4]);
  if (port > 65535) return { ok: false, reason: `${text}: port ${port} is out of range` };
  return { ok: true, value: { transport: m[1] as 'udp' | 'tcp', host, port, family: family as 4 | 6 } };
}

/** '::ffff:10.0.0.1' (what a dual-stack socket reports for IPv4) → '10.0.0.1' */
export function canonicalPeer(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
