/** Puts addresses printed by other tools into the canonical text form FlowRecord uses. */
import { ipv6ToString } from '../../protocol/src/capture/udp.ts';
import { writeIPv6 } from '../../protocol/src/schema/ip.ts';

export function canonicalAddress(s: string): string {
  if (!s.includes(':')) return s;
  const b = Buffer.alloc(16);
  return writeIPv6(b, 0, s) ? ipv6ToString(b, 0) : s;
}
