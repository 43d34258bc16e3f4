/**
 * Parses `ovs-appctl dpctl/dump-flows [-m] [--names]` output (userspace and kernel datapaths
 * print the same format). One flow per line:
 *
 *   [ufid:UUID, ]KEY, packets:N, bytes:M, used:(never|S.SSSs)[, flags:SFPRU.][, dp:ovs],
 *   actions:ACTIONS[, dp-extra-info:…]
 *
 * KEY is a comma-separated list of `name(args)` where args are `k=v` pairs (values may carry a
 * `/mask`) or nested `name(…)` items, e.g.
 *   tunnel(tun_id=0x3e9,src=192.168.50.2,dst=192.168.50.1,ttl=64,tp_dst=4789,flags(key)),
 *   in_port(a1),eth(src=…,dst=…),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,…)
 *
 * Never throws: a line that is not a flow (headers like "flow-dump from pmd on cpu core: 0")
 * or cannot be understood yields null, and unknown key fields are kept in `key` untouched.
 */

/** A parsed `name(args)` item: named args (k=v) and bare items (nested calls or values). */
export interface DpItem {
  name: string;
  args: Map<string, string>;
  /** positional items: `flags(key)` → 'flags(key)', `0x0800` → '0x0800' */
  bare: string[];
  raw: string;
}

export interface DpFlow {
  /** ufid if shown, else the key text: identifies the datapath flow between polls */
  id: string;
  key: Map<string, DpItem>;
  packets: number;
  bytes: number;
  /** seconds since last use; null = never */
  usedS: number | null;
  /** TCP flags union as OVS prints them (e.g. 'SFP.'), '' if absent */
  tcpFlags: string;
  actions: DpItem[];
  /** actions text as printed */
  actionsText: string;
}

/** Splits at commas that are not inside parentheses. */
export function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 40) depth++;
    else if (ch === 41) depth = Math.max(0, depth - 1);
    else if (ch === 44 && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last) out.push(last);
  return out.filter((x) => x !== '');
}

/** Parses `name(a=1,b=2,c(x))` or a bare `name` into a DpItem. */
export function parseItem(text: string): DpItem {
  const open = text.indexOf('(');
  if (open < 0 || !text.endsWith(')')) return { name: text, args: new Map(), bare: [], raw: text };
  const name = text.slice(0, open);
  const inner = text.slice(open + 1, -1);
  const args = new Map<string, string>();
  const bare: string[] = [];
  for (const part of splitTopLevel(inner)) {
    const eq = part.indexOf('=');
    const paren = part.indexOf('(');
    if (eq > 0 && (paren < 0 || eq < paren)) args.set(part.slice(0, eq), part.slice(eq + 1));
    else bare.push(part);
  }
  return { name, args, bare, raw: text };
}

const STATS = /(?:^|,\s*)packets:(\d+),\s*bytes:(\d+),\s*used:(never|[\d.]+s)(?:,\s*flags:([A-Za-z.]*))?/;

export function parseDpctlLine(line: string): DpFlow | null {
  const m = STATS.exec(line);
  if (!m || m.index === undefined) return null;
  let head = line.slice(0, m.index).trim();
  let id = '';
  const ufid = /^ufid:([0-9a-fA-F-]+),\s*/.exec(head);
  if (ufid) {
    id = ufid[1];
    head = head.slice(ufid[0].length);
  }
  const tail = line.slice(m.index + m[0].length);
  const act = /(?:^|,\s*)actions:/.exec(tail);
  let actionsText = '';
  if (act) {
    actionsText = tail.slice(act.index + act[0].length);
    const extra = actionsText.search(/,\s*dp-extra-info:/);
    if (extra >= 0) actionsText = actionsText.slice(0, extra);
    actionsText = actionsText.trim();
  }
  const key = new Map<string, DpItem>();
  for (const part of splitTopLevel(head)) {
    const item = parseItem(part);
    if (!key.has(item.name)) key.set(item.name, item);
  }
  if (key.size === 0) return null;
  return {
    id: id || head,
    key,
    packets: Number(m[1]),
    bytes: Number(m[2]),
    usedS: m[3] === 'never' ? null : Number.parseFloat(m[3]),
    tcpFlags: m[4] ?? '',
    actions: actionsText && actionsText !== 'drop' ? splitTopLevel(actionsText).map(parseItem) : [],
    actionsText,
  };
}

/** Every flow line of a dump; other lines (headers, blanks, errors) are skipped. */
export function parseDpctlDump(text: string): DpFlow[] {
  const out: DpFlow[] = [];
  for (const line of text.split('\n')) {
    const f = parseDpctlLine(line);
    if (f) out.push(f);
  }
  return out;
}

/** `dpctl/show` port lines ("  port 4: a1") → name to port number. */
export function parseDpctlShowPorts(text: string): Map<string, number> {
  const ports = new Map<string, number>();
  for (const m of text.matchAll(/^\s*port (\d+): (\S+)/gm)) ports.set(m[2], Number(m[1]));
  return ports;
}
