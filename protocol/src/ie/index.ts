export {
  ENTERPRISE_ELEMENTS,
  PEN_CISCO,
  PEN_JUNIPER,
  PEN_NTOP,
  PEN_VMWARE,
  V9_VENDOR_ELEMENTS,
} from './enterprise.ts';
export {
  describeElement,
  type ElementInfo,
  enterpriseKey,
  ianaElementCount,
  lookupElement,
} from './registry.ts';
export type { IeType } from './types.ts';
