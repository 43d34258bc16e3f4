import { type Static, Type } from '@sinclair/typebox';

export const DashboardConfig = Type.Object({}, { additionalProperties: false, default: {} });
export type DashboardConfig = Static<typeof DashboardConfig>;
