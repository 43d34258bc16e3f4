/**
 * The NetFlow v5 / v9 / IPFIX decoder: walks datagrams within their declared bounds,
 * learns templates keyed exactly by (exporter, version, domain, template id), compiles one
 * decoder per template shape, applies options data (sampling, system init time), and holds
 * data sets whose template has not arrived yet (bounded by count, bytes and age) until it
 * does. Every problem is counted by kind; nothing a datagram contains makes it throw.
 */
import { emptyFlow, type FlowRecord } from '../schema/columns.ts';
import {
  DECODE_ERROR_KINDS,
  type DecodeErrorKind,
  type DecoderOptions,
  type FlowDecoder,
  type PacketSummary,
  type TemplateInfo,
} from './api.ts';
import { type CompiledSetDecoder, compileTemplate } from './compile.ts';
import type { DomainState, HeaderContext } from './context.ts';
import { applyOptionsSet } from './options.ts';
import {
  type FieldSpec,
  parseIpfixTemplateSet,
  parseV9TemplateSet,
  recordBounds,
  type TemplateDef,
  templateSignature,
  VARLEN,
} from './template.ts';
import { V5_TEMPLATE } from './netflow-v5.ts';

const ERROR_KINDS = DECODE_ERROR_KINDS;

type StatKey = DecodeErrorKind | 'packets' | 'records' | 'templates' | 'held';

interface Template extends TemplateDef {
  readonly signature: string;
  readonly minLength: number;
  readonly decodeSet: CompiledSetDecoder | null;
  lastSeenMs: number;
}

/** What one exporter address holds in all its domains, for the per-exporter limits. */
interface ExporterUse {
  domains: number;
  templates: number;
  held: number;
}

interface Domain extends DomainState {
  readonly templates: Map<number, Template>;
  readonly use: ExporterUse;
}

interface HeldSet {
  readonly st: Domain;
  readonly templateId: number;
  readonly data: Buffer;
  readonly receivedMs: number;
  readonly exportMs: number;
  readonly uptime: number;
  alive: boolean;
}

const DEFAULTS = {
  maxTemplatesPerDomain: 1024,
  maxFieldsPerTemplate: 512,
  maxDomains: 10_000,
  maxHeldSets: 10_000,
  maxHeldAgeMs: 60_000,
  maxHeldBytes: 16 * 1024 * 1024,
  keepExtra: true,
};

function allZero(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function newContext(): HeaderContext {
  return {
    exporter: '',
    receivedMs: 0,
    version: 0,
    domain: 0,
    exportMs: 0,
    uptime: 0,
    st: null as unknown as DomainState,
    err: 0,
  };
}

export function createDecoder(options: DecoderOptions = {}): FlowDecoder {
  const cfg = { ...DEFAULTS, ...options };
  // the per-exporter and global bounds default to what the other limits already allow
  const maxDomainsPerExporter = options.maxDomainsPerExporter ?? cfg.maxDomains;
  const maxTemplates = options.maxTemplates ?? Number.POSITIVE_INFINITY;
  const maxTemplatesPerExporter = options.maxTemplatesPerExporter ?? maxTemplates;
  const maxHeldSetsPerExporter = options.maxHeldSetsPerExporter ?? Number.POSITIVE_INFINITY;
  const maxHeldSetsPerDomain = options.maxHeldSetsPerDomain ?? maxHeldSetsPerExporter;
  const uses = new Map<string, ExporterUse>();
  let templateTotal = 0;
  const compileOpts = { keepExtra: cfg.keepExtra };
  const limits = { maxFieldsPerTemplate: cfg.maxFieldsPerTemplate };
  const stats = {} as Record<StatKey, number>;
  for (const k of ERROR_KINDS) stats[k] = 0;
  stats.packets = 0;
  stats.records = 0;
  stats.templates = 0;
  stats.held = 0;

  const domains = new Map<string, Domain>();
  const rec: FlowRecord = emptyFlow();
  rec.extra = undefined;
  const h = newContext(); // the datagram being decoded
  const hh = newContext(); // held data being released
  const held: HeldSet[] = [];
  let heldHead = 0;
  let heldLive = 0;
  let heldBytes = 0;
  const v5Template = makeTemplate(5, V5_TEMPLATE, 0);

  let cur: PacketSummary | null = null;
  let emitCur: (rec: FlowRecord) => void = () => {};
  let deferred: number[] = []; // triples: template id, start, end

  function err(kind: DecodeErrorKind): void {
    stats[kind]++;
    if (cur) cur.errors++;
  }

  function makeTemplate(
    version: number,
    def: TemplateDef,
    nowMs: number,
    signature = templateSignature(version, def),
  ): Template {
    return {
      ...def,
      signature,
      minLength: recordBounds(def.fields).min,
      decodeSet: def.options ? null : compileTemplate(version, def, signature, compileOpts),
      lastSeenMs: nowMs,
    };
  }

  function domainKey(exporter: string, version: number, domain: number): string {
    return `${exporter}|${version}|${domain}`;
  }

  function ensureDomain(exporter: string, version: number, domain: number): Domain | null {
    const key = domainKey(exporter, version, domain);
    let st = domains.get(key);
    if (st) return st;
    if (domains.size >= cfg.maxDomains) return null;
    let use = uses.get(exporter);
    if (use && use.domains >= maxDomainsPerExporter) return null;
    if (!use) {
      use = { domains: 0, templates: 0, held: 0 };
      uses.set(exporter, use);
    }
    use.domains++;
    st = {
      key,
      exporter,
      version,
      domain,
      rates: new Map(),
      initMs: 0,
      heldCount: 0,
      templates: new Map(),
      use,
    };
    domains.set(key, st);
    return st;
  }

  function learn(st: Domain, def: TemplateDef, nowMs: number): void {
    const existing = st.templates.get(def.templateId);
    // refused before any string is built: an exporter over its limits keeps sending them
    if (
      !existing &&
      (st.templates.size >= cfg.maxTemplatesPerDomain ||
        st.use.templates >= maxTemplatesPerExporter ||
        templateTotal >= maxTemplates)
    ) {
      err('template-limit');
      return;
    }
    const signature = templateSignature(st.version, def);
    if (existing && existing.signature === signature) {
      existing.lastSeenMs = nowMs;
    } else {
      if (!existing) {
        st.use.templates++;
        templateTotal++;
      }
      // a new definition for a known id replaces the old one (RFC 3954 §7, RFC 7011 §8.4)
      st.templates.set(def.templateId, makeTemplate(st.version, def, nowMs, signature));
    }
    stats.templates++;
    if (cur) cur.templates++;
    if (st.heldCount > 0) releaseHeld(st, def.templateId);
  }

  /** Decodes one data set with its template; `ctx` is the header the set came with. */
  function decodeData(b: Buffer, s: number, e: number, t: Template, ctx: HeaderContext): void {
    if (e - s < t.minLength) {
      if (e - s > 3) err('record-short');
      return;
    }
    if (t.decodeSet === null) {
      const n = applyOptionsSet(b, s, e, t, t.minLength, ctx.version, ctx.st);
      if (n < 0) err('varlen-overrun');
      else if (cur && ctx === h) cur.dataRecords = (cur.dataRecords ?? 0) + n;
      return;
    }
    ctx.err = 0;
    const n = t.decodeSet(b, s, e, rec, ctx, emitCur);
    stats.records += n;
    if (cur) {
      cur.records += n;
      if (ctx === h) cur.dataRecords = (cur.dataRecords ?? 0) + n;
    }
    if (ctx.err !== 0) err('varlen-overrun');
  }

  function dropHead(kind: DecodeErrorKind): void {
    const x = held[heldHead++];
    if (x.alive) {
      x.alive = false;
      x.st.heldCount--;
      x.st.use.held--;
      heldLive--;
      heldBytes -= x.data.length;
      err(kind);
    }
  }

  function compactHeld(): void {
    if (heldHead > 1024 && heldHead * 2 > held.length) {
      held.splice(0, heldHead);
      heldHead = 0;
    }
    if (heldLive === 0) {
      held.length = 0;
      heldHead = 0;
    }
  }

  function hold(b: Buffer, s: number, e: number, templateId: number): void {
    const st = ensureDomain(h.exporter, h.version, h.domain);
    const size = e - s;
    if (st === null || cfg.maxHeldSets <= 0 || size > cfg.maxHeldBytes) {
      err('template-missing');
      return;
    }
    // one exporter (or domain) may not push everyone else's held data out
    if (st.heldCount >= maxHeldSetsPerDomain || st.use.held >= maxHeldSetsPerExporter) {
      err('held-overflow');
      return;
    }
    while (heldLive > 0 && (heldLive >= cfg.maxHeldSets || heldBytes + size > cfg.maxHeldBytes))
      dropHead('held-overflow');
    compactHeld();
    held.push({
      st,
      templateId,
      data: Buffer.from(b.subarray(s, e)), // the datagram buffer may be reused by the caller
      receivedMs: h.receivedMs,
      exportMs: h.exportMs,
      uptime: h.uptime,
      alive: true,
    });
    st.heldCount++;
    st.use.held++;
    heldLive++;
    heldBytes += size;
    stats.held++;
    if (cur) cur.held++;
  }

  function releaseHeld(st: Domain, templateId: number): void {
    const t = st.templates.get(templateId);
    if (!t) return;
    for (let i = heldHead; i < held.length; i++) {
      const x = held[i];
      if (!x.alive || x.st !== st || x.templateId !== templateId) continue;
      x.alive = false;
      st.heldCount--;
      st.use.held--;
      heldLive--;
      heldBytes -= x.data.length;
      hh.exporter = st.exporter;
      hh.version = st.version;
      hh.domain = st.domain;
      hh.st = st;
      hh.receivedMs = x.receivedMs;
      hh.exportMs = x.exportMs;
      hh.uptime = x.uptime;
      decodeData(x.data, 0, x.data.length, t, hh);
    }
    compactHeld();
  }

  /** Walks the sets of a v9 packet or an IPFIX message in [p, end). */
  /**
   * `limit` > `end` only for the last IPFIX message of a datagram: a set that straddles the
   * message length but ends inside the datagram is decoded (telegraf issue 14370: a message
   * length 2 octets short of its last set). Returns where the walk stopped.
   */
  function walkSets(b: Buffer, p: number, end: number, ipfix: boolean, limit = end): number {
    const tplSet = ipfix ? 2 : 0;
    const optSet = ipfix ? 3 : 1;
    deferred.length = 0;
    while (p + 4 <= end) {
      const id = b.readUInt16BE(p);
      const len = b.readUInt16BE(p + 2);
      if (len < 4 || len > end - p) {
        if (len >= 4 && len <= limit - p) {
          end = p + len;
        } else {
          // a zero-filled tail (Palo Alto pads one FlowSet out to a large packet) is not an error
          if (!allZero(b, p, end)) err('set-length');
          finishSets(b);
          return end;
        }
      }
      const s = p + 4;
      const e = p + len;
      if (id === tplSet || id === optSet) {
        const parsed = ipfix
          ? parseIpfixTemplateSet(b, s, e, id === optSet, limits)
          : parseV9TemplateSet(b, s, e, id === optSet, limits);
        for (const kind of parsed.errors) err(kind);
        if (parsed.templates.length > 0) {
          const st = ensureDomain(h.exporter, h.version, h.domain);
          if (st === null) err('template-limit');
          else {
            h.st = st;
            for (const def of parsed.templates) learn(st, def, h.receivedMs);
          }
        }
      } else if (id >= 256) {
        const t = (h.st as Domain | null)?.templates.get(id);
        if (t) decodeData(b, s, e, t, h);
        else deferred.push(id, s, e); // its template may follow later in this datagram
      }
      p = e;
    }
    if (p < end && !allZero(b, p, end)) err('trailing-bytes');
    finishSets(b);
    return Math.max(p, end);
  }

  function finishSets(b: Buffer): void {
    if (deferred.length === 0) return;
    const list = deferred;
    deferred = [];
    for (let i = 0; i < list.length; i += 3) {
      const t = (h.st as Domain | null)?.templates.get(list[i]);
      if (t) decodeData(b, list[i + 1], list[i + 2], t, h);
      else hold(b, list[i + 1], list[i + 2], list[i]);
    }
  }

  function setHeader(exporter: string, receivedMs: number, version: number, domain: number): void {
    h.exporter = exporter;
    h.receivedMs = receivedMs;
    h.version = version;
    h.domain = domain;
    h.st = domains.get(domainKey(exporter, version, domain)) ?? (null as unknown as DomainState);
  }

  function decodeV5(b: Buffer, exporter: string, receivedMs: number, sum: PacketSummary): void {
    if (b.length < 24) {
      err('short-header');
      return;
    }
    const count = b.readUInt16BE(2);
    const domain = (b[20] << 8) | b[21];
    sum.observationDomain = domain;
    sum.sequence = b.readUInt32BE(16);
    if (count === 0 || 24 + count * 48 > b.length) {
      err('bad-length');
      return;
    }
    const st = ensureDomain(exporter, 5, domain);
    if (st === null) {
      err('template-limit');
      return;
    }
    const interval = b.readUInt16BE(22) & 0x3fff;
    if (interval > 0) st.rates.set(0, interval);
    else st.rates.delete(0);
    setHeader(exporter, receivedMs, 5, domain);
    h.st = st;
    h.uptime = b.readUInt32BE(4);
    h.exportMs = b.readUInt32BE(8) * 1000 + Math.floor(b.readUInt32BE(12) / 1e6);
    const end = 24 + count * 48;
    decodeData(b, 24, end, v5Template, h);
    if (end < b.length && !allZero(b, end, b.length)) err('trailing-bytes');
  }

  function decodeV9(b: Buffer, exporter: string, receivedMs: number, sum: PacketSummary): void {
    if (b.length < 20) {
      err('short-header');
      return;
    }
    const domain = b.readUInt32BE(16);
    sum.observationDomain = domain;
    sum.sequence = b.readUInt32BE(12);
    setHeader(exporter, receivedMs, 9, domain);
    h.uptime = b.readUInt32BE(4);
    h.exportMs = b.readUInt32BE(8) * 1000;
    // the header Count is not trusted (exporters disagree on what it counts): sets are walked by length
    walkSets(b, 20, b.length, false);
  }

  function decodeIpfix(b: Buffer, exporter: string, receivedMs: number, sum: PacketSummary): void {
    let off = 0;
    while (off < b.length) {
      const remaining = b.length - off;
      if (remaining < 16 || b.readUInt16BE(off) !== 10) {
        if (off === 0) {
          err('short-header');
          return;
        }
        if (!allZero(b, off, b.length)) err('trailing-bytes'); // e.g. 2 octets of padding after a message
        return;
      }
      const len = b.readUInt16BE(off + 2);
      if (len < 16) {
        err('bad-length');
        return;
      }
      const domain = b.readUInt32BE(off + 12);
      if (off === 0) {
        sum.observationDomain = domain;
        sum.sequence = b.readUInt32BE(off + 8);
      }
      setHeader(exporter, receivedMs, 10, domain);
      h.uptime = 0;
      h.exportMs = b.readUInt32BE(off + 4) * 1000;
      let end = off + len;
      if (end > b.length) {
        err('bad-length'); // truncated message: decode the sets that are whole
        end = b.length;
      }
      const last = end + 16 > b.length;
      off = Math.max(off + len, walkSets(b, off + 16, end, true, last ? b.length : end));
    }
  }

  function expire(nowMs: number): void {
    while (heldHead < held.length) {
      const x = held[heldHead];
      if (x.alive && x.receivedMs + cfg.maxHeldAgeMs > nowMs) break;
      dropHead('held-expired');
    }
    compactHeld();
  }

  function templateInfo(st: Domain, t: Template): TemplateInfo {
    return {
      exporter: st.exporter,
      version: st.version,
      observationDomain: st.domain,
      templateId: t.templateId,
      options: t.options,
      fields: t.fields.map((f) => [f.pen, f.id, f.length]),
      scopeFieldCount: t.scopeFieldCount,
      lastSeenMs: t.lastSeenMs,
    };
  }

  return {
    decode(datagram, exporter, receivedMs, emit) {
      const sum: PacketSummary = {
        version: 0,
        observationDomain: 0,
        sequence: 0,
        records: 0,
        dataRecords: 0,
        templates: 0,
        held: 0,
        errors: 0,
      };
      cur = sum;
      emitCur = emit;
      stats.packets++;
      if (datagram.length < 4) err('short-header');
      else {
        const version = datagram.readUInt16BE(0);
        sum.version = version;
        if (version === 9) decodeV9(datagram, exporter, receivedMs, sum);
        else if (version === 10) decodeIpfix(datagram, exporter, receivedMs, sum);
        else if (version === 5) decodeV5(datagram, exporter, receivedMs, sum);
        else err('bad-version');
      }
      if (heldHead < held.length && held[heldHead].receivedMs + cfg.maxHeldAgeMs <= receivedMs)
        expire(receivedMs);
      cur = null;
      return sum;
    },
    stats,
    templates() {
      const out: TemplateInfo[] = [];
      for (const st of domains.values()) for (const t of st.templates.values()) out.push(templateInfo(st, t));
      return out;
    },
    templateCount(exporter, version, observationDomain) {
      return domains.get(domainKey(exporter, version, observationDomain))?.templates.size ?? 0;
    },
    forgetExporter(exporter) {
      const use = uses.get(exporter);
      if (!use) return;
      if (use.held > 0) {
        for (let i = heldHead; i < held.length; i++) {
          const x = held[i];
          if (!x.alive || x.st.use !== use) continue;
          x.alive = false;
          heldLive--;
          heldBytes -= x.data.length;
        }
        compactHeld();
      }
      for (const [key, st] of domains)
        if (st.use === use) {
          templateTotal -= st.templates.size;
          domains.delete(key);
        }
      uses.delete(exporter);
    },
    samplingRates() {
      const out: Record<string, number> = {};
      for (const st of domains.values())
        for (const [id, rate] of st.rates) out[`${st.exporter}/${st.domain}/${id}`] = rate;
      return out;
    },
    expire,
    exportState() {
      return {
        format: 'vxflow-decoder-state/1',
        templates: this.templates(),
        domains: [...domains.values()].map((st) => ({
          exporter: st.exporter,
          version: st.version,
          observationDomain: st.domain,
          initMs: st.initMs,
          rates: [...st.rates],
        })),
      };
    },
    importState(state) {
      const s = state as { format?: unknown; templates?: unknown; domains?: unknown } | null;
      if (!s || typeof s !== 'object' || s.format !== 'vxflow-decoder-state/1') {
        err('template-invalid');
        return;
      }
      const isU = (v: unknown, max: number) =>
        Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
      for (const d of Array.isArray(s.domains) ? s.domains : []) {
        const x = d as Record<string, unknown>;
        if (typeof x.exporter !== 'string' || ![5, 9, 10].includes(x.version as number)) continue;
        if (!isU(x.observationDomain, 0xffffffff)) continue;
        const st = ensureDomain(x.exporter, x.version as number, x.observationDomain as number);
        if (!st) continue;
        if (isU(x.initMs, Number.MAX_SAFE_INTEGER)) st.initMs = x.initMs as number;
        for (const r of Array.isArray(x.rates) ? x.rates : [])
          if (Array.isArray(r) && isU(r[0], Number.MAX_SAFE_INTEGER) && isU(r[1], 0xffffffff))
            st.rates.set(r[0], r[1]);
      }
      for (const item of Array.isArray(s.templates) ? s.templates : []) {
        const x = item as Record<string, unknown>;
        const ok =
          typeof x.exporter === 'string' &&
          (x.version === 9 || x.version === 10) &&
          isU(x.observationDomain, 0xffffffff) &&
          isU(x.templateId, 65535) &&
          (x.templateId as number) >= 256 &&
          typeof x.options === 'boolean' &&
          isU(x.scopeFieldCount, 65535) &&
          Array.isArray(x.fields) &&
          x.fields.length > 0 &&
          x.fields.length <= cfg.maxFieldsPerTemplate &&
          x.fields.every(
            (f) =>
              Array.isArray(f) &&
              f.length === 3 &&
              isU(f[0], 0xffffffff) &&
              isU(f[1], 65535) &&
              isU(f[2], VARLEN),
          );
        if (!ok) {
          err('template-invalid');
          continue;
        }
        const fields: FieldSpec[] = (x.fields as [number, number, number][]).map(([pen, id, length]) => ({
          pen,
          id,
          length,
        }));
        if (recordBounds(fields).min <= 0 || (x.scopeFieldCount as number) > fields.length) {
          err('template-invalid');
          continue;
        }
        const st = ensureDomain(x.exporter as string, x.version as number, x.observationDomain as number);
        if (!st) {
          err('template-limit');
          continue;
        }
        learn(
          st,
          {
            templateId: x.templateId as number,
            options: x.options as boolean,
            scopeFieldCount: x.scopeFieldCount as number,
            fields,
          },
          typeof x.lastSeenMs === 'number' ? x.lastSeenMs : 0,
        );
      }
    },
  };
}
