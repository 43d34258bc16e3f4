/**
 * The rollup output: each chunk's flows summed per minute and rollup key
 * (rollup-aggregator.ts), as staging rows for flows_rollup_in (ROLLUP_INSERT_COLUMNS,
 * RowBinary, one batch id per chunk). ClickHouse's views on the staging table feed
 * flows_1m / flows_5m / flows_1h, so ClickHouse aggregates rollup rows instead of every raw
 * flow (migration 5, storage/src/migrations.ts).
 */
import { takeOutputBuffer } from '../../../common/output-buffer.ts';
import { newFlowRowBuffer } from '../../../storage/src/flow-rowbinary.ts';
import type { OutputDriver } from './output.ts';
import { createRollupAggregator } from './rollup-aggregator.ts';

/** Room the staging rows of one chunk start with: far fewer rows than the raw chunk. */
const ROLLUP_BUFFER_BYTES = 1 << 16;

export const rollupOutput: OutputDriver = {
  name: 'rollup',
  keepExtra: false,
  create() {
    const agg = createRollupAggregator();
    const out = newFlowRowBuffer(ROLLUP_BUFFER_BYTES);
    return {
      write: (rec) => agg.add(rec),
      take: () => {
        agg.writeTo(out);
        return takeOutputBuffer(out);
      },
    };
  },
};
