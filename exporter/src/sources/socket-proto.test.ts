/** exporter/proto/flow-record.proto must say exactly what the canonical schema says. */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { COLUMNS } from '../../../protocol/src/schema/columns.ts';
import { flowMessageType, protobufFieldName } from '../../../protocol/src/schema/protobuf.ts';

const PROTO = fileURLToPath(new URL('../../proto/flow-record.proto', import.meta.url));
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

describe('flow-record.proto', () => {
  // keepCase: field names exactly as written in the file (protobufjs camelCases by default)
  const type = new protobuf.Root().loadSync(PROTO, { keepCase: true }).lookupType('vxflow.FlowMessage');

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

  it('agrees with the type the schema generates (the one the socket source decodes with)', () => {
    const generated = flowMessageType();
    expect(type.fieldsArray.map((f) => [f.id, f.name, f.type]).sort()).toEqual(
      generated.fieldsArray.map((f) => [f.id, f.name, f.type]).sort(),
    );
  });

  it('documents every field with its unit', async () => {
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(PROTO, 'utf8').split('\n');
    for (const f of type.fieldsArray) {
      const i = lines.findIndex((l) => new RegExp(`\\s${f.name} = ${f.id};`).test(l));
      expect(i, f.name).toBeGreaterThan(1);
      expect(lines[i - 1]).toMatch(/\/\/ Unit: /);
    }
  });
});
