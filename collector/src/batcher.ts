/**
 * Gathers encoded RowBinary chunks from the workers into insert batches: a batch is cut at
 * batchMaxRows rows or when its oldest chunk is batchMaxWaitMs old, whichever comes first.
 * A batch is its chunks as they came (not concatenated): the insert streams them, so the
 * receiving thread never copies tens of megabytes per batch.
 */
export interface Batcher {
  add(chunk: Buffer, rows: number): void;
  /** cuts the current batch now (shutdown, tests) */
  cut(): void;
  readonly pendingRows: number;
  stop(): void;
}

export function createBatcher(
  opts: { maxRows: number; maxWaitMs: number },
  onBatch: (parts: Buffer[], rows: number) => void,
): Batcher {
  let parts: Buffer[] = [];
  let rows = 0;
  let firstAt = 0;
  const cut = () => {
    if (rows === 0) return;
    const batch = parts;
    const n = rows;
    parts = [];
    rows = 0;
    onBatch(batch, n);
  };
  const timer = setInterval(
    () => {
      if (rows > 0 && Date.now() - firstAt >= opts.maxWaitMs) cut();
    },
    Math.max(5, Math.min(250, Math.floor(opts.maxWaitMs / 4))),
  );
  return {
    add(chunk, n) {
      if (rows === 0) firstAt = Date.now();
      parts.push(chunk);
      rows += n;
      if (rows >= opts.maxRows) cut();
    },
    cut,
    get pendingRows() {
      return rows;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
