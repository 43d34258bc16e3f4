/**
 * NetFlow v5 (Cisco "NetFlow Export Datagram Format"): fixed 24-octet header and 48-octet
 * records, decoded through the same compiled path as v9 by describing the record as a v9
 * template of the equivalent field types.
 *
 * Header: version (2) | count (2) | sysUptime (4) | unix_secs (4) | unix_nsecs (4) |
 *         flow_sequence (4) | engine_type (1) | engine_id (1) | sampling_interval (2)
 * Record: srcaddr (4) dstaddr (4) nexthop (4) input (2) output (2) dPkts (4) dOctets (4)
 *         first (4) last (4) srcport (2) dstport (2) pad1 (1) tcp_flags (1) prot (1) tos (1)
 *         src_as (2) dst_as (2) src_mask (1) dst_mask (1) pad2 (2)
 */
import type { TemplateDef } from './template.ts';

const PAD = 210; // IANA paddingOctets: skipped, never shown

export const V5_TEMPLATE: TemplateDef = {
  templateId: 256,
  options: false,
  scopeFieldCount: 0,
  fields: [
    [8, 4],
    [12, 4],
    [15, 4],
    [10, 2],
    [14, 2],
    [2, 4],
    [1, 4],
    [22, 4],
    [21, 4],
    [7, 2],
    [11, 2],
    [PAD, 1],
    [6, 1],
    [4, 1],
    [5, 1],
    [16, 2],
    [17, 2],
    [9, 1],
    [13, 1],
    [PAD, 2],
  ].map(([id, length]) => ({ pen: 0, id, length })),
};
