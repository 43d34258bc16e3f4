/**
 * Webhook target checks (SSRF): a rule's owner chooses the URL, the dashboard makes the
 * request from inside the network, so by default it refuses addresses that reach what a
 * user should not: loopback, link-local, private (RFC 1918, CGNAT, ULA), unspecified,
 * multicast and reserved ranges, and cloud metadata services. `alerts.allowPrivateTargets`
 * lets operators (and the tests' loopback receiver) use internal receivers; the metadata
 * addresses stay refused even then. Names are resolved and EVERY address checked; the
 * request then connects to the checked address (no second lookup a DNS rebinding could
 * answer differently).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export const METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);

function v4(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

const V4_REFUSED: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

function classifyV4(a: string): string | null {
  const n = v4(a);
  for (const [net, bits, why] of V4_REFUSED) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === v4(net)) return why;
  }
  return null;
}

/** The 8 groups of an IPv6 address as numbers (the URL parser canonicalises dotted tails). */
function groups6(a: string): number[] {
  const canon = new URL(`http://[${a.split('%')[0]}]/`).hostname.slice(1, -1);
  const [head, rest] = canon.includes('::') ? canon.split('::') : [canon, undefined];
  const h = head ? head.split(':').map((x) => Number.parseInt(x, 16)) : [];
  const r = rest ? rest.split(':').map((x) => Number.parseInt(x, 16)) : [];
  const fill = rest === undefined ? [] : new Array(8 - h.length - r.length).fill(0);
  return [...h, ...fill, ...r];
}

function classifyV6(a: string): string | null {
  const g = groups6(a);
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  // IPv4-mapped, IPv4-compatible and NAT64 addresses reach the IPv4 address inside
  const embedded =
    (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) ||
    (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0));
  if (embedded) {
    const inner = `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
    return METADATA.has(inner) ? 'cloud metadata' : classifyV4(inner);
  }
  if ((g[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0] & 0xfe00) === 0xfc00) return 'private (unique local)';
  if ((g[0] & 0xff00) === 0xff00) return 'multicast';
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'documentation';
  return null;
}

/** Why an address is refused as a webhook target, or null when it is allowed. */
export function refusal(address: string, allowPrivate: boolean): string | null {
  const fam = isIP(address);
  if (fam === 0) return 'not an IP address';
  const norm =
    fam === 6
      ? groups6(address)
          .map((x) => x.toString(16))
          .join(':')
      : address;
  const meta = [...METADATA].some(
    (m) =>
      (isIP(m) === 6
        ? groups6(m)
            .map((x) => x.toString(16))
            .join(':')
        : m) === norm,
  );
  if (meta) return 'cloud metadata';
  const why = fam === 4 ? classifyV4(address) : classifyV6(address);
  if (why === 'cloud metadata') return why;
  return allowPrivate ? null : why;
}

export class TargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

/** Parses and checks a target URL; resolves the host and returns the address to connect to. */
export async function checkTarget(
  url: string,
  allowPrivate: boolean,
): Promise<{ url: URL; address: string; family: 4 | 6 }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TargetRefused(`${JSON.stringify(url.slice(0, 200))} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new TargetRefused(`only http:// and https:// targets, got ${u.protocol}`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addrs = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await lookup(host, { all: true }).catch(() => []);
  if (addrs.length === 0) throw new TargetRefused(`cannot resolve ${host}`);
  for (const a of addrs) {
    const why = refusal(a.address, allowPrivate);
    if (why)
      throw new TargetRefused(
        `${host} resolves to ${a.address}, a ${why} address: refused${why === 'cloud metadata' ? '' : ' (alerts.allowPrivateTargets allows it)'}`,
      );
  }
  return { url: u, address: addrs[0].address, family: addrs[0].family === 6 ? 6 : 4 };
}
