/**
 * NetFlow v9 (RFC 3954) encoder.
 *
 * Header (§5.1, 20 octets): Version=9 (2) | Count (2) | sysUpTime (4) | UNIX Secs (4) |
 *                           Sequence Number (4) | Source ID (4)
 * Count    = template + options template + data records (options data included) in the packet
 * Sequence = export packets sent before this one for this Source ID (cumulative, mod 2^32)
 * Options Template record (§6.1): Template ID (2) | Option Scope Length (2, octets) |
 *   Option Length (2, octets) | scope specifiers | option specifiers
 * Options data: scope System (type 1, 4 octets = Source ID), 34 SAMPLING_INTERVAL (4),
 *   35 SAMPLING_ALGORITHM (1, 0x01 deterministic), 36/37 FLOW_(IN)ACTIVE_TIMEOUT (2, s).
 */
import type { FlowEncoder } from './api.ts';
import { createSetPacker, type PackerOptions, type SetChunk } from './set-packer.ts';
import {
  buildSet,
  clampU16,
  dataChunk,
  fieldSpecifiers,
  type OptionField,
  type OptionsValues,
  optionValues,
  templateChunks,
} from './sets.ts';
import { netflowV9Templates, OPTIONS_TEMPLATE_ID } from './templates.ts';

export const V9_HEADER_LENGTH = 20;
export const V9_SET_TEMPLATE = 0;
export const V9_SET_OPTIONS_TEMPLATE = 1;
const SCOPE_SYSTEM = 1;

export interface V9Options extends PackerOptions, OptionsValues {
  sourceId: number;
  bootTimeMs: number;
}

function optionsChunks(o: V9Options): SetChunk[] {
  const scope: OptionField[] = [{ id: SCOPE_SYSTEM, length: 4, value: o.sourceId >>> 0 }];
  const options: OptionField[] = [
    { id: 34, length: 4, value: o.samplingInterval >>> 0 },
    { id: 35, length: 1, value: 1 },
    { id: 36, length: 2, value: clampU16(o.activeTimeoutS) },
    { id: 37, length: 2, value: clampU16(o.inactiveTimeoutS) },
  ];
  const head = Buffer.alloc(6);
  head.writeUInt16BE(OPTIONS_TEMPLATE_ID, 0);
  head.writeUInt16BE(scope.length * 4, 2);
  head.writeUInt16BE(options.length * 4, 4);
  const spec = (xs: OptionField[]) =>
    fieldSpecifiers(xs.map((x) => ({ id: x.id, pen: 0, length: x.length })));
  const template = Buffer.concat([head, spec(scope), spec(options)]);
  return [
    { bytes: buildSet(V9_SET_OPTIONS_TEMPLATE, [template], true), records: 1, dataRecords: 0 },
    dataChunk(OPTIONS_TEMPLATE_ID, optionValues([...scope, ...options]), true),
  ];
}

export function createNetflowV9Encoder(o: V9Options): FlowEncoder {
  const templateSet = netflowV9Templates(o.bootTimeMs);
  let sequence = 0;
  return createSetPacker(
    {
      headerLength: V9_HEADER_LENGTH,
      padSets: true,
      templateSet,
      templateChunks: [
        ...templateChunks(V9_SET_TEMPLATE, templateSet.templates, o.mtu - V9_HEADER_LENGTH, true),
        ...optionsChunks(o),
      ],
      writeHeader(buf, _length, records, _dataRecords, nowMs) {
        // sysUpTime is taken at the whole second UNIX Secs names, so collectors that compute
        // unix_secs*1000 - (sysUpTime - FIRST_SWITCHED) get the flow times back to the ms.
        const secs = Math.floor(nowMs / 1000);
        buf.writeUInt16BE(9, 0);
        buf.writeUInt16BE(records, 2);
        buf.writeUInt32BE((secs * 1000 - o.bootTimeMs) >>> 0, 4);
        buf.writeUInt32BE(secs >>> 0, 8);
        buf.writeUInt32BE(sequence, 12);
        buf.writeUInt32BE(o.sourceId >>> 0, 16);
        sequence = (sequence + 1) >>> 0;
      },
    },
    o,
  );
}
