/**
 * Compiles one data template into a specialised function that decodes a whole data set
 * straight into a reused FlowRecord, the way protobufjs and ajv generate code: offsets and
 * lengths become constants, each element's normalisation is chosen once, and the hot loop
 * does no lookups and allocates nothing but the strings it must produce. Which elements
 * fill which column, and how (first present, address, counter, time, …), is the schema's
 * `wire` of each column (schema/columns.ts); this file only turns those strategies into code.
 *
 * Safety: only numbers from a validated template (offsets, lengths, column choices) are
 * written into the generated source. Names of extra fields travel in an array argument,
 * never as code. The generated loop checks every bound before it reads.
 */
import {
  COLUMNS,
  type Column,
  type ColumnWire,
  type ElementRef,
  type FlowRecord,
} from '../schema/columns.ts';
import { lookupElement } from '../ie/index.ts';
import type { IeType } from '../ie/types.ts';
import type { HeaderContext } from './context.ts';
import { samplingRateFor } from './context.ts';
import { type FieldSpec, recordBounds, type TemplateDef, VARLEN } from './template.ts';
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

/**
 * Key under which the mapping knows an element: its IANA id, or `pen<PEN>.<id>` (the
 * schema's ElementRef). v9 field types from 32768 up are vendor-specific: no column's.
 */
function roleKey(version: number, f: FieldSpec): ElementRef | null {
  if (f.pen !== 0) return `pen${f.pen}.${f.id}`;
  if (version === 9 && f.id >= 32768) return null;
  return f.id;
}

/** Header fields, as the generated function's locals. */
const HEADER_LOCAL = { received: 'hRecv', exporter: 'hExp', domain: 'hDom', version: 'hVer' } as const;

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

  const byRole = new Map<ElementRef, Placed>();
  for (const f of placed) {
    const key = roleKey(version, f.spec);
    // a repeated element (outer then inner header, as Huawei and Cisco send): the last wins, as in pmacct
    if (key !== null) byRole.set(key, f);
  }
  const consumed = new Set<Placed>();
  const use = (key: ElementRef): Placed | undefined => {
    const f = byRole.get(key);
    if (f) consumed.add(f);
    return f;
  };
  const first = (keys: readonly ElementRef[]): Placed | undefined => {
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
  const ipPick = (keys: readonly ElementRef[]): string => {
    const fields = keys.map((key) => use(key)).filter((f) => f !== undefined);
    if (fields.length === 0) return "''";
    let expr = ipExpr(fields[fields.length - 1]);
    for (let i = fields.length - 2; i >= 0; i--)
      expr = `(${ipZeroExpr(fields[i])}?${expr}:${ipExpr(fields[i])})`;
    return expr;
  };
  const numOf = (keys: readonly ElementRef[]): string => {
    const f = first(keys);
    return f ? numExpr(f) : '0';
  };
  const macOf = (keys: readonly ElementRef[]): string => {
    const f = first(keys);
    return f ? (f.fixedLen === 6 ? `mac(b,${f.pos},6)` : '0') : '0';
  };
  const counter = (direct: readonly number[], [initiator, responder]: readonly [number, number]): string => {
    const f = first(direct);
    if (f) return uintExpr(f);
    const a = use(initiator);
    const r = use(responder);
    if (a && r) return `add(${uintExpr(a)},${uintExpr(r)})`;
    if (a) return uintExpr(a);
    if (r) return uintExpr(r);
    return '0';
  };
  // ICMP: type<<8|code elements, or separate type/code elements (the same choice for both columns)
  let icmpElements = false;
  const icmp = (w: Extract<ColumnWire, { from: 'icmp' }>): string => {
    const joint = w.typeCode.map((key) => use(key)).filter((f) => f !== undefined);
    if (joint.length > 0) {
      icmpElements = true;
      const parts = joint.map((f) => local(f, numExpr(f)));
      const v = parts.length === 2 ? `(${parts[0]}||${parts[1]})` : parts[0];
      return w.part === 'type' ? `(${v}>>8&255)` : `(${v}&255)`;
    }
    if (w.type.some((key) => byRole.has(key))) {
      icmpElements = true;
      return numOf(w.part === 'type' ? w.type : w.code);
    }
    return '0';
  };
  const ipVersion = (w: Extract<ColumnWire, { from: 'ip-version' }>): string => {
    if (w.elements.some((key) => byRole.has(key))) return numOf(w.elements);
    const src4 = byRole.has(w.src[0]);
    const src6 = byRole.has(w.src[1]);
    if (src4 && src6) return "(rec.src_addr.indexOf(':')>=0?6:rec.src_addr===''?0:4)";
    return src4 || byRole.has(w.dst[0]) ? '4' : src6 || byRole.has(w.dst[1]) ? '6' : '0';
  };
  // sampling: in the record, else from options data by sampler id (which stays in extra as well)
  const sampling = (w: Extract<ColumnWire, { from: 'sampling' }>): string => {
    let recordRate = '';
    const direct = first(w.elements);
    const [intervalKey, spaceKey] = w.interval;
    if (direct) recordRate = numExpr(direct);
    else if (byRole.has(intervalKey)) {
      const interval = local(use(intervalKey)!, numExpr(byRole.get(intervalKey)!));
      const space = byRole.has(spaceKey) ? numExpr(use(spaceKey)!) : '0';
      recordRate = `(${interval}>0?(${space}>0?Math.round((${interval}+${space})/${interval}):${interval}):0)`;
    }
    let sampler: Placed | undefined;
    for (const key of w.sampler) sampler ??= byRole.get(key);
    const samplerExpr = sampler ? numExpr(sampler) : '-1';
    return recordRate ? `(${recordRate}||rate(h.st,${samplerExpr}))` : `rate(h.st,${samplerExpr})`;
  };
  // VNI: the segment id's low 24 bits (its top octet is the segment type), else the tunnel key
  const segment = (w: Extract<ColumnWire, { from: 'segment' }>): string => {
    const seg = use(w.segment);
    const key = use(w.key);
    const segExpr = seg
      ? seg.fixedLen === 8
        ? `(b[${seg.pos}+5]<<16|b[${seg.pos}+6]<<8|b[${seg.pos}+7])`
        : `(num(b,${seg.pos},${seg.len})&16777215)`
      : '';
    const keyExpr = key ? numExpr(key) : '';
    return segExpr && keyExpr ? `(${segExpr}||${keyExpr})` : segExpr || keyExpr || '0';
  };
  const mapped = (w: Extract<ColumnWire, { from: 'first' }>): string => {
    if (!w.map || !w.elements.some((key) => byRole.has(key))) return numOf(w.elements);
    const cases = w.map.map(([from, to]) => `t===${from}?${to}:`).join('');
    return `((t)=>${cases}t)(${numOf(w.elements)})`;
  };
  const time = (w: Extract<ColumnWire, { from: 'time' }>): string => {
    const pick = (key: number): Placed | undefined => (byRole.has(key) ? use(key) : undefined);
    const fms = pick(w.ms);
    if (fms) return `Number(${uintExpr(fms)})`;
    const fs = pick(w.s);
    if (fs) return `(${numExpr(fs)}*1000)`;
    const ntp = pick(w.us) ?? pick(w.ns);
    if (ntp) return ntp.fixedLen === 8 ? `ntp(b,${ntp.pos})` : '0';
    const fd = pick(w.delta);
    if (fd) return `(hExpMs-Math.floor(${numExpr(fd)}/1000))`;
    const fu = pick(w.uptime);
    if (fu) {
      if (version === 10) {
        const fi = byRole.get(w.init); // read, not consumed: it stays under extra too
        const base = fi ? `(Number(${uintExpr(fi)})||h.st.initMs)` : 'h.st.initMs';
        // Without systemInitTimeMilliseconds the export time is the best estimate of the
        // end; the start keeps the flow's duration from the two uptime values.
        const end = w.uptimePair !== undefined ? byRole.get(w.uptimePair) : undefined;
        const fallback = end ? `(hExpMs-(${numExpr(end)}-${numExpr(fu)}))` : 'hExpMs';
        return `(${base}>0?${base}+${numExpr(fu)}:${fallback})`;
      }
      // v9: sysUpTime-relative, the difference taken as signed 32-bit (handles the wrap)
      return `(hExpMs-((hUp-${numExpr(fu)})|0))`;
    }
    return '0';
  };

  /** The expression for one column, as its schema entry says. */
  const columnExpr = (c: Column): string => {
    const w: ColumnWire = c.wire;
    switch (w.from) {
      case 'header':
        return HEADER_LOCAL[w.header];
      case 'inventory':
        return c.kind === 'string' ? "''" : '0';
      case 'first':
        if (c.kind === 'mac') return macOf(w.elements);
        return mapped(w);
      case 'address':
        return ipPick(w.elements);
      case 'counter':
        return counter(w.elements, w.pair);
      case 'time':
        return time(w);
      case 'icmp':
        return icmp(w);
      case 'ip-version':
        return ipVersion(w);
      case 'sampling':
        return sampling(w);
      case 'segment':
        return segment(w);
    }
  };

  const assigns: string[] = [];
  for (const c of COLUMNS) assigns.push(`rec.${c.name}=${columnExpr(c)};`);

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
  // src/dst port): moved to icmp_type/code; ICMP records always leave with ports 0. Only the
  // generic elements (protocolIdentifier 4, source/destinationTransportPort 7/11) carry it:
  // the TCP- and UDP-specific ports (180–183) never hold ICMP.
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
