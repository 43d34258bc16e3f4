/**
 * Turns successive datapath dumps into flow records by diffing each flow's counters:
 *
 * - a flow seen for the first time starts a record with its counters as they are;
 * - a flow whose counters grew adds the difference to its record;
 * - a flow whose counters went DOWN was deleted and re-installed between polls: its record
 *   ends (reason 4, forced end) and a new one starts with the new counters;
 * - a flow missing from a dump was removed by OVS (idle, ~10 s by default): its record ends
 *   with reason 1 (idle timeout), or 3 (end of flow) when TCP FIN/RST was seen;
 * - a record open for longer than the active timeout ends with reason 2 and the flow goes on
 *   in a new record.
 *
 * Records with no packets are never emitted.
 */
import type { FlowRecord } from '../../../../protocol/src/schema/columns.ts';
import type { DpFlow } from './dpctl-parse.ts';
import { type MappedFlow, tcpFlagsFromLetters } from './dpctl-map.ts';
import {
  END_ACTIVE,
  END_FORCED,
  END_IDLE,
  END_OF_FLOW,
} from '../../../../protocol/src/ie/flow-end-reason.ts';

interface Tracked {
  /** datapath counters at the last poll */
  lastPackets: number;
  lastBytes: number;
  /** the open record; packets/bytes count since it started */
  record: FlowRecord;
  packets: number;
  bytes: number;
  startedMs: number;
  l2Overhead: number;
  seenInPoll: number;
}

export interface FlowTracker {
  /**
   * Applies one dump taken at `nowMs`; returns the records that ended. `map` turns a flow
   * into its record template (null = do not track, e.g. non-IP or underlay).
   */
  update(flows: readonly DpFlow[], nowMs: number, map: (f: DpFlow) => MappedFlow | null): FlowRecord[];
  /** ends every open record (reason 4, forced end), e.g. at shutdown */
  flushAll(nowMs: number): FlowRecord[];
  readonly size: number;
}

export function createFlowTracker(opts: { activeTimeoutMs: number }): FlowTracker {
  const flows = new Map<string, Tracked>();
  let poll = 0;

  function close(t: Tracked, reason: number, out: FlowRecord[]) {
    if (t.packets <= 0) return;
    const r = t.record;
    r.packets = t.packets;
    r.bytes = Math.max(0, t.bytes - t.packets * t.l2Overhead);
    const fin = ((r.tcp_flags as number) & 0x05) !== 0;
    r.flow_end_reason = reason === END_IDLE && fin ? END_OF_FLOW : reason;
    out.push(r);
  }

  function startRecord(t: Tracked, template: FlowRecord, nowMs: number) {
    t.record = { ...template };
    t.packets = 0;
    t.bytes = 0;
    t.startedMs = nowMs;
    t.record.flow_start = 0;
  }

  function addDelta(t: Tracked, dp: number, db: number, lastUsedMs: number, pollMs: number) {
    if (dp <= 0) return;
    if (t.packets === 0) t.record.flow_start = Math.min(lastUsedMs, pollMs);
    t.packets += dp;
    t.bytes += db;
    t.record.flow_end = lastUsedMs;
  }

  return {
    update(dump, nowMs, map) {
      poll += 1;
      const ended: FlowRecord[] = [];
      for (const f of dump) {
        const lastUsedMs = f.usedS === null ? nowMs : Math.round(nowMs - f.usedS * 1000);
        let t = flows.get(f.id);
        if (!t) {
          const m = map(f);
          if (!m) continue;
          t = {
            lastPackets: 0,
            lastBytes: 0,
            record: m.record,
            packets: 0,
            bytes: 0,
            startedMs: nowMs,
            l2Overhead: m.l2Overhead,
            seenInPoll: poll,
          };
          startRecord(t, m.record, nowMs);
          flows.set(f.id, t);
        }
        t.seenInPoll = poll;
        if (f.packets < t.lastPackets || f.bytes < t.lastBytes) {
          // re-installed between polls: the old record is over, the counters start again
          const template = t.record;
          close(t, END_FORCED, ended);
          startRecord(t, template, nowMs);
          t.lastPackets = 0;
          t.lastBytes = 0;
        }
        addDelta(t, f.packets - t.lastPackets, f.bytes - t.lastBytes, lastUsedMs, nowMs);
        t.lastPackets = f.packets;
        t.lastBytes = f.bytes;
        if (f.tcpFlags) t.record.tcp_flags = (t.record.tcp_flags as number) | tcpFlagsFromLetters(f.tcpFlags);
        if (t.packets > 0 && nowMs - t.startedMs >= opts.activeTimeoutMs) {
          const template = t.record;
          close(t, END_ACTIVE, ended);
          startRecord(t, template, nowMs);
        }
      }
      for (const [id, t] of flows) {
        if (t.seenInPoll !== poll) {
          close(t, END_IDLE, ended);
          flows.delete(id);
        }
      }
      return ended;
    },
    flushAll(nowMs) {
      const ended: FlowRecord[] = [];
      for (const t of flows.values()) {
        if (t.packets > 0 && t.record.flow_end === 0) t.record.flow_end = nowMs;
        close(t, END_FORCED, ended);
      }
      flows.clear();
      return ended;
    },
    get size() {
      return flows.size;
    },
  };
}
