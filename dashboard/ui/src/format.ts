/**
 * Numbers as a network engineer reads them: rates with SI prefixes (1.25 Gbps, 830 kpps),
 * volumes in bytes/packets/flows, times in the browser's zone. Pure functions (the browser
 * tests import them to compare what the page shows with what the API answered).
 */
export type Unit = 'bps' | 'pps' | 'fps';

const PREFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** 3 significant digits with an SI prefix: 1234567 → ['1.23', 'M'] */
export function si(v: number): [string, string] {
  if (!Number.isFinite(v)) return ['–', ''];
  const sign = v < 0 ? '-' : '';
  let a = Math.abs(v);
  let i = 0;
  while (a >= 999.5 && i < PREFIXES.length - 1) {
    a /= 1000;
    i++;
  }
  // below 1 (0.05 flows/s): two significant digits, no milli prefix
  const digits =
    a === 0
      ? '0'
      : a < 0.995
        ? String(Number(a.toPrecision(2)))
        : a >= 99.95
          ? a.toFixed(0)
          : a >= 9.995
            ? a.toFixed(1)
            : a.toFixed(2);
  return [sign + digits, PREFIXES[i]];
}

export const UNIT_LABEL: Record<Unit, string> = { bps: 'bps', pps: 'pps', fps: 'flows/s' };
export const UNIT_NAME: Record<Unit, string> = { bps: 'bits/s', pps: 'packets/s', fps: 'flows/s' };

/** a rate in the unit: 1.23 Mbps, 830 kpps, 12.5 flows/s */
export function rate(v: number, unit: Unit): string {
  const [n, p] = si(v);
  return unit === 'fps' ? `${n}${p ? ` ${p}` : ''} flows/s` : `${n} ${p}${UNIT_LABEL[unit]}`;
}

/** a counter sum: 1.23 GB, 4.5 M packets, 120 k flows */
export function volume(v: number, totalUnit: string): string {
  const [n, p] = si(v);
  if (totalUnit === 'bytes') return `${n} ${p}B`;
  return `${n}${p ? ` ${p}` : ''} ${totalUnit}`;
}

export const TOTAL_UNIT: Record<Unit, string> = { bps: 'bytes', pps: 'packets', fps: 'flows' };

export function percent(share: number): string {
  if (!Number.isFinite(share)) return '–';
  const p = share * 100;
  return `${p >= 9.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)} %`;
}

export function integer(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

const pad = (n: number) => String(n).padStart(2, '0');

/** a time axis label: 14:05, or 11-30 14:05 when the range spans days */
export function timeLabel(iso: string, spanSeconds: number, stepSeconds = 60): string {
  const d = new Date(iso);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}${stepSeconds < 60 ? `:${pad(d.getSeconds())}` : ''}`;
  if (spanSeconds <= 86_400) return hm;
  const md = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return spanSeconds > 7 * 86_400 ? md : `${md} ${hm}`;
}

/** 2026-11-30 14:05:09 in the browser's zone */
export function dateTime(v: string | number | Date): string {
  const d = v instanceof Date ? v : new Date(typeof v === 'number' ? v * 1000 : v);
  if (Number.isNaN(d.getTime())) return String(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 5 s ago, 3 min ago, 2 h ago, 4 d ago */
export function ago(v: string | null, now = Date.now()): string {
  if (!v) return 'never';
  const s = Math.max(0, Math.round((now - new Date(v).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** for <input type="datetime-local">: local time without seconds */
export function localInput(unix: number): string {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const PROTO_NAMES: Record<string, string> = {
  '1': 'ICMP',
  '2': 'IGMP',
  '4': 'IPIP',
  '6': 'TCP',
  '17': 'UDP',
  '41': 'IPv6',
  '47': 'GRE',
  '50': 'ESP',
  '51': 'AH',
  '58': 'ICMPv6',
  '89': 'OSPF',
  '103': 'PIM',
  '112': 'VRRP',
  '132': 'SCTP',
};

export function protoName(p: string | number): string {
  return PROTO_NAMES[String(p)] ?? `proto ${p}`;
}

const TUNNELS: Record<string, string> = {
  '0': 'none',
  '1': 'VXLAN',
  '2': 'GRE/NVGRE',
  '3': 'Geneve',
  '4': 'LISP',
  '5': 'STT',
};
export function tunnelName(t: string | number): string {
  return TUNNELS[String(t)] ?? String(t);
}

/** How a dimension's value reads in a table or legend. */
export function dimValue(dim: string, v: string): string {
  if (dim === 'proto') return protoName(v);
  if (dim === 'tunnel_type') return tunnelName(v);
  if (dim === 'tenant' && v === '') return 'unassigned';
  if (dim === 'traffic_class' && v === '') return 'unknown';
  if (v === '') return '—';
  return v;
}
