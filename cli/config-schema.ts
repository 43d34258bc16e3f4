import { type Static, Type } from '@sinclair/typebox';
import { CollectorConfig } from '../collector/src/config.ts';
import { DashboardConfig } from '../dashboard/src/config.ts';
import { ExporterConfig } from '../exporter/src/config.ts';
import { ClickHouseConfig } from '../storage/src/config.ts';

/** The whole configuration file: one section per component, each owned by that component. */
export const VxflowConfig = Type.Object(
  {
    clickhouse: ClickHouseConfig,
    collector: CollectorConfig,
    exporter: ExporterConfig,
    dashboard: DashboardConfig,
    inventory: Type.String({ default: '', description: 'path of the tenant inventory YAML file' }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type VxflowConfig = Static<typeof VxflowConfig>;
