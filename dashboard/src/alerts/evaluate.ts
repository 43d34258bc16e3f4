/**
 * One evaluation of a set of rules at one moment: the batched queries (query.ts), the
 * exporter facts (exporters.ts), then per rule and key the judgement and the state step
 * (condition.ts). Knows nothing of persistence or scheduling, so the engine, the "test
 * against the last hour" route and the tests share it.
 */
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import {
  INITIAL_STATE,
  isIdle,
  type Judgement,
  judge,
  type KeyState,
  step,
  type Transition,
} from './condition.ts';
import { exporterFacts } from './exporters.ts';
import { EXPORTER_MEASURES, type Rule } from './model.ts';
import { batchSql, keyOf, planBatches, type ProbeResult, readBatch, windowEnd } from './query.ts';

export interface KeyOutcome {
  rule: Rule;
  key: string;
  value: number;
  judgement: Judgement;
  /** end of the window evaluated (unix seconds) */
  windowEnd: number;
  prev: KeyState;
  next: KeyState;
  event: Transition | null;
}

export interface EvaluationStats {
  queries: number;
  ms: number;
  batches: number;
}

export interface EvaluateOptions {
  lagSeconds: number;
  maxKeysPerRule: number;
  /** the stored state of a key, if any */
  stateOf(ruleId: string, key: string): KeyState | undefined;
  /** keys of the rule that have a state worth evaluating even without data now */
  knownKeys(ruleId: string): Iterable<string>;
  /** cap on rows one batch query may return */
  maxRows?: number;
  /** rules per batch query (query.ts DEFAULT_BATCH) */
  maxPerBatch?: number;
}

const UNJUDGED: Judgement = { match: false, clear: true, threshold: 0, reference: null };

function keysFor(rule: Rule, present: Map<string, number>, opts: EvaluateOptions): string[] {
  const known = [...opts.knownKeys(rule.id)];
  if (rule.groupBy.length === 0 && !EXPORTER_MEASURES.has(rule.measure)) return [''];
  const top = [...present.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, opts.maxKeysPerRule)
    .map(([k]) => k);
  return [...new Set([...top, ...known])];
}

function outcome(
  rule: Rule,
  key: string,
  value: number,
  j: Judgement,
  end: number,
  opts: EvaluateOptions,
): KeyOutcome {
  const prev = opts.stateOf(rule.id, key) ?? INITIAL_STATE;
  const { next, event } = step(rule, key, prev, j, value, end);
  return { rule, key, value, judgement: j, windowEnd: end, prev, next, event };
}

function flowOutcomes(rule: Rule, end: number, res: ProbeResult, opts: EvaluateOptions): KeyOutcome[] {
  const current = new Map<string, number>();
  for (const [key, m] of res.values) if (m.has(0)) current.set(key, m.get(0) ?? 0);
  const out: KeyOutcome[] = [];
  for (const key of keysFor(rule, current, opts)) {
    const value = current.get(key) ?? 0;
    const past = new Map<number, number | undefined>();
    for (const [k, v] of res.values.get(key) ?? []) if (k > 0) past.set(k, v);
    for (const k of res.windowsWithData) if (k > 0 && !past.has(k)) past.set(k, 0);
    const flows = res.flows.get(key) ?? 0;
    const enough = rule.minFlowsPerSecond <= 0 || flows >= rule.minFlowsPerSecond * rule.windowSeconds;
    const j = enough ? judge(rule.condition, rule.resolve.ratio, value, past, rule.windowSeconds) : UNJUDGED;
    out.push(outcome(rule, key, value, j, end, opts));
  }
  return out;
}

/** Evaluates `rules` as of `nowSec`. */
export async function evaluateRules(
  ch: ClickHouse,
  rules: readonly Rule[],
  nowSec: number,
  opts: EvaluateOptions,
): Promise<{ outcomes: KeyOutcome[]; stats: EvaluationStats }> {
  const t0 = performance.now();
  const stats: EvaluationStats = { queries: 0, ms: 0, batches: 0 };
  const outcomes: KeyOutcome[] = [];
  const flowRules = rules.filter((r) => !EXPORTER_MEASURES.has(r.measure));
  const exporterRules = rules.filter((r) => EXPORTER_MEASURES.has(r.measure));

  const batches = planBatches(flowRules, nowSec, opts.lagSeconds, opts.maxPerBatch);
  stats.batches = batches.length;
  for (const b of batches) {
    const rows = await ch.query<Record<string, unknown>>(batchSql(ch.database, b, opts.maxRows ?? 100_000));
    stats.queries++;
    const results = readBatch(b, rows);
    for (const [i, p] of b.probes.entries()) outcomes.push(...flowOutcomes(p.rule, b.end, results[i], opts));
  }

  if (exporterRules.length > 0) {
    const end = nowSec - opts.lagSeconds;
    const window = Math.max(...exporterRules.map((r) => r.windowSeconds));
    const facts = await exporterFacts(ch, end, window);
    stats.queries++;
    for (const rule of exporterRules) {
      const source = rule.measure === 'seq_loss' ? facts.loss : facts.lastSeen;
      const values = new Map<string, number>();
      for (const [addr, v] of source) {
        if (rule.scope.exporter !== undefined && rule.scope.exporter !== addr) continue;
        values.set(keyOf(['exporter'], [addr]), rule.measure === 'seq_loss' ? v : Math.max(0, nowSec - v));
      }
      for (const key of keysFor(rule, values, opts)) {
        const value = values.get(key) ?? 0;
        const j = values.has(key)
          ? judge(rule.condition, rule.resolve.ratio, value, new Map(), rule.windowSeconds)
          : UNJUDGED;
        outcomes.push(outcome(rule, key, value, j, end, opts));
      }
    }
  }
  stats.ms = performance.now() - t0;
  return { outcomes, stats };
}

export interface SimulatedEvent {
  time: string;
  kind: Transition['kind'];
  key: string;
  value: number;
  threshold: number;
}

/**
 * "Would have fired at …": the rule evaluated over [start, end) from a clean state, at its
 * interval (or coarser, to stay within `maxSteps` queries), with nothing stored or sent.
 */
export async function simulate(
  ch: ClickHouse,
  rule: Rule,
  start: number,
  end: number,
  opts: { lagSeconds: number; maxKeysPerRule: number; maxSteps?: number },
): Promise<{ events: SimulatedEvent[]; evaluations: number; stepSeconds: number; firingAtEnd: string[] }> {
  const maxSteps = opts.maxSteps ?? 120;
  const stepSeconds = Math.max(rule.intervalSeconds, Math.ceil((end - start) / maxSteps));
  const states = new Map<string, KeyState>();
  const events: SimulatedEvent[] = [];
  let evaluations = 0;
  for (let t = start + stepSeconds; t <= end; t += stepSeconds) {
    // the simulation judges the data as stored now: no ingest lag
    const { outcomes } = await evaluateRules(ch, [{ ...rule, enabled: true }], t + opts.lagSeconds, {
      lagSeconds: opts.lagSeconds,
      maxKeysPerRule: opts.maxKeysPerRule,
      stateOf: (_r, key) => states.get(key),
      knownKeys: () => [...states.keys()],
    });
    evaluations++;
    for (const o of outcomes) {
      if (isIdle(o.next, o.windowEnd)) states.delete(o.key);
      else states.set(o.key, o.next);
      if (o.event)
        events.push({
          time: new Date(o.windowEnd * 1000).toISOString(),
          kind: o.event.kind,
          key: o.key,
          value: o.value,
          threshold: o.judgement.threshold,
        });
    }
  }
  const firingAtEnd = [...states.entries()].filter(([, s]) => s.state === 'firing').map(([k]) => k);
  return { events, evaluations, stepSeconds, firingAtEnd };
}

export { windowEnd };
