/**
 * Collector addresses as users write them: udp://HOST:PORT, udp://[IPv6]:PORT. Host names
 * are resolved once at start (not per datagram), so a slow resolver never stalls export.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ExportTarget {
  /** as the user wrote it, for logs */
  url: string;
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parses one udp:// target; returns an error text (naming the problem) instead of throwing. */
export function parseTarget(
  url: string,
): { ok: true; value: Omit<ExportTarget, 'family'> } | { ok: false; error: string } {
  const m = /^udp:\/\/(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]]+)):(\d{1,5})\/?$/.exec(url.trim());
  if (!m) return { ok: false, error: `${url}: expected udp://HOST:PORT (IPv6: udp://[::1]:2055)` };
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, error: `${url}: port must be 1..65535` };
  if (m[1] !== undefined && isIP(host) !== 6)
    return { ok: false, error: `${url}: ${host} is not an IPv6 address` };
  return { ok: true, value: { url, host, port } };
}

/** Resolves a parsed target's host to an address (IP literals pass through unchanged). */
export async function resolveTarget(t: Omit<ExportTarget, 'family'>): Promise<ExportTarget> {
  const literal = isIP(t.host);
  if (literal) return { ...t, family: literal as 4 | 6 };
  const addr = await lookup(t.host);
  return { ...t, host: addr.address, family: addr.family as 4 | 6 };
}
