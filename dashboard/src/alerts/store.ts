/**
 * Alert state in ClickHouse (tables: storage/src/alert-tables.ts). Rows are versioned and
 * never updated in place; reads take the newest version per key with argMax over `version`
 * rather than `FINAL … WHERE status = …`, because a filter on a non-key column may be
 * applied before FINAL collapses the versions (PREWHERE), which would resurrect an old one.
 */
import { randomBytes } from 'node:crypto';
import type { ClickHouse } from '../../../storage/src/clickhouse.ts';
import { dateTime, ident, sql } from '../../../storage/src/sql.ts';
import type { KeyState } from './condition.ts';
import type { Rule, RuleSpec } from './model.ts';

const iso = (unix: number) => new Date(unix * 1000).toISOString();

/** Strictly increasing in this process, and ordered across processes by wall clock (µs). */
let lastVersion = 0;
export function nextVersion(): number {
  lastVersion = Math.max(lastVersion + 1, Date.now() * 1000);
  return lastVersion;
}

export interface AlertEvent {
  eventId: string;
  ruleId: string;
  ruleName: string;
  tenant: string | null;
  key: string;
  kind: 'firing' | 'resolved' | 'renotify';
  time: number;
  started: number;
  value: number;
  threshold: number;
  windowSeconds: number;
  detail: Record<string, unknown>;
}

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';

export interface Delivery {
  id: string;
  eventId: string;
  ruleId: string;
  tenant: string | null;
  kind: string;
  target: string;
  format: 'json' | 'slack';
  body: string;
  status: DeliveryStatus;
  attempts: number;
  statusCode: number;
  error: string;
  created: number;
  nextAttempt: number;
  updated: number;
}

export interface DeliveryAttempt {
  attempt: number;
  time: string;
  statusCode: number;
  error: string;
  durationMs: number;
  owner: string;
}

export interface StoredState extends KeyState {
  ruleId: string;
  key: string;
  tenant: string | null;
}

const tenantOf = (t: string): string | null => (t === '' ? null : t);

export function createAlertStore(ch: ClickHouse) {
  const db = ident(ch.database);
  const dbName = ch.database;

  function toRule(r: Record<string, unknown>): Rule {
    const def = JSON.parse(String(r.definition_)) as RuleSpec;
    return {
      ...def,
      id: String(r.id),
      tenant: tenantOf(String(r.tenant_)),
      name: String(r.name_),
      enabled: Number(r.enabled_) === 1,
      builtin: String(r.builtin_),
      created: iso(Number(r.created_)),
      updated: iso(Number(r.updated_)),
      version: Number(r.version_),
    };
  }

  async function rules(where = '1'): Promise<Rule[]> {
    const rows = await ch.query<Record<string, unknown>>(
      `SELECT id, argMax(tenant, version) AS tenant_, argMax(name, version) AS name_, argMax(enabled, version) AS enabled_,
              argMax(builtin, version) AS builtin_, argMax(definition, version) AS definition_,
              toUnixTimestamp(argMax(created, version)) AS created_, toUnixTimestamp(argMax(updated, version)) AS updated_,
              argMax(deleted, version) AS deleted_, max(version) AS version_
       FROM ${dbName}.alert_rules WHERE ${where} GROUP BY id HAVING deleted_ = 0 ORDER BY created_, id`,
    );
    return rows.map(toRule);
  }

  async function writeRule(rule: Rule, author: string, deleted = false): Promise<Rule> {
    const version = nextVersion();
    const { id, tenant, builtin, created, updated: _u, version: _v, ...spec } = rule;
    const now = Date.now();
    await ch.command(
      sql`INSERT INTO ${db}.alert_rules (id, tenant, name, enabled, builtin, definition, created, updated, author, deleted, version) VALUES (${id}, ${tenant ?? ''}, ${rule.name}, ${rule.enabled ? 1 : 0}, ${builtin}, ${JSON.stringify(spec)}, ${dateTime(new Date(created))}, ${dateTime(now)}, ${author}, ${deleted ? 1 : 0}, ${version})`,
    );
    return { ...rule, updated: new Date(Math.floor(now / 1000) * 1000).toISOString(), version };
  }

  return {
    /** every live rule, or those of one tenant (null: global ones; undefined: all) */
    async listRules(tenant?: string | null): Promise<Rule[]> {
      if (tenant === undefined) return rules();
      return rules(sql`tenant = ${tenant ?? ''}`);
    },

    async getRule(id: string): Promise<Rule | null> {
      if (!/^[0-9a-f]{16}$/.test(id)) return null;
      const [r] = await rules(sql`id = ${id}`);
      return r ?? null;
    },

    async createRule(
      spec: RuleSpec,
      opts: { tenant: string | null; builtin?: string; author: string },
    ): Promise<Rule> {
      const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
      const { tenant: _t, ...rest } = spec;
      const rule: Rule = {
        ...rest,
        id: randomBytes(8).toString('hex'),
        tenant: opts.tenant,
        builtin: opts.builtin ?? '',
        created: now,
        updated: now,
        version: 0,
      };
      return writeRule(rule, opts.author);
    },

    saveRule: (rule: Rule, author: string) => writeRule(rule, author),
    deleteRule: (rule: Rule, author: string) => writeRule(rule, author, true).then(() => undefined),

    // ---- state

    async loadStates(): Promise<StoredState[]> {
      const rows = await ch.query<Record<string, unknown>>(
        `SELECT rule_id, group_key, argMax(tenant, version) AS tenant_, argMax(state, version) AS state_, argMax(seq, version) AS seq_,
                argMax(history, version) AS history_, toUnixTimestamp(argMax(since, version)) AS since_,
                toUnixTimestamp(argMax(last_eval, version)) AS last_eval_, argMax(last_value, version) AS last_value_,
                argMax(threshold, version) AS threshold_, argMax(ok_streak, version) AS ok_streak_,
                toUnixTimestamp(argMax(notified, version)) AS notified_, toUnixTimestamp(argMax(cooldown_until, version)) AS cooldown_until_,
                argMax(event_id, version) AS event_id_
         FROM ${dbName}.alert_state GROUP BY rule_id, group_key`,
      );
      return rows.map((r) => ({
        ruleId: String(r.rule_id),
        key: String(r.group_key),
        tenant: tenantOf(String(r.tenant_)),
        state: String(r.state_) as KeyState['state'],
        seq: Number(r.seq_),
        history: String(r.history_),
        since: Number(r.since_),
        lastEval: Number(r.last_eval_),
        lastValue: Number(r.last_value_),
        threshold: Number(r.threshold_),
        okStreak: Number(r.ok_streak_),
        notified: Number(r.notified_),
        cooldownUntil: Number(r.cooldown_until_),
        eventId: String(r.event_id_),
      }));
    },

    async saveStates(states: readonly StoredState[]): Promise<void> {
      if (states.length === 0) return;
      const values = states.map(
        (s) =>
          sql`(${s.ruleId}, ${s.key}, ${s.tenant ?? ''}, ${s.state}, ${s.seq}, ${s.history}, ${dateTime(s.since * 1000)}, ${dateTime(s.lastEval * 1000)}, ${Number.isFinite(s.lastValue) ? s.lastValue : 0}, ${Number.isFinite(s.threshold) ? s.threshold : 0}, ${s.okStreak}, ${dateTime(s.notified * 1000)}, ${dateTime(s.cooldownUntil * 1000)}, ${s.eventId}, ${nextVersion()})`,
      );
      await ch.command(
        `INSERT INTO ${dbName}.alert_state (rule_id, group_key, tenant, state, seq, history, since, last_eval, last_value, threshold, ok_streak, notified, cooldown_until, event_id, version) VALUES ${values.join(', ')}`,
      );
    },

    /** firing keys now, of one tenant or all */
    async active(tenant?: string | null): Promise<StoredState[]> {
      const where = tenant === undefined ? '' : sql` HAVING tenant_ = ${tenant ?? ''}`;
      const all = await ch.query<Record<string, unknown>>(
        `SELECT rule_id, group_key, argMax(tenant, version) AS tenant_, argMax(state, version) AS state_, argMax(seq, version) AS seq_,
                toUnixTimestamp(argMax(since, version)) AS since_, toUnixTimestamp(argMax(last_eval, version)) AS last_eval_,
                argMax(last_value, version) AS last_value_, argMax(threshold, version) AS threshold_, argMax(event_id, version) AS event_id_
         FROM ${dbName}.alert_state GROUP BY rule_id, group_key${where} ORDER BY since_`,
      );
      return all
        .filter((r) => r.state_ === 'firing')
        .map((r) => ({
          ...({} as KeyState),
          ruleId: String(r.rule_id),
          key: String(r.group_key),
          tenant: tenantOf(String(r.tenant_)),
          state: 'firing',
          seq: Number(r.seq_),
          history: '',
          since: Number(r.since_),
          lastEval: Number(r.last_eval_),
          lastValue: Number(r.last_value_),
          threshold: Number(r.threshold_),
          okStreak: 0,
          notified: 0,
          cooldownUntil: 0,
          eventId: String(r.event_id_),
        }));
    },

    // ---- events

    async insertEvents(events: readonly AlertEvent[]): Promise<void> {
      if (events.length === 0) return;
      const values = events.map(
        (e) =>
          sql`(${e.eventId}, ${e.ruleId}, ${e.ruleName}, ${e.tenant ?? ''}, ${e.key}, ${e.kind}, ${dateTime(e.time * 1000)}, ${dateTime(e.started * 1000)}, ${Number.isFinite(e.value) ? e.value : 0}, ${Number.isFinite(e.threshold) ? e.threshold : 0}, ${e.windowSeconds}, ${JSON.stringify(e.detail)})`,
      );
      await ch.command(
        `INSERT INTO ${dbName}.alert_events (event_id, rule_id, rule_name, tenant, group_key, kind, time, started, value, threshold, window_seconds, detail) VALUES ${values.join(', ')}`,
      );
    },

    async history(opts: {
      tenant?: string | null;
      ruleId?: string;
      start: number;
      end: number;
      limit: number;
    }): Promise<AlertEvent[]> {
      const conds = [`time >= toDateTime(${opts.start})`, `time < toDateTime(${opts.end})`];
      if (opts.tenant !== undefined) conds.push(sql`tenant = ${opts.tenant ?? ''}`);
      if (opts.ruleId !== undefined) conds.push(sql`rule_id = ${opts.ruleId}`);
      // one row per event id even before merges collapse repeated writes
      const rows = await ch.query<Record<string, unknown>>(
        `SELECT event_id, any(rule_id) AS rule_id_, any(rule_name) AS rule_name_, any(tenant) AS tenant_, any(group_key) AS group_key_,
                any(kind) AS kind_, toUnixTimestamp(min(time)) AS time_, toUnixTimestamp(any(started)) AS started_, any(value) AS value_,
                any(threshold) AS threshold_, any(window_seconds) AS window_seconds_, any(detail) AS detail_
         FROM ${dbName}.alert_events WHERE ${conds.join(' AND ')} GROUP BY event_id ORDER BY time_ DESC, event_id LIMIT ${Math.floor(opts.limit)}`,
      );
      return rows.map((r) => ({
        eventId: String(r.event_id),
        ruleId: String(r.rule_id_),
        ruleName: String(r.rule_name_),
        tenant: tenantOf(String(r.tenant_)),
        key: String(r.group_key_),
        kind: String(r.kind_) as AlertEvent['kind'],
        time: Number(r.time_),
        started: Number(r.started_),
        value: Number(r.value_),
        threshold: Number(r.threshold_),
        windowSeconds: Number(r.window_seconds_),
        detail: JSON.parse(String(r.detail_) || '{}') as Record<string, unknown>,
      }));
    },

    // ---- deliveries

    /** the ids among `ids` that already have a delivery row */
    async existingDeliveries(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await ch.query<{ id: string }>(
        `SELECT DISTINCT id FROM ${dbName}.alert_deliveries WHERE id IN (${ids.map((i) => sql`${i}`).join(', ')})`,
      );
      return new Set(rows.map((r) => r.id));
    },

    async writeDeliveries(ds: readonly Delivery[]): Promise<void> {
      if (ds.length === 0) return;
      const values = ds.map(
        (d) =>
          sql`(${d.id}, ${d.eventId}, ${d.ruleId}, ${d.tenant ?? ''}, ${d.kind}, ${d.target}, ${d.format}, ${d.body}, ${d.status}, ${d.attempts}, ${d.statusCode}, ${d.error.slice(0, 4096)}, ${dateTime(d.created * 1000)}, ${dateTime(d.nextAttempt * 1000)}, ${dateTime(d.updated * 1000)}, ${nextVersion()})`,
      );
      await ch.command(
        `INSERT INTO ${dbName}.alert_deliveries (id, event_id, rule_id, tenant, kind, target, format, body, status, attempts, status_code, error, created, next_attempt, updated, version) VALUES ${values.join(', ')}`,
      );
    },

    async deliveries(opts: {
      tenant?: string | null;
      ruleId?: string;
      status?: readonly DeliveryStatus[];
      id?: string;
      /** unix seconds: only deliveries created since */
      since?: number;
      dueBy?: number;
      limit: number;
    }): Promise<Delivery[]> {
      const conds = ['1'];
      if (opts.since !== undefined) conds.push(`created >= toDateTime(${Math.floor(opts.since)})`);
      if (opts.tenant !== undefined) conds.push(sql`tenant = ${opts.tenant ?? ''}`);
      if (opts.ruleId !== undefined) conds.push(sql`rule_id = ${opts.ruleId}`);
      if (opts.id !== undefined) conds.push(sql`id = ${opts.id}`);
      const havings: string[] = [];
      if (opts.status) havings.push(`status_ IN (${opts.status.map((s) => sql`${s}`).join(', ')})`);
      if (opts.dueBy !== undefined) havings.push(`next_attempt_ <= ${Math.floor(opts.dueBy)}`);
      const having = havings.length ? ` HAVING ${havings.join(' AND ')}` : '';
      const rows = await ch.query<Record<string, unknown>>(
        `SELECT id, any(event_id) AS event_id_, any(rule_id) AS rule_id_, any(tenant) AS tenant_, any(kind) AS kind_,
                any(target) AS target_, any(format) AS format_, any(body) AS body_, argMax(status, version) AS status_,
                argMax(attempts, version) AS attempts_, argMax(status_code, version) AS status_code_, argMax(error, version) AS error_,
                toUnixTimestamp(min(created)) AS created_, toUnixTimestamp(argMax(next_attempt, version)) AS next_attempt_,
                toUnixTimestamp(argMax(updated, version)) AS updated_
         FROM ${dbName}.alert_deliveries WHERE ${conds.join(' AND ')} GROUP BY id${having}
         ORDER BY created_ DESC, id LIMIT ${Math.floor(opts.limit)}`,
      );
      return rows.map((r) => ({
        id: String(r.id),
        eventId: String(r.event_id_),
        ruleId: String(r.rule_id_),
        tenant: tenantOf(String(r.tenant_)),
        kind: String(r.kind_),
        target: String(r.target_),
        format: String(r.format_) as Delivery['format'],
        body: String(r.body_),
        status: String(r.status_) as DeliveryStatus,
        attempts: Number(r.attempts_),
        statusCode: Number(r.status_code_),
        error: String(r.error_),
        created: Number(r.created_),
        nextAttempt: Number(r.next_attempt_),
        updated: Number(r.updated_),
      }));
    },

    async logAttempt(id: string, a: Omit<DeliveryAttempt, 'time'> & { time: number }): Promise<void> {
      await ch.command(
        sql`INSERT INTO ${db}.alert_delivery_attempts (delivery_id, attempt, time, status_code, error, duration_ms, owner) VALUES (${id}, ${a.attempt}, ${dateTime(a.time * 1000)}, ${a.statusCode}, ${a.error.slice(0, 4096)}, ${Math.round(a.durationMs)}, ${a.owner})`,
      );
    },

    async attempts(ids: readonly string[]): Promise<Map<string, DeliveryAttempt[]>> {
      const out = new Map<string, DeliveryAttempt[]>();
      if (ids.length === 0) return out;
      const rows = await ch.query<Record<string, unknown>>(
        `SELECT delivery_id, attempt, toUnixTimestamp(time) AS t, status_code, error, duration_ms, owner
         FROM ${dbName}.alert_delivery_attempts WHERE delivery_id IN (${ids.map((i) => sql`${i}`).join(', ')}) ORDER BY delivery_id, attempt, time`,
      );
      for (const r of rows) {
        const id = String(r.delivery_id);
        const list = out.get(id) ?? [];
        list.push({
          attempt: Number(r.attempt),
          time: iso(Number(r.t)),
          statusCode: Number(r.status_code),
          error: String(r.error),
          durationMs: Number(r.duration_ms),
          owner: String(r.owner),
        });
        out.set(id, list);
      }
      return out;
    },
  };
}
export type AlertStore = ReturnType<typeof createAlertStore>;
