/**
 * Reading rollup staging rows back (ROLLUP_INSERT_COLUMNS, RowBinary): batch_id, the minute,
 * the rollup dimensions, the measures. The replay check (flow-batches.ts) walks them as it
 * walks raw flow rows, and the collector counts the rows of each chunk with it. Not the hot
 * path: the rows are written by collector/src/output/rollup.ts.
 */
import type { ColumnKind } from '../../protocol/src/schema/columns.ts';
import { ROLLUP_DIMENSIONS, ROLLUP_MEASURES } from './ddl.ts';
import { FlowRowsFormatError } from './flow-rowbinary.ts';

/** Bytes of each fixed-size kind in RowBinary. */
const FIXED: Record<Exclude<ColumnKind, 'string'>, number> = {
  datetime: 4,
  ip: 16,
  mac: 8,
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
};

/** Kinds of a staging row's columns after batch_id, in ROLLUP_INSERT_COLUMNS order. */
export const ROLLUP_ROW_KINDS: readonly ColumnKind[] = [
  'datetime',
  ...ROLLUP_DIMENSIONS.map((c) => c.kind),
  ...ROLLUP_MEASURES.map(() => 'u64' as const),
];

/** A RowBinary row layout: fixed bytes before each String, fixed bytes after the last one. */
export interface RowLayout {
  beforeString: readonly number[];
  after: number;
  timeOffset: number;
}

/** The layout of rows that start with batch_id (UInt64) then `kinds`; the time column is kinds[timeIndex]. */
export function rowLayout(kinds: readonly ColumnKind[], timeIndex: number): RowLayout {
  const beforeString: number[] = [];
  let fixed = 8;
  let timeOffset = -1;
  for (const [i, k] of kinds.entries()) {
    if (i === timeIndex) {
      if (beforeString.length > 0) throw new Error('the time column must come before every String column');
      timeOffset = fixed;
    }
    if (k === 'string') {
      beforeString.push(fixed);
      fixed = 0;
    } else fixed += FIXED[k];
  }
  if (timeOffset < 0) throw new Error('no time column');
  return { beforeString, after: fixed, timeOffset };
}

/** The visitor of scanRows: a row's batch id halves, its time (seconds) and its byte range. */
export type RowVisitor = (idHi: number, idLo: number, timeSec: number, start: number, end: number) => void;

/** Walks RowBinary rows of `layout`; throws FlowRowsFormatError unless the bytes are whole rows. */
export function scanRows(layout: RowLayout, b: Buffer, visit: RowVisitor): number {
  const { beforeString, after, timeOffset } = layout;
  const n = b.length;
  let o = 0;
  let rows = 0;
  while (o < n) {
    const start = o;
    if (start + timeOffset + 4 > n) throw new FlowRowsFormatError(`a row is cut short at byte ${start}`);
    const idLo = b.readUInt32LE(start);
    const idHi = b.readUInt32LE(start + 4);
    const t = b.readUInt32LE(start + timeOffset);
    for (const fixed of beforeString) {
      o += fixed;
      let len = 0;
      let shift = 0;
      for (;;) {
        if (o >= n || shift > 28)
          throw new FlowRowsFormatError(`bad string length in the row at byte ${start}`);
        const x = b[o++];
        len += (x & 0x7f) * 2 ** shift;
        if (x < 0x80) break;
        shift += 7;
      }
      o += len;
    }
    o += after;
    if (o > n) throw new FlowRowsFormatError(`a row is cut short at byte ${start}`);
    visit(idHi, idLo, t, start, o);
    rows++;
  }
  return rows;
}

const ROLLUP_LAYOUT = rowLayout(ROLLUP_ROW_KINDS, 0);

/** Walks staging rows (ROLLUP_INSERT_COLUMNS); returns how many there are. */
export function scanRollupRows(b: Buffer, visit: RowVisitor = () => {}): number {
  return scanRows(ROLLUP_LAYOUT, b, visit);
}
