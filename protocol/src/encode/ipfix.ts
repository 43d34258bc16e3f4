/**
 * IPFIX (RFC 7011) encoder.
 *
 * Message header (§3.1, 16 octets): Version=10 (2) | Length (2) | Export Time (4, s) |
 *                                   Sequence Number (4) | Observation Domain ID (4)
 * Sequence = data records (options data included) sent in this domain before this
 *            message, mod 2^32 (§10.3.2, erratum 4396); template records do not count.
 * Options Template record (§3.4.2.2): Template ID (2) | Field Count (2, incl. scope) |
 *   Scope Field Count (2) | specifiers (scope first)
 * Options data: scope 149 observationDomainId; 305 samplingPacketInterval = 1 and
 *   306 samplingPacketSpace = N-1 with 304 selectorAlgorithm = 1 (systematic count-based,
 *   PSAMP RFC 5476) for 1-in-N; the deprecated 34/35 as well, because many collectors
 *   (nfdump, goflow2) still read only those; 36/37 flow cache timeouts in seconds.
 * Sets are not padded (optional in IPFIX, and records with a variable-length tunnelKey
 * would make padding ambiguous to a collector working out the minimum record size).
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
import { ipfixTemplates, OPTIONS_TEMPLATE_ID } from './templates.ts';

export const IPFIX_HEADER_LENGTH = 16;
export const IPFIX_SET_TEMPLATE = 2;
export const IPFIX_SET_OPTIONS_TEMPLATE = 3;

export interface IpfixOptions extends PackerOptions, OptionsValues {
  observationDomain: number;
}

function optionsChunks(o: IpfixOptions): SetChunk[] {
  const interval = Math.max(1, o.samplingInterval >>> 0);
  const fields: OptionField[] = [
    { id: 149, length: 4, value: o.observationDomain >>> 0 },
    { id: 305, length: 4, value: 1 },
    { id: 306, length: 4, value: interval - 1 },
    { id: 304, length: 2, value: 1 },
    { id: 34, length: 4, value: interval },
    { id: 35, length: 1, value: 1 },
    { id: 36, length: 2, value: clampU16(o.activeTimeoutS) },
    { id: 37, length: 2, value: clampU16(o.inactiveTimeoutS) },
  ];
  const head = Buffer.alloc(6);
  head.writeUInt16BE(OPTIONS_TEMPLATE_ID, 0);
  head.writeUInt16BE(fields.length, 2);
  head.writeUInt16BE(1, 4);
  const template = Buffer.concat([
    head,
    fieldSpecifiers(fields.map((x) => ({ id: x.id, pen: 0, length: x.length }))),
  ]);
  return [
    { bytes: buildSet(IPFIX_SET_OPTIONS_TEMPLATE, [template], false), records: 1, dataRecords: 0 },
    dataChunk(OPTIONS_TEMPLATE_ID, optionValues(fields), false),
  ];
}

export function createIpfixEncoder(o: IpfixOptions): FlowEncoder {
  const templateSet = ipfixTemplates();
  let sequence = 0;
  return createSetPacker(
    {
      headerLength: IPFIX_HEADER_LENGTH,
      padSets: false,
      templateSet,
      templateChunks: [
        ...templateChunks(IPFIX_SET_TEMPLATE, templateSet.templates, o.mtu - IPFIX_HEADER_LENGTH, false),
        ...optionsChunks(o),
      ],
      writeHeader(buf, length, _records, dataRecords, nowMs) {
        buf.writeUInt16BE(10, 0);
        buf.writeUInt16BE(length, 2);
        buf.writeUInt32BE(Math.floor(nowMs / 1000) >>> 0, 4);
        buf.writeUInt32BE(sequence, 8);
        buf.writeUInt32BE(o.observationDomain >>> 0, 12);
        sequence = (sequence + dataRecords) % 4294967296;
      },
    },
    o,
  );
}
