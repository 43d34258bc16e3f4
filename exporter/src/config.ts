import { type Static, Type } from '@sinclair/typebox';

export const ExporterConfig = Type.Object({}, { additionalProperties: false, default: {} });
export type ExporterConfig = Static<typeof ExporterConfig>;
