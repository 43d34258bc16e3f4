/**
 * Reading rollup staging rows back (ROLLUP_INSERT_COLUMNS, RowBinary): batch_id, the minute,
 * the rollup dimensions, the measures. The replay check (flow-batches.ts) walks them as it
 * walks raw flow rows, and the collector counts the rows of each chunk with it. Not the hot
 * path: the rows are written by collector/src/output/rollup.ts.
 */
import type { ColumnKind } from '../../protocol/src/schema/columns.ts';
import { ROLLUP_DIMENSIONS, ROLLUP_MEASURES } from './ddl.ts';
import { rowLayout, type RowVisitor, scanRows } from './flow-rowbinary.ts';

/** Kinds of a staging row's columns after batch_id, in ROLLUP_INSERT_COLUMNS order. */
export const ROLLUP_ROW_KINDS: readonly ColumnKind[] = [
  'datetime',
  ...ROLLUP_DIMENSIONS.map((c) => c.kind),
  ...ROLLUP_MEASURES.map(() => 'u64' as const),
];

const ROLLUP_LAYOUT = rowLayout(ROLLUP_ROW_KINDS, 0);

/** Walks staging rows (ROLLUP_INSERT_COLUMNS); returns how many there are. */
export function scanRollupRows(b: Buffer, visit: RowVisitor = () => {}): number {
  return scanRows(ROLLUP_LAYOUT, b, visit);
}
