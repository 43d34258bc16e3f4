/** Every output driver by name (output.ts): the decode worker builds the ones configured. */
import { jsonlOutput } from './json-line.ts';
import { nativeOutput } from './native.ts';
import type { OutputDriver } from './output.ts';
import { protobufOutput } from './protobuf-record.ts';
import { rollupOutput } from './rollup.ts';
import { rowbinaryOutput } from './rowbinary.ts';

export const OUTPUT_DRIVERS = {
  rowbinary: rowbinaryOutput,
  native: nativeOutput,
  jsonl: jsonlOutput,
  protobuf: protobufOutput,
  rollup: rollupOutput,
} as const satisfies Record<string, OutputDriver>;

export type OutputName = keyof typeof OUTPUT_DRIVERS;
