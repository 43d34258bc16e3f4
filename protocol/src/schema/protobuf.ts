/**
 * The protobuf form of the flow record, generated from the schema: field numbers follow
 * goflow2's FlowMessage where goflow2 has the field (so its consumers read ours), and our
 * overlay and tenant fields take 1000 and up. Times are nanoseconds like goflow2's
 * `*_ns` fields; addresses are 16 bytes (IPv4-mapped), as goflow2 sends 4 or 16.
 */
import protobuf from 'protobufjs';
import { COLUMNS, type Column, type FlowRecord } from './columns.ts';
import { writeIp16 } from './ip.ts';

const PROTO_TYPE: Record<Column['kind'], string> = {
  datetime: 'uint64',
  ip: 'bytes',
  mac: 'uint64',
  u8: 'uint32',
  u16: 'uint32',
  u32: 'uint32',
  u64: 'uint64',
  string: 'string',
};

export const protobufFieldName = (c: Column): string =>
  'protobufName' in c && c.protobufName ? c.protobufName : c.name;

export const PROTO_PACKAGE = 'vxflow';
export const PROTO_MESSAGE = 'FlowMessage';

const UNIT: Record<Column['kind'], string> = {
  datetime: 'nanoseconds since the Unix epoch (UTC)',
  ip: 'address: 4 bytes (IPv4) or 16 bytes (IPv6 or IPv4-mapped); empty = absent',
  mac: '48-bit MAC address in the low bits',
  u8: '0..255',
  u16: '0..65535',
  u32: '0..2^32-1',
  u64: '0..2^64-1',
  string: 'UTF-8 text',
};

/** The .proto text (proto3), as protocol/proto/flow.proto holds it. */
export function flowProtoText(): string {
  const fields = COLUMNS.map(
    (c) =>
      `  // ${c.description}.\n  // Unit: ${UNIT[c.kind]}.\n  ${PROTO_TYPE[c.kind]} ${protobufFieldName(c)} = ${c.protobufField};`,
  ).join('\n\n');
  return `// vxflow's flow record as protobuf. Generated from protocol/src/schema/columns.ts by
// \`npm run gen:proto\`: do not edit; a test fails when it and the schema disagree.
//
// Field numbers follow goflow2's FlowMessage where goflow2 has the field (so its consumers
// read ours); 1000 and up are vxflow's overlay and tenant fields.
//
// Where it is used:
// - \`vxflow collector --output protobuf:PATH\` writes one FlowMessage per stored flow.
// - \`vxflow exporter --source socket:PATH\` reads FlowMessages that a datapath agent (eBPF,
//   DPDK, a vSwitch plugin) writes to a Unix-domain STREAM socket the exporter listens on;
//   several agents may connect at once. A message longer than 65 536 bytes means the
//   framing is lost: the exporter closes that connection and logs why; a message that does
//   not decode is counted and skipped. Leave a field unset (0 / empty) when the datapath does
//   not know it: the exporter fills sampling_rate = 1 and flow times = now when missing, and
//   the enrichment fields (tenant … traffic_class) are the collector's to fill.
//
// Framing on streams: each message is preceded by its length as a varint (protobufjs
// encodeDelimited, Java writeDelimitedTo, Go protodelim.MarshalTo).
syntax = "proto3";
package ${PROTO_PACKAGE};

message ${PROTO_MESSAGE} {
${fields}
}
`;
}

let cached: protobuf.Type | undefined;

/** The protobufjs type, built by reflection from the schema. */
export function flowMessageType(): protobuf.Type {
  if (cached) return cached;
  const type = new protobuf.Type(PROTO_MESSAGE);
  for (const c of COLUMNS)
    type.add(new protobuf.Field(protobufFieldName(c), c.protobufField, PROTO_TYPE[c.kind]));
  new protobuf.Root().define(PROTO_PACKAGE).add(type);
  cached = type;
  return type;
}

function ip16(s: string): Uint8Array {
  return s === '' ? new Uint8Array(0) : ipToBytes16(s);
}

/** 16-byte IPv4-mapped / IPv6 form of an address text. */
export function ipToBytes16(s: string): Uint8Array {
  const out = new Uint8Array(16);
  writeIp16(s, out, 0);
  return out;
}

/** A plain object for protobufjs' encode(), from a flow record. */
export function toProtobufObject(rec: FlowRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const c of COLUMNS) {
    const v = rec[c.name];
    const name = protobufFieldName(c);
    switch (c.kind) {
      case 'datetime':
        o[name] = BigInt(Math.round(v as number)) * 1_000_000n;
        break;
      case 'ip':
        o[name] = ip16(v as string);
        break;
      default:
        o[name] = v;
    }
  }
  return o;
}

/** Length-delimited encoding of one record. */
export function encodeFlowDelimited(rec: FlowRecord): Uint8Array {
  const t = flowMessageType();
  return t.encodeDelimited(t.fromObject(toProtobufObject(rec))).finish();
}
