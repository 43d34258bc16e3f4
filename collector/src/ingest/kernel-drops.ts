/**
 * Datagrams the kernel dropped on our UDP sockets (full receive buffer): the `drops`
 * column of /proc/net/udp and /proc/net/udp6, for the rows whose local port is ours.
 * Linux only; elsewhere it reports nothing.
 */
import { readFileSync } from 'node:fs';

export function readUdpDrops(
  ports: readonly number[],
  files = ['/proc/net/udp', '/proc/net/udp6'],
): Map<number, number> {
  const wanted = new Set(ports);
  const out = new Map<number, number>();
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const cols = lines[i].trim().split(/\s+/);
      if (cols.length < 13) continue;
      const local = cols[1];
      const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (!wanted.has(port)) continue;
      const drops = Number(cols[cols.length - 1]);
      if (Number.isFinite(drops)) out.set(port, (out.get(port) ?? 0) + drops);
    }
  }
  return out;
}
