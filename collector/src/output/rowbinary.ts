/** The ClickHouse output: RowBinary rows of FLOW_INSERT_COLUMNS (storage/src/flow-rowbinary.ts), one batch id per chunk. */
import { takeOutputBuffer } from '../../../common/output-buffer.ts';
import { newFlowRowBuffer, writeFlowRowFast } from '../../../storage/src/flow-rowbinary.ts';
import { OUTPUT_BUFFER_BYTES, type OutputDriver } from './output.ts';

export const rowbinaryOutput: OutputDriver = {
  name: 'rowbinary',
  keepExtra: false,
  create() {
    const out = newFlowRowBuffer(OUTPUT_BUFFER_BYTES);
    return { write: (rec) => writeFlowRowFast(out, rec), take: () => takeOutputBuffer(out) };
  },
};
