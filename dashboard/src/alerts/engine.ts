/**
 * The evaluator: runs inside the dashboard process (DESIGN.md: several dashboards are
 * interchangeable, so each runs one; the lease lets one act at a time). Every `tickMs`:
 *
 * 1. hold the lease (lease.ts); a dashboard without it does nothing else;
 * 2. on taking the lease: load every key's state from ClickHouse (a restart, or another
 *    dashboard's state after a hand-over, continues where it stopped);
 * 3. read the rules (any dashboard may have changed them) and evaluate those whose interval
 *    slot has come, batched (evaluate.ts);
 * 4. write, in this order: events (idempotent ids), deliveries not yet stored, new key
 *    states. A crash between steps re-computes the same transition with the same ids next
 *    time, so it is neither lost nor sent twice;
 * 5. send due deliveries (delivery.ts).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import type { DashboardConfig } from '../config.ts';
import { isIdle, type KeyState } from './condition.ts';
import { createDeliverer, deliveryId } from './delivery.ts';
import { type EvaluationStats, evaluateRules, type KeyOutcome } from './evaluate.ts';
import { createLease } from './lease.ts';
import { MEASURE_UNIT, type Rule } from './model.ts';
import {
  type AlertEvent,
  type AlertStore,
  createAlertStore,
  type Delivery,
  type StoredState,
} from './store.ts';
import { renderBody, type WebhookEvent } from './webhook.ts';

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Evaluator {
  readonly owner: string;
  readonly store: AlertStore;
  start(): void;
  /** stops ticking, waits for requests in flight, gives the lease up */
  stop(): Promise<void>;
  /** stops at once as a crash would: the lease stays until it expires, requests in flight are left */
  abandon(): void;
  /** one tick now (tests, bench); resolves when it is done */
  tick(): Promise<void>;
  isLeader(): boolean;
  lastStats(): EvaluationStats | null;
}

const sk = (ruleId: string, key: string) => `${ruleId}\0${key}`;

export function toWebhookEvent(
  rule: Rule,
  o: Pick<KeyOutcome, 'key' | 'value' | 'judgement' | 'windowEnd'>,
  e: { kind: WebhookEvent['type']; eventId: string; started: number },
): WebhookEvent {
  return {
    type: e.kind,
    eventId: e.eventId,
    time: o.windowEnd,
    rule: {
      id: rule.id,
      name: rule.name,
      tenant: rule.tenant,
      measure: rule.measure,
      unit: MEASURE_UNIT[rule.measure],
      condition: rule.condition,
      groupBy: rule.groupBy,
      scope: { ...rule.scope },
    },
    groupKey: o.key ? (JSON.parse(o.key) as Record<string, string>) : {},
    value: o.value,
    threshold: o.judgement.threshold,
    baseline: o.judgement.reference,
    windowSeconds: rule.windowSeconds,
    windowEnd: o.windowEnd,
    startedAt: e.started,
    resolvedAt: e.kind === 'resolved' ? o.windowEnd : null,
  };
}

/** The delivery rows of one webhook event, one per target, bodies rendered now. */
export function deliveriesFor(rule: Rule, ev: WebhookEvent, publicUrl: string, nowSec: number): Delivery[] {
  return rule.targets.map((t, i) => {
    const id = deliveryId(ev.eventId, i, t.url);
    return {
      id,
      eventId: ev.eventId,
      ruleId: rule.id,
      tenant: rule.tenant,
      kind: ev.type,
      target: t.url,
      format: t.format,
      body: renderBody(t.format, ev, id, publicUrl),
      status: 'pending',
      attempts: 0,
      statusCode: 0,
      error: '',
      created: nowSec,
      nextAttempt: nowSec,
      updated: nowSec,
    };
  });
}

export function createEvaluator(opts: {
  ch: ClickHouse;
  config: DashboardConfig;
  log: Logger;
  /** the dashboard's address for links in webhooks */
  publicUrl: () => string;
  now?: () => number;
}): Evaluator {
  const { ch, log } = opts;
  const cfg = opts.config.alerts;
  const now = opts.now ?? Date.now;
  const owner = cfg.instanceId || `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const store = createAlertStore(ch);
  const lease = createLease(ch, {
    owner,
    ttlMs: cfg.leaseSeconds * 1000,
    settleMs: Math.min(500, cfg.leaseSeconds * 100),
  });
  let rules = new Map<string, Rule>();
  const states = new Map<string, StoredState>();
  const lastSlot = new Map<string, string>();
  let leader = false;
  let stats: EvaluationStats | null = null;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> | null = null;
  let stopped = false;

  const deliverer = createDeliverer({
    store,
    config: cfg,
    owner,
    ruleOf: async (id) => rules.get(id) ?? (await store.getRule(id)),
    mayStart: () => !stopped && lease.held(),
    mayWrite: () => lease.held(),
    log,
    now,
  });

  async function takeOver(): Promise<void> {
    states.clear();
    lastSlot.clear();
    for (const s of await store.loadStates()) states.set(sk(s.ruleId, s.key), s);
    deliverer.takeOver();
    log.info({ owner, keys: states.size }, 'alerts: this dashboard evaluates rules now');
  }

  /** due when the rule's interval slot (or its definition) changed since its last evaluation */
  function due(rule: Rule, nowSec: number): boolean {
    const slot = `${Math.floor(nowSec / rule.intervalSeconds)}:${rule.version}`;
    if (lastSlot.get(rule.id) === slot) return false;
    lastSlot.set(rule.id, slot);
    return true;
  }

  async function persist(outcomes: KeyOutcome[], nowSec: number): Promise<void> {
    const events: AlertEvent[] = [];
    const deliveries: Delivery[] = [];
    const changed: StoredState[] = [];
    for (const o of outcomes) {
      const { rule, key, next, prev, event } = o;
      if (event) {
        const ev = toWebhookEvent(rule, o, {
          kind: event.kind,
          eventId: event.eventId,
          started: event.started,
        });
        events.push({
          eventId: event.eventId,
          ruleId: rule.id,
          ruleName: rule.name,
          tenant: rule.tenant,
          key,
          kind: event.kind,
          time: o.windowEnd,
          started: event.started,
          value: o.value,
          threshold: o.judgement.threshold,
          windowSeconds: rule.windowSeconds,
          detail: {
            baseline: o.judgement.reference,
            unit: MEASURE_UNIT[rule.measure],
            measure: rule.measure,
          },
        });
        deliveries.push(...deliveriesFor(rule, ev, opts.publicUrl(), nowSec));
      }
      const stateChanged =
        event !== null ||
        next.state !== prev.state ||
        next.history !== prev.history ||
        next.okStreak !== prev.okStreak ||
        next.notified !== prev.notified;
      const stored: StoredState = { ...next, ruleId: rule.id, key, tenant: rule.tenant };
      if (stateChanged && !(isIdle(next, o.windowEnd) && isIdle(prev, o.windowEnd))) changed.push(stored);
      if (isIdle(next, o.windowEnd)) states.delete(sk(rule.id, key));
      else states.set(sk(rule.id, key), stored);
    }
    await store.insertEvents(events);
    const existing = await store.existingDeliveries(deliveries.map((d) => d.id));
    await store.writeDeliveries(deliveries.filter((d) => !existing.has(d.id)));
    await store.saveStates(changed);
    for (const e of events)
      log.info(
        { rule: e.ruleId, key: e.key, kind: e.kind, value: e.value },
        `alert ${e.kind}: ${e.ruleName}`,
      );
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    const mine = await lease.hold();
    if (!mine) {
      if (leader) log.info({ owner }, 'alerts: lease lost, standing by');
      leader = false;
      return;
    }
    if (!leader) {
      await takeOver();
      leader = true;
    }
    rules = new Map((await store.listRules()).map((r) => [r.id, r]));
    for (const id of lastSlot.keys()) if (!rules.has(id)) lastSlot.delete(id);
    const nowSec = Math.floor(now() / 1000);
    const dueRules = [...rules.values()].filter((r) => r.enabled && due(r, nowSec));
    if (dueRules.length > 0) {
      // keys pending or firing are evaluated even when they have no traffic now (to resolve)
      const live = new Map<string, string[]>();
      for (const st of states.values())
        if (st.state !== 'ok') live.set(st.ruleId, [...(live.get(st.ruleId) ?? []), st.key]);
      const { outcomes, stats: s } = await evaluateRules(ch, dueRules, nowSec, {
        lagSeconds: cfg.lagSeconds,
        maxKeysPerRule: cfg.maxKeysPerRule,
        stateOf: (ruleId, key) => states.get(sk(ruleId, key)) as KeyState | undefined,
        knownKeys: (ruleId) => live.get(ruleId) ?? [],
      });
      stats = s;
      // a lease lost during a slow evaluation: another dashboard acts now; write nothing
      if (!lease.held()) return;
      await persist(outcomes, nowSec);
    }
    await deliverer.tick();
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      current = tick()
        .catch((err) => log.error({ err }, 'alerts: evaluation failed'))
        .finally(() => {
          current = null;
          schedule();
        });
    }, cfg.tickMs);
    timer.unref?.();
  }

  return {
    owner,
    store,
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
      await deliverer.idle();
      await lease.release().catch((err) => log.warn({ err }, 'alerts: could not release the lease'));
      leader = false;
    },
    async tick() {
      while (current) await current;
      const p = tick();
      current = p.finally(() => {
        current = null;
      });
      await current;
    },
    abandon() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    isLeader: () => leader && lease.held(),
    lastStats: () => stats,
  };
}
