/** protocol/proto/flow.proto (read by agents, written by the collector) is the schema's. */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { COLUMNS } from './columns.ts';
import { flowMessageType, flowProtoText, protobufFieldName } from './protobuf.ts';

const file = new URL('../../proto/flow.proto', import.meta.url);
const EXPECTED_TYPE = {
  datetime: 'uint64',
  ip: 'bytes',
  mac: 'uint64',
  u8: 'uint32',
  u16: 'uint32',
  u32: 'uint32',
  u64: 'uint64',
  string: 'string',
} as const;

describe('protocol/proto/flow.proto', () => {
  const text = readFileSync(file, 'utf8');
  // keepCase: field names exactly as written in the file (protobufjs camelCases by default)
  const type = protobuf.parse(text, { keepCase: true }).root.lookupType('vxflow.FlowMessage');

  it('is what the schema generates today (npm run gen:proto when columns.ts changes)', () => {
    expect(text).toBe(flowProtoText());
  });

  it('has one field per schema column, with its protobuf number, name and type', () => {
    expect(type.fieldsArray).toHaveLength(COLUMNS.length);
    for (const c of COLUMNS) {
      const f = type.fieldsById[c.protobufField];
      expect(f, `${c.name} (#${c.protobufField})`).toBeDefined();
      expect(f.name).toBe(protobufFieldName(c));
      expect(f.type).toBe(EXPECTED_TYPE[c.kind]);
      expect(f.repeated).toBe(false);
    }
  });

  it('agrees with the type the code builds by reflection (the one the socket source and the collector use)', () => {
    const generated = flowMessageType();
    expect(type.fieldsArray.map((f) => [f.id, f.name, f.type]).sort()).toEqual(
      generated.fieldsArray.map((f) => [f.id, f.name, f.type]).sort(),
    );
  });

  it('documents every field with its unit', () => {
    const lines = text.split('\n');
    for (const f of type.fieldsArray) {
      const i = lines.findIndex((l) => new RegExp(`\\s${f.name} = ${f.id};`).test(l));
      expect(i, f.name).toBeGreaterThan(1);
      expect(lines[i - 1]).toMatch(/\/\/ Unit: /);
    }
  });
});
