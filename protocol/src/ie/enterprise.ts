/**
 * Enterprise-specific (PEN) information elements seen in real exports, and NetFlow v9
 * vendor types outside the IANA numbering. Anything not listed here still decodes: it is
 * kept by number (`pen<PEN>.<id>`, or its bare number for v9) as a hex string.
 */
import type { IeType } from './types.ts';

export const PEN_VMWARE = 6876;
export const PEN_JUNIPER = 2636;
export const PEN_NTOP = 35632;
export const PEN_CISCO = 9;

/** [PEN, element id, name, type] */
export const ENTERPRISE_ELEMENTS: readonly (readonly [number, number, string, IeType])[] = [
  // VMware NSX / vDS logical-switch elements and Open vSwitch's tunnel elements
  // (OVS ofproto/ipfix-enterprise-entities.def; NetGauze registry/vmware.xml)
  [PEN_VMWARE, 880, 'tenantProtocol', 'unsigned'],
  [PEN_VMWARE, 881, 'tenantSourceIPv4', 'ipv4'],
  [PEN_VMWARE, 882, 'tenantDestIPv4', 'ipv4'],
  [PEN_VMWARE, 883, 'tenantSourceIPv6', 'ipv6'],
  [PEN_VMWARE, 884, 'tenantDestIPv6', 'ipv6'],
  [PEN_VMWARE, 886, 'tenantSourcePort', 'unsigned'],
  [PEN_VMWARE, 887, 'tenantDestPort', 'unsigned'],
  [PEN_VMWARE, 888, 'egressInterfaceAttr', 'unsigned'],
  [PEN_VMWARE, 889, 'vxlanExportRole', 'unsigned'],
  [PEN_VMWARE, 890, 'ingressInterfaceAttr', 'unsigned'],
  [PEN_VMWARE, 891, 'tunnelType', 'unsigned'],
  [PEN_VMWARE, 892, 'tunnelKey', 'unsigned'],
  [PEN_VMWARE, 893, 'tunnelSourceIPv4Address', 'ipv4'],
  [PEN_VMWARE, 894, 'tunnelDestinationIPv4Address', 'ipv4'],
  [PEN_VMWARE, 895, 'tunnelProtocolIdentifier', 'unsigned'],
  [PEN_VMWARE, 896, 'tunnelSourceTransportPort', 'unsigned'],
  [PEN_VMWARE, 897, 'tunnelDestinationTransportPort', 'unsigned'],
  [PEN_VMWARE, 898, 'virtualObsID', 'string'],
  [PEN_VMWARE, 950, 'ruleId', 'unsigned'],
  [PEN_VMWARE, 951, 'vmUuid', 'octets'],
  [PEN_VMWARE, 952, 'vnicIndex', 'unsigned'],
  [PEN_VMWARE, 953, 'sessionFlags', 'unsigned'],
  [PEN_VMWARE, 954, 'flowDirection', 'unsigned'],
  [PEN_VMWARE, 955, 'algControlFlowId', 'unsigned'],
  [PEN_VMWARE, 956, 'algType', 'unsigned'],
  [PEN_VMWARE, 957, 'algFlowType', 'unsigned'],
  [PEN_VMWARE, 958, 'averageLatency', 'unsigned'],
  [PEN_VMWARE, 959, 'retransmissionCount', 'unsigned'],
  [PEN_VMWARE, 960, 'vifUuid', 'octets'],
  [PEN_VMWARE, 961, 'vifId', 'string'],
  // Juniper: common properties id (forwarding class, drop cause) carried by MX/PTX IPFIX
  [PEN_JUNIPER, 137, 'commonPropertiesId', 'unsigned'],
  // ntop nProbe (v9 ids are 57472 + these)
  [PEN_NTOP, 106, 'upstreamTunnelId', 'unsigned'],
  [PEN_NTOP, 120, 'downstreamTunnelId', 'unsigned'],
];

/**
 * NetFlow v9 field types that are not IANA numbers (v9 has no enterprise bit): Cisco ASA
 * NSEL (nfdump netflow_v9.h, Cisco "ASA NetFlow implementation guide").
 */
export const V9_VENDOR_ELEMENTS: readonly (readonly [number, string, IeType])[] = [
  [33000, 'ingressAclId', 'octets'],
  [33001, 'egressAclId', 'octets'],
  [33002, 'fwExtEvent', 'unsigned'],
  [40000, 'aaaUsername', 'string'],
  [40001, 'xlateSrcAddrIPv4', 'ipv4'],
  [40002, 'xlateDstAddrIPv4', 'ipv4'],
  [40003, 'xlateSrcPort', 'unsigned'],
  [40004, 'xlateDstPort', 'unsigned'],
  [40005, 'fwEvent', 'unsigned'],
];

/** nProbe numbers its v9 fields 57472 + its IPFIX PEN 35632 element id. */
export const NTOP_V9_BASE = 57472;
