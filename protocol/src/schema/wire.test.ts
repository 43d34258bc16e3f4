/**
 * Decoder, encoder and schema agree for every column: the schema (columns.ts, each column's
 * `wire`) says which NetFlow v9 / IPFIX elements fill a column; the decoder must fill that
 * column from each of them and from nothing else, and every element the exporter's
 * templates send for a column must be one the schema reads it from.
 */
import { describe, expect, it } from 'vitest';
import {
  ipfixMessage,
  ipfixTemplateSet,
  type IpfixField,
  set,
  uint,
  v9Packet,
  v9TemplateSet,
} from '../../../test/decode/packets.ts';
import { createDecoder } from '../decode/index.ts';
import { ipfixTemplates, netflowV9Templates } from '../encode/templates.ts';
import { lookupElement } from '../ie/index.ts';
import { COLUMNS, type ColumnName, type ElementRef, type FlowRecord } from './columns.ts';

const PADDING = 210; // paddingOctets: decoded into nothing, not even extra
const keyOf = (pen: number, id: number): ElementRef => (pen ? `pen${pen}.${id}` : id);
const parse = (e: ElementRef): [pen: number, id: number] => {
  if (typeof e === 'number') return [0, e];
  const m = /^pen(\d+)\.(\d+)$/.exec(e);
  if (!m) throw new Error(`bad element ${e}`);
  return [Number(m[1]), Number(m[2])];
};

/** A field of the element's natural size and a non-zero value (layer2SegmentId: type 1, VNI 5). */
function fieldOf(e: ElementRef): { field: IpfixField; value: Buffer } {
  const [pen, id] = parse(e);
  const type = lookupElement(pen, id).type;
  let len = 4;
  if (type === 'ipv6') len = 16;
  else if (type === 'mac') len = 6;
  else if (type === 'milliseconds' || type === 'microseconds' || type === 'nanoseconds') len = 8;
  else if (id === 351 && pen === 0) len = 8;
  const value = id === 351 && pen === 0 ? Buffer.from([1, 0, 0, 0, 0, 0, 0, 5]) : uint(0x05030201, len);
  if (len === 16) value[0] = 0x20; // 2005:: rather than an IPv4-mapped address
  return { field: [pen, id, len], value };
}

const copy = (r: FlowRecord): FlowRecord => ({ ...r, extra: r.extra ? { ...r.extra } : undefined });

/**
 * Decodes one record of a template carrying `elements` after one padding field; `value`
 * (by position) replaces the elements' usual values.
 */
function decodeOne(
  version: 9 | 10,
  elements: readonly ElementRef[],
  value?: (k: number) => number,
): FlowRecord {
  const fields = [
    fieldOf(PADDING),
    ...elements.map((e, k) => {
      const f = fieldOf(e);
      return value ? { field: f.field, value: uint(value(k), f.field[2]) } : f;
    }),
  ];
  const record = Buffer.concat(fields.map((f) => f.value));
  const packet =
    version === 10
      ? ipfixMessage({ domain: 1, sequence: 0, exportSecs: 1_763_000_000 }, [
          ipfixTemplateSet([{ id: 300, fields: fields.map((f) => f.field) }]),
          set(300, record),
        ])
      : v9Packet({ sourceId: 1, sequence: 0, uptime: 3_600_000, unixSecs: 1_763_000_000 }, [
          v9TemplateSet([{ id: 300, fields: fields.map((f) => [f.field[1], f.field[2]]) }]),
          set(300, record),
        ]);
  const out: FlowRecord[] = [];
  const summary = createDecoder().decode(packet, '192.0.2.1', 1_763_000_000_000, (r) => out.push(copy(r)));
  expect(summary.errors).toBe(0);
  expect(out).toHaveLength(1);
  return out[0];
}

const changed = (a: FlowRecord, b: FlowRecord): ColumnName[] =>
  COLUMNS.filter((c) => a[c.name] !== b[c.name]).map((c) => c.name);

/** Elements read only together with another (the code of a type/code pair, PSAMP's space). */
const COMPANION: Partial<Record<number, number>> = { 177: 176, 179: 178, 306: 305 };
/** Address elements from whose presence the IP version is inferred (when no element carries it). */
const ipVersionFrom = (e: ElementRef): boolean =>
  COLUMNS.some((c) => c.wire.from === 'ip-version' && [...c.wire.src, ...c.wire.dst].includes(e as number));

const listed = new Set<ElementRef>(COLUMNS.flatMap((c) => c.elements));

describe('decoder and schema agree, element by element', () => {
  for (const version of [10, 9] as const) {
    const base = decodeOne(version, []);
    it(`v${version}: each column is filled from each of its elements`, () => {
      for (const c of COLUMNS) {
        for (const e of c.elements) {
          if (version === 9 && typeof e !== 'number') continue;
          const companion = typeof e === 'number' ? COMPANION[e] : undefined;
          const rec = decodeOne(version, companion === undefined ? [e] : [companion, e]);
          const name = lookupElement(...parse(e), version).name;
          expect(changed(base, rec), `${c.name} ← ${e}`).toContain(c.name);
          expect(Object.keys(rec.extra ?? {}), `${c.name} ← ${e}`).not.toContain(name);
          // and nothing else, but what the schema says the element also fills
          const also = COLUMNS.filter(
            (o) => o.elements.includes(e) || (companion !== undefined && o.elements.includes(companion)),
          ).map((o) => o.name);
          if (ipVersionFrom(e)) also.push('ip_version');
          for (const n of changed(base, rec)) expect(also, `${e} changed ${n}`).toContain(n);
        }
      }
    });

    it(`v${version}: the first element present wins, in the schema's order`, () => {
      for (const c of COLUMNS) {
        if (c.wire.from !== 'first' && c.wire.from !== 'counter') continue;
        const elements = c.wire.elements.filter((e) => version === 10 || typeof e === 'number');
        if (elements.length < 2) continue;
        for (let i = 0; i < elements.length; i++) {
          // the winner carries 1, every later element 2: the column must be 1
          const fields = elements.slice(i);
          const rec = decodeOne(version, fields, (k) => (k === 0 ? 1 : 2));
          expect(Number(rec[c.name]), `${c.name}: ${fields.join(',')}`).toBe(1);
        }
      }
    });

    it(`v${version}: no element the schema does not list fills a column`, () => {
      const checked: number[] = [];
      for (let id = 1; id < 1024; id++) {
        const info = lookupElement(0, id, version);
        if (!info.known || id === PADDING || listed.has(id)) continue;
        const rec = decodeOne(version, [id]);
        expect(changed(base, rec), `${id} ${info.name}`).toEqual([]);
        expect(Object.keys(rec.extra ?? {}), `${id} ${info.name}`).toContain(info.name);
        checked.push(id);
      }
      expect(checked.length).toBeGreaterThan(300);
      // the elements a strategy only consults (sampler id, system init time) are among them
      for (const c of COLUMNS) {
        if (c.wire.from === 'sampling') for (const e of c.wire.sampler) expect(checked).toContain(e);
        if (c.wire.from === 'time') expect(checked).toContain(c.wire.init);
      }
    });
  }
});

describe('encoder and schema agree', () => {
  const sets = { v9: netflowV9Templates(0), ipfix: ipfixTemplates() };
  for (const [name, ts] of Object.entries(sets)) {
    it(`${name}: every element sent for a column is one the schema reads it from`, () => {
      for (const t of ts.templates) {
        for (const f of t.fields) {
          const e = keyOf(f.pen, f.id);
          for (const col of f.columns) {
            const def = COLUMNS.find((c) => c.name === col);
            expect(def?.elements, `template ${t.id}: ${e} → ${col}`).toContain(e);
          }
          // an element that carries no column is one no column is read from
          if (f.columns.length === 0) expect(listed.has(e), `template ${t.id}: ${e}`).toBe(false);
        }
      }
    });
  }

  it('the exporter sends every column it can know (the rest: header, inventory, options data, routing)', () => {
    const sent = new Set(sets.ipfix.templates.flatMap((t) => t.fields.flatMap((f) => f.columns)));
    const notSent = COLUMNS.filter((c) => c.elements.length > 0 && !sent.has(c.name)).map((c) => c.name);
    // sampling goes out as options data (encode/sets.ts); a vswitch knows no AS numbers
    expect(notSent).toEqual(['sampling_rate', 'src_as', 'dst_as']);
    const v9 = new Set(sets.v9.templates.flatMap((t) => t.fields.flatMap((f) => f.columns)));
    // NetFlow v9 carries no enterprise elements: no outer tunnel
    expect([...sent].filter((c) => !v9.has(c))).toEqual(['tunnel_type', 'tunnel_src', 'tunnel_dst']);
  });
});
