/**
 * The ClickHouse output in Native format: one columnar block per chunk, the same columns
 * and values as the RowBinary output (storage/src/flow-native.ts), cheaper for ClickHouse to
 * insert. The sink sends it as `INSERT INTO flows (FLOW_INSERT_COLUMNS) FORMAT Native`.
 */
import { newNativeFlowEncoder } from '../../../storage/src/flow-native.ts';
import type { OutputDriver } from './output.ts';

/** Rows a chunk's columns have room for before they grow: the decode worker's largest chunk. */
const CHUNK_ROWS_HINT = 5000;

export const nativeOutput: OutputDriver = {
  name: 'native',
  keepExtra: false,
  create() {
    const enc = newNativeFlowEncoder(CHUNK_ROWS_HINT);
    return { write: (rec) => enc.write(rec), take: () => enc.take() };
  },
};
