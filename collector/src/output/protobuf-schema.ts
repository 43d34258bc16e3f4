/**
 * The protobuf message of a flow, built at run time from the schema (protocol/src/schema/
 * columns.ts) with protobufjs reflection, so a new column needs no edit here. Field numbers
 * are the schema's protobufField: goflow2's FlowMessage numbers where goflow2 has the field
 * (its field names too), 1000+ for our overlay and tenant fields. Types follow goflow2:
 * addresses are bytes (4 or 16), times are uint64 nanoseconds, MACs uint64.
 * collector/proto/flow.proto is the same schema as text (checked by a test).
 */
import protobuf from 'protobufjs';
import { COLUMNS, type ColumnKind, type FlowRecord } from '../../../protocol/src/schema/columns.ts';
import { parseIpInto } from '../net/ip.ts';

export const PROTO_PACKAGE = 'vxflow';
export const PROTO_MESSAGE = 'FlowMessage';

const PROTO_TYPE: Record<ColumnKind, string> = {
  datetime: 'uint64',
  ip: 'bytes',
  mac: 'uint64',
  u8: 'uint32',
  u16: 'uint32',
  u32: 'uint32',
  u64: 'uint64',
  string: 'string',
};

const fieldName = (c: (typeof COLUMNS)[number]): string =>
  'protobufName' in c && c.protobufName ? c.protobufName : c.name;

export function buildFlowMessageType(): protobuf.Type {
  const type = new protobuf.Type(PROTO_MESSAGE);
  for (const c of COLUMNS) type.add(new protobuf.Field(fieldName(c), c.protobufField, PROTO_TYPE[c.kind]));
  new protobuf.Root().define(PROTO_PACKAGE).add(type);
  return type;
}

/** The .proto text of the message (what collector/proto/flow.proto holds). */
export function flowProtoText(): string {
  const lines = [
    '// GENERATED from protocol/src/schema/columns.ts by collector/src/output/protobuf-schema.ts;',
    '// field numbers follow goflow2 FlowMessage where goflow2 has the field, 1000+ are vxflow fields.',
    '// Stream framing: each message is preceded by its length as a varint (length-delimited).',
    'syntax = "proto3";',
    `package ${PROTO_PACKAGE};`,
    '',
    `message ${PROTO_MESSAGE} {`,
  ];
  for (const c of [...COLUMNS].sort((a, b) => a.protobufField - b.protobufField)) {
    lines.push(`  ${PROTO_TYPE[c.kind]} ${fieldName(c)} = ${c.protobufField}; // ${c.description}`);
  }
  lines.push('}', '');
  return lines.join('\n');
}

type Long = { low: number; high: number; unsigned: boolean };
const toLong = (v: number | bigint): Long => {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: true };
  }
  const n = v > 0 ? Math.floor(v) : 0;
  return { low: (n % 4294967296) | 0, high: Math.floor(n / 4294967296) | 0, unsigned: true };
};

/** A flow as the plain object protobufjs encodes (uint64 as Long-like objects). */
export function flowToProtoObject(rec: FlowRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const scratch = new Uint8Array(16);
  for (const c of COLUMNS) {
    const v = rec[c.name as keyof FlowRecord];
    const name = fieldName(c);
    switch (c.kind) {
      case 'datetime':
        if ((v as number) > 0) out[name] = toLong(BigInt(Math.round(v as number)) * 1_000_000n);
        break;
      case 'ip': {
        const fam = parseIpInto(v as string, scratch);
        if (fam !== 0) out[name] = scratch.slice(0, fam === 4 ? 4 : 16);
        break;
      }
      case 'mac':
      case 'u64':
        if (v) out[name] = toLong(v as number | bigint);
        break;
      default:
        if (v) out[name] = v;
    }
  }
  return out;
}

export interface ProtobufFlowEncoder {
  /** appends one flow, length-delimited */
  encodeDelimited(rec: FlowRecord): Uint8Array;
}

export function createProtobufFlowEncoder(): ProtobufFlowEncoder {
  const type = buildFlowMessageType();
  return {
    encodeDelimited: (rec) => type.encodeDelimited(flowToProtoObject(rec)).finish(),
  };
}
