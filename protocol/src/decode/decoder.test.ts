import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../schema/columns.ts';
import {
  ipfixMessage,
  ipfixTemplateSet,
  ipv4,
  set,
  TYPICAL_V9_FIELDS,
  typicalV9Record,
  uint,
  v9OptionsTemplateSet,
  v9Packet,
  v9TemplateSet,
  varlen,
} from '../../../test/decode/packets.ts';
import { createDecoder } from './index.ts';
import { toJsonLine } from '../schema/json.ts';

const EXPORTER = '192.0.2.10';
const copy = (r: FlowRecord) => {
  const c = { ...r } as FlowRecord;
  c.extra = r.extra ? { ...r.extra } : undefined;
  return c;
};
function run(decoder: ReturnType<typeof createDecoder>, packets: Buffer[], receivedMs = 1_000) {
  const out: FlowRecord[] = [];
  const sums = packets.map((p) => decoder.decode(p, EXPORTER, receivedMs, (r) => out.push(copy(r))));
  return { out, sums };
}
const H9 = { sourceId: 7, sequence: 1, uptime: 3_600_000, unixSecs: 1_763_000_000 };
const HX = { domain: 11, sequence: 0, exportSecs: 1_763_000_000 };

describe('NetFlow v9', () => {
  it('decodes a typical template with sysUptime-relative times', () => {
    const d = createDecoder();
    const tpl = v9Packet(H9, [v9TemplateSet([{ id: 300, fields: TYPICAL_V9_FIELDS }])]);
    const data = v9Packet({ ...H9, sequence: 2 }, [set(300, Buffer.concat([typicalV9Record(1, H9.uptime)]))]);
    const { out } = run(d, [tpl, data]);
    expect(out).toHaveLength(1);
    const r = out[0];
    expect(r.src_addr).toBe('10.0.1.1');
    expect(r.dst_addr).toBe('192.168.1.2');
    expect(r.next_hop).toBe('10.0.0.254');
    expect([r.src_port, r.dst_port, r.proto, r.tcp_flags]).toEqual([1025, 443, 6, 0x18]);
    expect([r.bytes, r.packets, r.in_if, r.out_if]).toEqual([1500 * 11, 11, 3, 4]);
    expect(r.flow_start).toBe(H9.unixSecs * 1000 - 5000);
    expect(r.flow_end).toBe(H9.unixSecs * 1000 - 100);
    expect([r.version, r.observation_domain, r.exporter, r.ip_version]).toEqual([9, 7, EXPORTER, 4]);
  });

  it('handles the 32-bit sysUptime wrap', () => {
    const d = createDecoder();
    // uptime wrapped to 1000 ms; the flow started 3000 ms before the export, before the wrap
    const h = { ...H9, uptime: 1000 };
    const tpl = v9Packet(h, [
      v9TemplateSet([
        {
          id: 300,
          fields: [
            [22, 4],
            [21, 4],
            [8, 4],
          ],
        },
      ]),
    ]);
    const rec = Buffer.concat([uint(2 ** 32 - 2000, 4), uint(500, 4), ipv4('10.0.0.1')]);
    const { out } = run(d, [tpl, v9Packet(h, [set(300, rec)])]);
    expect(out[0].flow_start).toBe(h.unixSecs * 1000 - 3000);
    expect(out[0].flow_end).toBe(h.unixSecs * 1000 - 500);
  });

  it('reads only its own octets of an IPv4 address field of an odd length (found by fuzzing)', () => {
    const d = createDecoder();
    // destinationIPv4Address declared 1 octet long, last in the record, beside an IPv6 one
    const tpl = v9Packet(H9, [
      v9TemplateSet([
        {
          id: 300,
          fields: [
            [28, 16],
            [12, 1],
          ],
        },
      ]),
    ]);
    const rec = Buffer.concat([Buffer.alloc(15), Buffer.from([1]), Buffer.from([0])]);
    const { out } = run(d, [tpl, v9Packet(H9, [set(300, rec, false)])]);
    expect(out).toHaveLength(1);
    expect(out[0].dst_addr).toBe('::1');
  });

  it('decodes a data set that precedes its template in the same packet', () => {
    const d = createDecoder();
    const p = v9Packet(H9, [
      set(300, typicalV9Record(5, H9.uptime)),
      v9TemplateSet([{ id: 300, fields: TYPICAL_V9_FIELDS }]),
    ]);
    const { out, sums } = run(d, [p]);
    expect(out).toHaveLength(1);
    expect(sums[0]).toMatchObject({ records: 1, templates: 1, held: 0, errors: 0 });
  });

  it('holds data until its template arrives in a later datagram, bounded by count and age', () => {
    const d = createDecoder({ maxHeldSets: 2, maxHeldAgeMs: 10_000 });
    const data = (i: number) => v9Packet(H9, [set(300, typicalV9Record(i, H9.uptime))]);
    const first = run(d, [data(1), data(2), data(3)], 1_000);
    expect(first.out).toHaveLength(0);
    expect(d.stats.held).toBe(3);
    expect(d.stats['held-overflow']).toBe(1); // the oldest made room
    const tpl = v9Packet(H9, [v9TemplateSet([{ id: 300, fields: TYPICAL_V9_FIELDS }])]);
    const later = run(d, [tpl], 2_000);
    expect(later.out.map((r) => r.src_addr)).toEqual(['10.0.2.1', '10.0.3.1']);
    expect(later.sums[0].records).toBe(2);
    expect(later.out[0].time_received).toBe(1_000); // when the held data arrived
    // held data older than maxHeldAgeMs expires
    run(d, [v9Packet(H9, [set(301, typicalV9Record(9, H9.uptime))])], 3_000);
    d.expire(13_001);
    expect(d.stats['held-expired']).toBe(1);
  });

  it('keys templates by exporter, version and source id', () => {
    const d = createDecoder();
    const a = v9Packet({ ...H9, sourceId: 1 }, [v9TemplateSet([{ id: 300, fields: [[8, 4]] }])]);
    const b = v9Packet({ ...H9, sourceId: 2 }, [v9TemplateSet([{ id: 300, fields: [[12, 4]] }])]);
    const dataA = v9Packet({ ...H9, sourceId: 1 }, [set(300, ipv4('10.0.0.1'))]);
    const dataB = v9Packet({ ...H9, sourceId: 2 }, [set(300, ipv4('10.0.0.2'))]);
    const { out } = run(d, [a, b, dataA, dataB]);
    expect(out.map((r) => [r.src_addr, r.dst_addr])).toEqual([
      ['10.0.0.1', ''],
      ['', '10.0.0.2'],
    ]);
    // another exporter with the same source id has no template
    d.decode(dataA, '192.0.2.99', 0, () => {});
    expect(d.stats.held).toBe(1);
  });

  it('replaces a redefined template', () => {
    const d = createDecoder();
    const t1 = v9Packet(H9, [v9TemplateSet([{ id: 300, fields: [[8, 4]] }])]);
    const t2 = v9Packet(H9, [
      v9TemplateSet([
        {
          id: 300,
          fields: [
            [12, 4],
            [7, 2],
          ],
        },
      ]),
    ]);
    const data = v9Packet(H9, [set(300, Buffer.concat([ipv4('10.9.9.9'), uint(53, 2)]))]);
    const { out } = run(d, [t1, t2, data]);
    expect(out).toHaveLength(1);
    expect([out[0].dst_addr, out[0].src_port]).toEqual(['10.9.9.9', 53]);
    expect(d.templates()).toHaveLength(1);
  });

  it('applies the sampling rate from options data, per sampler id', () => {
    const d = createDecoder();
    const opt = v9Packet(H9, [
      v9OptionsTemplateSet(
        400,
        [[1, 4]],
        [
          [48, 1],
          [50, 4],
        ],
      ),
    ]);
    const optData = v9Packet(H9, [
      set(400, Buffer.concat([uint(0, 4), uint(1, 1), uint(100, 4), uint(0, 4), uint(2, 1), uint(1000, 4)])),
    ]);
    const tpl = v9Packet(H9, [
      v9TemplateSet([
        {
          id: 300,
          fields: [
            [8, 4],
            [48, 1],
          ],
        },
      ]),
    ]);
    const data = v9Packet(H9, [
      set(300, Buffer.concat([ipv4('10.0.0.1'), uint(2, 1), ipv4('10.0.0.2'), uint(1, 1)])),
    ]);
    const { out } = run(d, [opt, optData, tpl, data]);
    expect(out.map((r) => r.sampling_rate)).toEqual([1000, 100]);
    expect(d.samplingRates()).toEqual({ [`${EXPORTER}/7/1`]: 100, [`${EXPORTER}/7/2`]: 1000 });
  });

  it('reads ICMP type/code from the destination port when no ICMP element is exported', () => {
    const d = createDecoder();
    const tpl = v9Packet(H9, [
      v9TemplateSet([
        {
          id: 300,
          fields: [
            [4, 1],
            [7, 2],
            [11, 2],
          ],
        },
      ]),
    ]);
    const data = v9Packet(H9, [set(300, Buffer.concat([uint(1, 1), uint(0, 2), uint(0x0803, 2)]))]);
    const { out } = run(d, [tpl, data]);
    expect([out[0].icmp_type, out[0].icmp_code, out[0].src_port, out[0].dst_port]).toEqual([8, 3, 0, 0]);
  });

  it('counts malformed sets and templates instead of throwing', () => {
    const d = createDecoder({ maxFieldsPerTemplate: 16 });
    const many = Array.from({ length: 2000 }, () => [8, 4] as [number, number]);
    const bad = [
      v9Packet(H9, [v9TemplateSet([{ id: 300, fields: many }])]), // field-limit
      v9Packet(H9, [v9TemplateSet([{ id: 12, fields: [[8, 4]] }])]), // template id below 256
      v9Packet(H9, [v9TemplateSet([{ id: 301, fields: [[8, 0]] }])]), // records of 0 octets
      Buffer.concat([v9Packet(H9, []), Buffer.from([1, 44, 0, 0, 9, 9, 9, 9])]), // zero-length set
      Buffer.concat([v9Packet(H9, []), Buffer.from([1, 44, 0, 200])]), // set past the end
      Buffer.from([0, 9, 0]),
      Buffer.from([0, 7, 0, 0, 0, 0]),
    ];
    expect(() => run(d, bad)).not.toThrow();
    expect(d.stats['field-limit']).toBe(1);
    expect(d.stats['template-invalid']).toBe(2);
    expect(d.stats['set-length']).toBe(2);
    expect(d.stats['short-header']).toBe(1);
    expect(d.stats['bad-version']).toBe(1);
    expect(d.templates()).toHaveLength(0);
  });

  it('survives a state export and import', () => {
    const a = createDecoder();
    run(a, [v9Packet(H9, [v9TemplateSet([{ id: 300, fields: TYPICAL_V9_FIELDS }])])]);
    const b = createDecoder();
    b.importState(JSON.parse(JSON.stringify(a.exportState())));
    const { out } = run(b, [v9Packet(H9, [set(300, typicalV9Record(3, H9.uptime))])]);
    expect(out).toHaveLength(1);
    b.importState({ format: 'vxflow-decoder-state/1', templates: [{ exporter: 1 }] });
    expect(b.stats['template-invalid']).toBe(1);
  });
});

describe('IPFIX', () => {
  it('decodes enterprise and variable-length fields (OVS tunnel elements, 1- and 3-octet lengths)', () => {
    const d = createDecoder();
    const V = 6876;
    const tpl = ipfixMessage(HX, [
      ipfixTemplateSet([
        {
          id: 400,
          fields: [
            [0, 8, 4],
            [0, 82, 65535],
            [V, 891, 1],
            [V, 892, 65535],
            [V, 893, 4],
            [V, 894, 4],
            [V, 897, 2],
            [0, 1, 8],
            [9999, 7, 65535],
          ],
        },
      ]),
    ]);
    const rec = Buffer.concat([
      ipv4('10.0.0.1'),
      varlen(Buffer.from('vx1'), true), // 3-octet length form
      uint(1, 1),
      varlen(Buffer.from([0x00, 0x03, 0xe9])),
      ipv4('192.168.50.2'),
      ipv4('192.168.50.3'),
      uint(4789, 2),
      uint(2n ** 60n + 1n, 8),
      varlen(Buffer.from([0xde, 0xad])),
    ]);
    const { out } = run(d, [tpl, ipfixMessage(HX, [set(400, rec)])]);
    expect(out).toHaveLength(1);
    const r = out[0];
    expect([r.vni, r.tunnel_type, r.tunnel_src, r.tunnel_dst]).toEqual([
      1001,
      1,
      '192.168.50.2',
      '192.168.50.3',
    ]);
    expect(r.bytes).toBe(2n ** 60n + 1n); // above 2^53: exact bigint
    expect(r.extra).toEqual({ interfaceName: 'vx1', 'pen6876.897': 4789, 'pen9999.7': 'dead' });
    expect(toJsonLine(r)).toContain(`"bytes":"${2n ** 60n + 1n}"`);
  });

  it('reads the VNI from layer2SegmentId (351) and counters in reduced-size encoding', () => {
    const d = createDecoder();
    const tpl = ipfixMessage(HX, [
      ipfixTemplateSet([
        {
          id: 401,
          fields: [
            [0, 351, 8],
            [0, 1, 4],
            [0, 2, 1],
            [0, 6, 1],
          ],
        },
      ]),
    ]);
    const rec = Buffer.concat([uint(0x0100000000001389n, 8), uint(70000, 4), uint(9, 1), uint(2, 1)]);
    const { out } = run(d, [tpl, ipfixMessage(HX, [set(401, rec)])]);
    expect([out[0].vni, out[0].bytes, out[0].packets, out[0].tcp_flags]).toEqual([5001, 70000, 9, 2]);
  });

  it('turns flowStart/EndSysUpTime into absolute times with systemInitTimeMilliseconds from options data', () => {
    const d = createDecoder();
    const init = 1_763_000_000_000 - 60_000;
    const opt = ipfixMessage(HX, [
      ipfixTemplateSet(
        [
          {
            id: 500,
            scope: 1,
            fields: [
              [0, 149, 4],
              [0, 160, 8],
            ],
          },
        ],
        true,
      ),
    ]);
    const optData = ipfixMessage(HX, [set(500, Buffer.concat([uint(11, 4), uint(init, 8)]))]);
    const tpl = ipfixMessage(HX, [
      ipfixTemplateSet([
        {
          id: 402,
          fields: [
            [0, 22, 4],
            [0, 21, 4],
          ],
        },
      ]),
    ]);
    const data = ipfixMessage(HX, [set(402, Buffer.concat([uint(1000, 4), uint(2000, 4)]))]);
    const { out } = run(d, [opt, optData, tpl, data]);
    expect([out[0].flow_start, out[0].flow_end]).toEqual([init + 1000, init + 2000]);
  });

  it('ignores template withdrawals over UDP', () => {
    const d = createDecoder();
    const tpl = ipfixMessage(HX, [ipfixTemplateSet([{ id: 403, fields: [[0, 8, 4]] }])]);
    const withdraw = ipfixMessage(HX, [set(2, Buffer.from([0x01, 0x93, 0, 0]))]);
    const data = ipfixMessage(HX, [set(403, ipv4('10.1.1.1'))]);
    const { out } = run(d, [tpl, withdraw, data]);
    expect(out).toHaveLength(1);
    expect(d.stats['template-invalid']).toBe(0);
  });

  it('decodes several messages in one datagram and counts a varlen field that runs past its set', () => {
    const d = createDecoder();
    const tpl = ipfixMessage(HX, [ipfixTemplateSet([{ id: 404, fields: [[0, 96, 65535]] }])]);
    const good = ipfixMessage(HX, [set(404, varlen(Buffer.from('http')))]);
    const overrun = ipfixMessage(HX, [set(404, Buffer.from([200, 1, 2, 3]), false)]);
    const { out } = run(d, [Buffer.concat([tpl, good, good]), overrun]);
    expect(out.map((r) => r.extra?.applicationName)).toEqual(['http', 'http']);
    expect(d.stats['varlen-overrun']).toBe(1);
  });
});
