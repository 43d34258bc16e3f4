import { type Static, Type } from '@sinclair/typebox';

export const CollectorConfig = Type.Object({}, { additionalProperties: false, default: {} });
export type CollectorConfig = Static<typeof CollectorConfig>;
