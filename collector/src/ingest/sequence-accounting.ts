/**
 * Loss and reordering from header sequence numbers, per exporter + observation domain.
 * What the number counts differs by protocol: v9 counts export packets, IPFIX counts data
 * records sent before this message, v5 counts flows sent before this packet. A jump
 * forward is loss, a small step back is a reordered (late) packet, a big step back is an
 * exporter restart (we resynchronise without counting anything).
 */

export interface SequenceState {
  next: number;
  started: boolean;
}

export interface SequenceVerdict {
  lostPackets: number;
  lostRecords: number;
  reordered: boolean;
}

/** the largest gap still read as loss; bigger jumps are restarts or resets */
const MAX_GAP = 1_000_000;

export function newSequenceState(): SequenceState {
  return { next: 0, started: false };
}

/**
 * Updates `st` for a message with header sequence `seq` that carried `records` data
 * records, and says what was lost.
 */
export function observeSequence(
  st: SequenceState,
  version: number,
  seq: number,
  records: number,
): SequenceVerdict {
  const step = version === 9 ? 1 : records;
  const verdict: SequenceVerdict = { lostPackets: 0, lostRecords: 0, reordered: false };
  if (!st.started) {
    st.started = true;
    st.next = (seq + step) >>> 0;
    return verdict;
  }
  const gap = (seq - st.next) >>> 0;
  if (gap === 0) {
    st.next = (seq + step) >>> 0;
  } else if (gap < MAX_GAP) {
    if (version === 9) verdict.lostPackets = gap;
    else verdict.lostRecords = gap;
    st.next = (seq + step) >>> 0;
  } else {
    const back = (st.next - seq) >>> 0;
    if (back <= MAX_GAP) verdict.reordered = true;
    else st.next = (seq + step) >>> 0; // restart: resynchronise
  }
  return verdict;
}
