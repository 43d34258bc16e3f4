import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { COLUMNS } from '../../protocol/src/schema/columns.ts';
import { flowProtoText } from '../../protocol/src/schema/protobuf.ts';

const file = new URL('./flow.proto', import.meta.url);

describe('collector/proto/flow.proto', () => {
  it('is what the schema generates today (regenerate it when columns.ts changes)', () => {
    expect(readFileSync(file, 'utf8')).toBe(flowProtoText());
  });
  it('declares every schema column under its protobuf field number', () => {
    const root = protobuf.parse(readFileSync(file, 'utf8')).root;
    const msg = root.lookupType('vxflow.FlowMessage');
    const numbers = Object.values(msg.fields)
      .map((f) => f.id)
      .sort((a, b) => a - b);
    expect(numbers).toEqual(COLUMNS.map((c) => c.protobufField).sort((a, b) => a - b));
  });
});
