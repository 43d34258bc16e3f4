import { describe, expect, it } from 'vitest';
import { COLUMN_NAMES, COLUMNS, emptyFlow } from './columns.ts';
import { JSON_FIELDS, macToString, toJsonObject } from './json.ts';
import {
  encodeFlowDelimited,
  flowMessageType,
  flowProtoText,
  ipToBytes16,
  protobufFieldName,
} from './protobuf.ts';

describe('one flow schema', () => {
  it('has unique names and protobuf field numbers', () => {
    expect(new Set(COLUMN_NAMES).size).toBe(COLUMNS.length);
    expect(new Set(COLUMNS.map((c) => c.protobufField)).size).toBe(COLUMNS.length);
    expect(new Set(COLUMNS.map(protobufFieldName)).size).toBe(COLUMNS.length);
  });

  it('keeps goflow2 FlowMessage numbers for the fields goflow2 has', () => {
    const goflow2: Record<string, number> = {
      sampling_rate: 3,
      src_addr: 6,
      dst_addr: 7,
      bytes: 9,
      packets: 10,
      sampler_address: 11,
      next_hop: 12,
      src_as: 14,
      dst_as: 15,
      in_if: 18,
      out_if: 19,
      proto: 20,
      src_port: 21,
      dst_port: 22,
      ip_tos: 23,
      tcp_flags: 26,
      src_mac: 27,
      dst_mac: 28,
      vlan_id: 29,
      icmp_type: 31,
      icmp_code: 32,
      observation_domain_id: 70,
      time_received_ns: 110,
      time_flow_start_ns: 111,
      time_flow_end_ns: 112,
    };
    const type = flowMessageType();
    for (const [name, id] of Object.entries(goflow2)) expect(type.fields[name]?.id, name).toBe(id);
  });

  it('generates a .proto, a protobufjs type and a JSON field list that agree with the schema', () => {
    const text = flowProtoText();
    const type = flowMessageType();
    const jsonNames = JSON_FIELDS.map((f) => f.name);
    expect(jsonNames).toEqual(COLUMN_NAMES);
    for (const c of COLUMNS) {
      expect(text).toMatch(new RegExp(`\\b${protobufFieldName(c)} = ${c.protobufField};`));
      expect(type.fields[protobufFieldName(c)].id).toBe(c.protobufField);
    }
    expect(Object.keys(type.fields)).toHaveLength(COLUMNS.length);
    expect(Object.keys(toJsonObject(emptyFlow()))).toEqual(COLUMN_NAMES);
  });

  it('round-trips a record through protobuf', () => {
    const rec = Object.assign(emptyFlow(), {
      src_addr: '10.0.0.1',
      dst_addr: '2001:db8::1',
      bytes: 1234,
      vni: 1001,
      tenant: 'acme',
      time_received: 1_764_000_000_123,
    });
    const buf = encodeFlowDelimited(rec);
    const msg = flowMessageType().decodeDelimited(buf).toJSON();
    expect(msg.vni).toBe(1001);
    expect(msg.tenant).toBe('acme');
    expect(msg.bytes).toBe('1234');
    expect(msg.time_received_ns).toBe('1764000000123000000');
    expect(Buffer.from(msg.src_addr, 'base64')).toEqual(Buffer.from(ipToBytes16('10.0.0.1')));
  });

  it('formats MACs and large counters in JSON without losing precision', () => {
    expect(macToString(0x0200deadbeef)).toBe('02:00:de:ad:be:ef');
    const o = toJsonObject(Object.assign(emptyFlow(), { bytes: 18446744073709551615n }));
    expect(o.bytes).toBe('18446744073709551615');
    expect(toJsonObject(Object.assign(emptyFlow(), { flow_start: 2 ** 60 })).flow_start).toBeNull();
  });
});
