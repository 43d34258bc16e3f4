/**
 * Compiles one data template into a specialised function that decodes a whole data set
 * straight into a reused FlowRecord, the way protobufjs and ajv generate code: offsets and
 * lengths become constants, each element's normalisation is chosen once, and the hot loop
 * does no lookups and allocates nothing but the strings it must produce.
 *
 * Safety: only numbers from a validated template (offsets, lengths, column choices) are
 * written into the generated source. Names of extra fields travel in an array argument,
 * never as code. The generated loop checks every bound before it reads.
 */
import { COLUMNS } from '../schema/columns.ts';
import { lookupElement, PEN_VMWARE } from '../ie/index.ts';
import type { IeType } from '../ie/types.ts';
import type { HeaderContext } from './context.ts';
import { samplingRateFor } from './context.ts';
import { type FieldSpec, recordBounds, type TemplateDef, VARLEN } from './template.ts';
import type { FlowRecord } from '../schema/columns.ts';
import {
  addCounters,
  ipv6ToString,
  readFloat,
  readHex,
  readIp,
  readMacNumber,
  readMacString,
  readNtpMs,
  readNumber,
  readSigned,
  readString,
  readU64,
  readUnsigned,
} from './values.ts';

/** Decodes the records of one data set in [o, end); returns how many it emitted. */
export type CompiledSetDecoder = (
  b: Buffer,
  o: number,
  end: number,
  rec: FlowRecord,
  h: HeaderContext,
  emit: (rec: FlowRecord) => void,
) => number;

function isoOf(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

const DEC: string[] = Array.from({ length: 256 }, (_, i) => String(i));
const DOT: string[] = DEC.map((d) => `${d}.`);

function zeros(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

const HELPERS = {
  zeros,
  DOT,
  DEC,
  ip6: ipv6ToString,
  ipa: readIp,
  u64: readU64,
  uns: readUnsigned,
  num: readNumber,
  sint: readSigned,
  flt: readFloat,
  hex: readHex,
  str: readString,
  mac: readMacNumber,
  macs: readMacString,
  ntp: readNtpMs,
  add: addCounters,
  rate: samplingRateFor,
  iso: isoOf,
};

/** Where a field's value sits, as source text: position and length expressions. */
interface Placed {
  readonly spec: FieldSpec;
  readonly type: IeType;
  readonly name: string;
  readonly pos: string;
  /** number as text for fixed fields, a local variable for variable-length ones */
  readonly len: string;
  readonly fixedLen: number; // -1 for variable length
}

function uintExpr(f: Placed): string {
  const P = f.pos;
  if (f.fixedLen < 0) return `uns(b,${P},${f.len})`;
  switch (f.fixedLen) {
    case 0:
      return '0';
    case 1:
      return `b[${P}]`;
    case 2:
      return `(b[${P}]<<8|b[${P}+1])`;
    case 3:
      return `(b[${P}]<<16|b[${P}+1]<<8|b[${P}+2])`;
    case 4:
      return `(b[${P}]*16777216+(b[${P}+1]<<16|b[${P}+2]<<8|b[${P}+3]))`;
    case 8:
      return `u64(b,${P})`;
    default:
      return `uns(b,${P},${f.len})`;
  }
}

/** For u8/u16/u32 columns: always a number. */
function numExpr(f: Placed): string {
  if (f.fixedLen >= 0 && f.fixedLen <= 4) return uintExpr(f);
  return `num(b,${f.pos},${f.len})`;
}

function ipExpr(f: Placed): string {
  const P = f.pos;
  // DOT[i] is `${i}.` and DEC[i] is `${i}`: no number-to-string conversion per octet
  if (f.fixedLen === 4) return `(DOT[b[${P}]]+DOT[b[${P}+1]]+DOT[b[${P}+2]]+DEC[b[${P}+3]])`;
  if (f.fixedLen === 16) return `ip6(b,${P})`;
  if (f.fixedLen < 0) return `ipa(b,${P},${f.len})`;
  return "''";
}

/** true when an address field holds all zeros (an unused IPv4 slot next to an IPv6 one) */
function ipZeroExpr(f: Placed): string {
  const P = f.pos;
  if (f.fixedLen === 4) return `(b[${P}]|b[${P}+1]|b[${P}+2]|b[${P}+3])===0`;
  if (f.fixedLen === 16)
    return `b.readUInt32BE(${P})===0&&b.readUInt32BE(${P}+4)===0&&b.readUInt32BE(${P}+8)===0&&b.readUInt32BE(${P}+12)===0`;
  // any other length (a template may declare an address of 1 or 7 octets): only its own bytes
  return `zeros(b,${P},${P}+${f.fixedLen >= 0 ? f.fixedLen : f.len})`;
}

function extraExpr(f: Placed): string {
  const P = f.pos;
  const L = f.len;
  const fixed = f.fixedLen;
  switch (f.type) {
    case 'unsigned':
      if (fixed >= 0) return fixed <= 8 ? uintExpr(f) : `hex(b,${P},${L})`;
      return `(${L}<=8?uns(b,${P},${L}):hex(b,${P},${L}))`;
    case 'signed':
      return `sint(b,${P},${L})`;
    case 'float':
      return `flt(b,${P},${L})`;
    case 'boolean':
      return fixed === 1 ? `(b[${P}]===1)` : `hex(b,${P},${L})`;
    case 'mac':
      return `macs(b,${P},${L})`;
    case 'ipv4':
    case 'ipv6':
      return fixed === 4 || fixed === 16
        ? ipExpr(f)
        : `(${L}===4||${L}===16?ipa(b,${P},${L}):hex(b,${P},${L}))`;
    case 'string':
      return `str(b,${P},${L})`;
    case 'seconds':
      return `iso(num(b,${P},${L})*1000)`;
    case 'milliseconds':
      return `iso(Number(uns(b,${P},${L})))`;
    case 'microseconds':
    case 'nanoseconds':
      return fixed === 8 ? `iso(ntp(b,${P}))` : `hex(b,${P},${L})`;
    default:
      return `hex(b,${P},${L})`;
  }
}

/** Key under which the normaliser knows an element: its IANA id, or 'v<id>' for VMware's. */
function roleKey(version: number, f: FieldSpec): number | string | null {
  if (f.pen === PEN_VMWARE) return `v${f.id}`;
  if (f.pen !== 0) return null;
  if (version === 9 && f.id >= 32768) return null;
  return f.id;
}

export interface CompileOptions {
  keepExtra: boolean;
}

/**
 * Builds the source of the set decoder. Exported for tests that inspect what was generated.
 */
export function generateSource(
  version: number,
  t: TemplateDef,
  opts: CompileOptions,
): { source: string; names: string[] } {
  const bounds = recordBounds(t.fields);
  const body: string[] = [];
  const placed: Placed[] = [];
  let base = 'o';
  let k = 0;
  // smallest number of octets the fields after index i can take
  const restMin: number[] = [];
  let acc = 0;
  for (let i = t.fields.length - 1; i >= 0; i--) {
    restMin[i] = acc;
    const len = t.fields[i].length;
    acc += len === VARLEN ? 1 : len;
  }
  t.fields.forEach((spec, i) => {
    const info = lookupElement(spec.pen, spec.id, version);
    if (spec.length === VARLEN) {
      body.push(
        `q=${base}+${k};l${i}=b[q];q++;`,
        `if(l${i}===255){if(q+2>end){h.err=1;return n;}l${i}=b[q]<<8|b[q+1];q+=2;}`,
        `if(q+l${i}+${restMin[i]}>end){h.err=1;return n;}s${i}=q;e${i}=q+l${i};`,
      );
      placed.push({ spec, type: info.type, name: info.name, pos: `s${i}`, len: `l${i}`, fixedLen: -1 });
      // fields after a variable-length one are placed from its end (its own variable: all
      // values are read after the whole record has been walked)
      base = `e${i}`;
      k = 0;
    } else {
      placed.push({
        spec,
        type: info.type,
        name: info.name,
        pos: `${base}+${k}`,
        len: String(spec.length),
        fixedLen: spec.length,
      });
      k += spec.length;
    }
  });
  const nextRecord = `${base}+${k}`;

  const byRole = new Map<number | string, Placed>();
  for (const f of placed) {
    const key = roleKey(version, f.spec);
    // a repeated element (outer then inner header, as Huawei and Cisco send): the last wins, as in pmacct
    if (key !== null) byRole.set(key, f);
  }
  const consumed = new Set<Placed>();
  const use = (key: number | string): Placed | undefined => {
    const f = byRole.get(key);
    if (f) consumed.add(f);
    return f;
  };
  const first = (...keys: (number | string)[]): Placed | undefined => {
    for (const key of keys) if (byRole.has(key)) return use(key);
    return undefined;
  };
  const locals: string[] = [];
  const local = (f: Placed, expr: string): string => {
    const name = `f${placed.indexOf(f)}`;
    if (!locals.includes(name)) {
      locals.push(name);
      body.push(`var ${name}=${expr};`);
    }
    return name;
  };

  // addresses: an IPv4 and an IPv6 element may both be present, one of them unused (zeros)
  const ipPick = (keys: number[] | string[]): string => {
    const fields = (keys as (number | string)[]).map((key) => use(key)).filter((f) => f !== undefined);
    if (fields.length === 0) return "''";
    let expr = ipExpr(fields[fields.length - 1]);
    for (let i = fields.length - 2; i >= 0; i--)
      expr = `(${ipZeroExpr(fields[i])}?${expr}:${ipExpr(fields[i])})`;
    return expr;
  };
  const numOf = (...keys: (number | string)[]): string => {
    const f = first(...keys);
    return f ? numExpr(f) : '0';
  };
  const counter = (direct: number[], initiator: number, responder: number): string => {
    const f = first(...direct);
    if (f) return uintExpr(f);
    const a = use(initiator);
    const r = use(responder);
    if (a && r) return `add(${uintExpr(a)},${uintExpr(r)})`;
    if (a) return uintExpr(a);
    if (r) return uintExpr(r);
    return '0';
  };

  const cols: Record<string, string> = {};
  cols.time_received = 'hRecv';
  cols.exporter = 'hExp';
  cols.observation_domain = 'hDom';
  cols.version = 'hVer';
  const src4 = byRole.has(8);
  const src6 = byRole.has(27);
  cols.src_addr = ipPick([8, 27]);
  cols.dst_addr = ipPick([12, 28]);
  cols.src_port = numOf(7, 180, 182);
  cols.dst_port = numOf(11, 181, 183);
  cols.proto = numOf(4);
  cols.tcp_flags = numOf(6);
  cols.tos = numOf(5);
  // ICMP: type<<8|code elements (32, 139) or separate type/code elements (176–179)
  const tc4 = use(32);
  const tc6 = use(139);
  let icmpElements = false;
  if (tc4 || tc6) {
    icmpElements = true;
    const parts = [tc4, tc6].filter((f) => f !== undefined).map((f) => local(f, numExpr(f)));
    const v = parts.length === 2 ? `(${parts[0]}||${parts[1]})` : parts[0];
    cols.icmp_type = `(${v}>>8&255)`;
    cols.icmp_code = `(${v}&255)`;
  } else if (byRole.has(176) || byRole.has(178)) {
    icmpElements = true;
    cols.icmp_type = numOf(176, 178);
    cols.icmp_code = numOf(177, 179);
  } else {
    cols.icmp_type = '0';
    cols.icmp_code = '0';
  }
  if (byRole.has(60)) cols.ip_version = numOf(60);
  else if (src4 && src6) cols.ip_version = "(rec.src_addr.indexOf(':')>=0?6:rec.src_addr===''?0:4)";
  else cols.ip_version = src4 || byRole.has(12) ? '4' : src6 || byRole.has(28) ? '6' : '0';
  cols.bytes = counter([1, 23, 85], 231, 232);
  cols.packets = counter([2, 24, 86], 298, 299);
  // sampling: in the record (34, 50, 305/306), else from options data by sampler id (48, 302)
  let recordRate = '';
  const r34 = first(34, 50);
  if (r34) recordRate = numExpr(r34);
  else if (byRole.has(305)) {
    const interval = local(use(305)!, numExpr(byRole.get(305)!));
    const space = byRole.has(306) ? numExpr(use(306)!) : '0';
    recordRate = `(${interval}>0?(${space}>0?Math.round((${interval}+${space})/${interval}):${interval}):0)`;
  }
  const sampler = byRole.get(48) ?? byRole.get(302);
  const samplerExpr = sampler ? numExpr(sampler) : '-1'; // kept in extra as well
  cols.sampling_rate = recordRate
    ? `(${recordRate}||rate(h.st,${samplerExpr}))`
    : `rate(h.st,${samplerExpr})`;
  cols.in_if = numOf(10, 252);
  cols.out_if = numOf(14, 253);
  cols.direction = numOf(61);
  cols.vlan = numOf(58, 243, 59, 254);
  const macOf = (...keys: number[]): string => {
    const f = first(...keys);
    return f ? (f.fixedLen === 6 ? `mac(b,${f.pos},6)` : '0') : '0';
  };
  cols.src_mac = macOf(56, 81);
  cols.dst_mac = macOf(80, 57);
  cols.next_hop = ipPick([15, 62, 18, 63]);
  cols.src_as = numOf(16);
  cols.dst_as = numOf(17);
  cols.src_mask = numOf(9, 29);
  cols.dst_mask = numOf(13, 30);
  cols.flow_end_reason = numOf(136);
  // VNI: IE 351 (top octet = segment type, low 24 bits = VNI) or VMware tunnelKey (892)
  const seg = use(351);
  const key = use('v892');
  const segExpr = seg
    ? seg.fixedLen === 8
      ? `(b[${seg.pos}+5]<<16|b[${seg.pos}+6]<<8|b[${seg.pos}+7])`
      : `(num(b,${seg.pos},${seg.len})&16777215)`
    : '';
  const keyExpr = key ? numExpr(key) : '';
  cols.vni = segExpr && keyExpr ? `(${segExpr}||${keyExpr})` : segExpr || keyExpr || '0';
  // OVS tunnelType codes (VXLAN 1, GRE 2, LISP 3, STT 4, Geneve 7) to the canonical ones
  if (byRole.has('v891')) {
    const tt = numOf('v891');
    cols.tunnel_type = `((t)=>t===7?3:t===3?4:t===4?5:t)(${tt})`;
  } else cols.tunnel_type = numOf('v891');
  cols.tunnel_src = ipPick(['v893']);
  cols.tunnel_dst = ipPick(['v894']);

  // times
  const init = byRole.get(160);
  const timeOf = (keys: [number, number, number, number, number, number]): string => {
    const [ms, s, us, ns, delta, uptime] = keys;
    const pick = (key: number): Placed | undefined => (byRole.has(key) ? use(key) : undefined);
    const fms = pick(ms);
    if (fms) return `Number(${uintExpr(fms)})`;
    const fs = pick(s);
    if (fs) return `(${numExpr(fs)}*1000)`;
    const ntp = pick(us) ?? pick(ns);
    if (ntp) return ntp.fixedLen === 8 ? `ntp(b,${ntp.pos})` : '0';
    const fd = pick(delta);
    if (fd) return `(hExpMs-Math.floor(${numExpr(fd)}/1000))`;
    const fu = pick(uptime);
    if (fu) {
      if (version === 10) {
        const base = init ? `(Number(${uintExpr(init)})||h.st.initMs)` : 'h.st.initMs';
        // Without systemInitTimeMilliseconds the export time is the best estimate of the
        // end; the start keeps the flow's duration from the two uptime values.
        const end = uptime === 22 ? byRole.get(21) : undefined;
        const fallback = end ? `(hExpMs-(${numExpr(end)}-${numExpr(fu)}))` : 'hExpMs';
        return `(${base}>0?${base}+${numExpr(fu)}:${fallback})`;
      }
      // v9: sysUpTime-relative, the difference taken as signed 32-bit (handles the wrap)
      return `(hExpMs-((hUp-${numExpr(fu)})|0))`;
    }
    return '0';
  };
  cols.flow_start = timeOf([152, 150, 154, 156, 158, 22]);
  cols.flow_end = timeOf([153, 151, 155, 157, 159, 21]);

  const assigns: string[] = [];
  for (const c of COLUMNS) {
    const expr = cols[c.name] ?? (c.kind === 'ip' || c.kind === 'string' ? "''" : '0');
    assigns.push(`rec.${c.name}=${expr};`);
  }

  const names: string[] = [];
  if (opts.keepExtra) {
    // paddingOctets (210) carry nothing; v5 records are decoded through a template that uses it
    const extras = placed.filter((f) => !consumed.has(f) && !(f.spec.pen === 0 && f.spec.id === 210));
    if (extras.length > 0) {
      const parts = extras.map((f) => {
        names.push(f.name);
        return `x[N[${names.length - 1}]]=${extraExpr(f)};`;
      });
      assigns.push(`var x={};${parts.join('')}rec.extra=x;`);
    } else assigns.push('rec.extra=undefined;');
  } else assigns.push('rec.extra=undefined;');

  // ICMP carried in the ports (v5 style type<<8|code in dst port, or fprobe's type/code in
  // src/dst port): moved to icmp_type/code; ICMP records always leave with ports 0.
  const hasPorts = byRole.has(7) || byRole.has(11);
  if (byRole.has(4) && hasPorts) {
    assigns.push(
      'if(rec.proto===1||rec.proto===58){',
      // ICMP elements, when the template has them, are the truth even at 0/0 (echo reply);
      // the ports then hold other things (the ASA puts the echo identifier there)
      icmpElements
        ? ''
        : '{if(rec.src_port===0){rec.icmp_type=rec.dst_port>>8;rec.icmp_code=rec.dst_port&255;}' +
            'else{rec.icmp_type=rec.src_port&255;rec.icmp_code=rec.dst_port&255;}}',
      'rec.src_port=0;rec.dst_port=0;}',
    );
  }

  const varDecls = t.fields.map((f, i) => (f.length === VARLEN ? `,l${i}=0,s${i}=0,e${i}=0` : '')).join('');
  const source = [
    '"use strict";',
    'var zeros=H.zeros,DOT=H.DOT,DEC=H.DEC,ip6=H.ip6,ipa=H.ipa,u64=H.u64,uns=H.uns,num=H.num,sint=H.sint,flt=H.flt,hex=H.hex,str=H.str,mac=H.mac,macs=H.macs,ntp=H.ntp,add=H.add,rate=H.rate,iso=H.iso;',
    'return function decodeSet(b,o,end,rec,h,emit){',
    `var n=0,q=0${varDecls};`,
    'var hRecv=h.receivedMs,hExp=h.exporter,hDom=h.domain,hVer=h.version,hExpMs=h.exportMs,hUp=h.uptime;',
    `var setRate=${sampler ? '0' : 'rate(h.st,-1)'};`,
    `while(o+${bounds.min}<=end){`,
    // records shorter than the 4-octet alignment cannot be told from padding (RFC 3954
    // erratum 2096): a zero tail of fewer than 4 octets is padding
    bounds.min < 4 ? 'if(end-o<4&&zeros(b,o,end))break;' : '',
    ...body,
    ...assigns,
    `o=${nextRecord};n++;emit(rec);`,
    '}',
    'return n;};',
  ].join('\n');
  return { source, names };
}

/** Compiled decoders shared by every template of the same shape (bounded). */
const cache = new Map<string, CompiledSetDecoder>();
const CACHE_MAX = 4096;

export function compileTemplate(
  version: number,
  t: TemplateDef,
  signature: string,
  opts: CompileOptions,
): CompiledSetDecoder {
  const key = `${opts.keepExtra ? 'x' : '-'}${signature}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const { source, names } = generateSource(version, t, opts);
  const factory = new Function('H', 'N', source) as (h: typeof HELPERS, n: string[]) => CompiledSetDecoder;
  const fn = factory(HELPERS, names);
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(key, fn);
  return fn;
}
