/** The kernel's counters of a UDP socket, for the benches that pace senders and report drops. */
import { readFileSync } from 'node:fs';

export interface UdpSocketState {
  bound: boolean;
  rxQueue: number;
  drops: number;
}

/** The kernel's view of the UDP socket bound to `port` (/proc/net/udp). */
export function udpSocketState(port: number): UdpSocketState {
  const out = { bound: false, rxQueue: 0, drops: 0 };
  let text = '';
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13) continue;
    if (Number.parseInt(cols[1].slice(cols[1].indexOf(':') + 1), 16) !== port) continue;
    out.bound = true;
    out.rxQueue += Number.parseInt(cols[4].slice(cols[4].indexOf(':') + 1), 16) || 0;
    out.drops += Number(cols[cols.length - 1]) || 0;
  }
  return out;
}
