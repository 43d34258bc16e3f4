/**
 * Webhook delivery: every (event, target) is a row in `alert_deliveries` before anything is
 * sent, so nothing is lost to a restart. The lease holder sends due rows; before each HTTP
 * attempt the row goes to `sending` (attempts + 1), after it to `delivered`, `failed` (no
 * retry left, or an answer that retrying cannot change: 4xx other than 408/429, a refused
 * target) or back to `pending` with the next attempt after an exponential backoff with
 * jitter. A row found in `sending` by a new holder (the process stopped mid-request) is
 * sent again once, as its next attempt; the receiver can recognise the repeat by its
 * X-Vxflow-Delivery id. Every attempt is logged in `alert_delivery_attempts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DashboardConfig } from '../config.ts';
import type { Rule } from './model.ts';
import type { AlertStore, Delivery } from './store.ts';
import { backoffMs, post, type SendResult, sign } from './webhook.ts';

export type AlertsConfig = DashboardConfig['alerts'];

export function deliveryId(eventId: string, targetIndex: number, url: string): string {
  return createHash('sha256').update(`${eventId}\0${targetIndex}\0${url}`).digest('hex').slice(0, 32);
}

export function signedHeaders(
  secret: string | undefined,
  body: string,
  d: Pick<Delivery, 'id' | 'kind' | 'eventId'>,
  nowSec: number,
): Record<string, string> {
  const h: Record<string, string> = {
    'x-vxflow-delivery': d.id,
    'x-vxflow-event': d.kind,
    'x-vxflow-event-id': d.eventId,
    'x-vxflow-timestamp': String(nowSec),
  };
  if (secret) h['x-vxflow-signature'] = sign(secret, nowSec, body);
  return h;
}

export interface Deliverer {
  /** sends what is due now (lease holder only); returns when the due ones have started */
  tick(): Promise<void>;
  /** rows left in `sending` by a previous holder become due again */
  takeOver(): void;
  /** waits until no request of this process is in flight */
  idle(): Promise<void>;
  inFlight(): number;
}

export function createDeliverer(opts: {
  store: AlertStore;
  config: AlertsConfig;
  owner: string;
  /** the rule (for its target secrets) as the engine knows it now, or null when deleted */
  ruleOf(id: string): Promise<Rule | null>;
  /** whether this process may start a request (running, holding the lease) */
  mayStart(): boolean;
  /**
   * whether it may still write a delivery's outcome: it holds the lease (a graceful stop
   * keeps it until requests in flight are done; a process that lost it leaves the row to
   * the new holder, which sends it again)
   */
  mayWrite(): boolean;
  log: { warn(obj: object, msg: string): void };
  now?: () => number;
}): Deliverer {
  const { store, config } = opts;
  const now = opts.now ?? Date.now;
  const running = new Map<string, Promise<void>>();
  let orphansDue = true;

  async function attempt(d: Delivery, resumed: boolean): Promise<void> {
    const n = d.attempts + 1;
    const nowSec = () => Math.floor(now() / 1000);
    await store.writeDeliveries([{ ...d, status: 'sending', attempts: n, updated: nowSec() }]);
    const rule = await opts.ruleOf(d.ruleId);
    const idx = rule?.targets.findIndex((t, i) => deliveryId(d.eventId, i, t.url) === d.id) ?? -1;
    const target = rule && idx >= 0 ? rule.targets[idx] : null;
    let r: SendResult;
    if (!target) {
      r = { status: 0, error: 'the rule or this target was deleted', durationMs: 0, retry: false };
    } else {
      const ts = nowSec();
      r = await post(d.target, d.body, signedHeaders(target?.secret, d.body, d, ts), {
        timeoutMs: config.delivery.timeoutMs,
        allowPrivate: config.allowPrivateTargets,
      });
    }
    // an attempt that repeats one left in flight by a stopped sender says so in the log
    const error = resumed
      ? `${r.error ? `${r.error}; ` : ''}resent: it was in flight when its sender stopped`
      : r.error;
    await store.logAttempt(d.id, {
      attempt: n,
      time: nowSec(),
      statusCode: r.status,
      error,
      durationMs: r.durationMs,
      owner: opts.owner,
    });
    // the lease passed on while the request was out: the new holder owns the row now
    if (!opts.mayWrite()) return;
    const delivered = r.status >= 200 && r.status < 300;
    const last = n >= config.delivery.maxAttempts || !r.retry;
    const next =
      nowSec() + Math.ceil(backoffMs(n, config.delivery.backoffBaseMs, config.delivery.backoffMaxMs) / 1000);
    await store.writeDeliveries([
      {
        ...d,
        attempts: n,
        statusCode: r.status,
        error,
        status: delivered ? 'delivered' : last ? 'failed' : 'pending',
        nextAttempt: delivered || last ? 0 : next,
        updated: nowSec(),
      },
    ]);
    if (!delivered)
      opts.log.warn({ delivery: d.id, attempt: n, status: r.status, error }, 'webhook delivery failed');
  }

  function start(d: Delivery, resumed: boolean): void {
    if (running.has(d.id)) return;
    const p = attempt(d, resumed)
      .catch((err) => opts.log.warn({ err, delivery: d.id }, 'webhook delivery error'))
      .finally(() => running.delete(d.id));
    running.set(d.id, p);
  }

  return {
    async tick() {
      if (!opts.mayStart()) return;
      const nowSec = Math.floor(now() / 1000);
      const due = await store.deliveries({
        status: ['pending', 'sending'],
        since: nowSec - 2 * 86_400,
        limit: 200,
      });
      for (const d of due) {
        if (running.has(d.id)) continue;
        if (d.status === 'sending') {
          // not ours (we track ours): a previous holder stopped mid-request
          if (orphansDue) start(d, true);
          continue;
        }
        if (d.nextAttempt <= nowSec && running.size < 16 && opts.mayStart()) start(d, false);
      }
      orphansDue = false;
    },
    takeOver() {
      orphansDue = true;
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
    inFlight: () => running.size,
  };
}

/** A fresh secret for a target that has none. */
export const newSecret = () => randomBytes(24).toString('base64url');
