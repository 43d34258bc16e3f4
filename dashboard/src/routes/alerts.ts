/**
 * Alert rules, what fires now, history and webhook deliveries. A tenant token manages and
 * sees only its own tenant's rules, alerts and deliveries (another tenant's rule answers
 * 404, as if it did not exist); its rules evaluate only its own flows. Admins see all, make
 * global rules (no tenant) and rules on a tenant's behalf.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import { builtinsFor } from '../alerts/builtin.ts';
import { deliveryId, newSecret, signedHeaders } from '../alerts/delivery.ts';
import { deliveriesFor, toWebhookEvent } from '../alerts/engine.ts';
import { simulate } from '../alerts/evaluate.ts';
import { checkRule, type Rule, RuleSpec, RuleView } from '../alerts/model.ts';
import { checkTarget, TargetRefused } from '../alerts/ssrf.ts';
import { createAlertStore, type Delivery } from '../alerts/store.ts';
import { post } from '../alerts/webhook.ts';
import type { App } from '../deps.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import { parseRange } from '../query/time-range.ts';
import { errors, identityOf, scopeOf, TenantParam, TimeParam } from './common.ts';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Simulation = Type.Object({
  start: Type.String(),
  end: Type.String(),
  evaluations: Type.Integer(),
  stepSeconds: Type.Integer(),
  events: Type.Array(
    Type.Object({
      time: Type.String(),
      kind: Type.String(),
      key: Type.String(),
      value: Type.Number(),
      threshold: Type.Number(),
    }),
  ),
  firingAtEnd: Type.Array(Type.String()),
  summary: Type.String({
    description: 'e.g. "would have fired at 10:04:00Z (key …), resolved at 10:09:00Z"',
  }),
});
const ActiveAlert = Type.Object({
  ruleId: Type.String(),
  ruleName: Type.String(),
  tenant: Type.Union([Type.String(), Type.Null()]),
  key: Type.String(),
  since: Type.String(),
  lastEvaluated: Type.String(),
  value: Type.Number(),
  threshold: Type.Number(),
  eventId: Type.String(),
});
const HistoryEvent = Type.Object({
  eventId: Type.String(),
  ruleId: Type.String(),
  ruleName: Type.String(),
  tenant: Type.Union([Type.String(), Type.Null()]),
  key: Type.String(),
  kind: Type.String(),
  time: Type.String(),
  started: Type.String(),
  value: Type.Number(),
  threshold: Type.Number(),
  windowSeconds: Type.Integer(),
  detail: Type.Record(Type.String(), Type.Unknown()),
});
const DeliveryView = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  ruleId: Type.String(),
  tenant: Type.Union([Type.String(), Type.Null()]),
  kind: Type.String(),
  target: Type.String(),
  format: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  statusCode: Type.Integer(),
  error: Type.String(),
  created: Type.String(),
  updated: Type.String(),
  nextAttempt: Type.Union([Type.String(), Type.Null()]),
  log: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      time: Type.String(),
      statusCode: Type.Integer(),
      error: Type.String(),
      durationMs: Type.Number(),
      owner: Type.String(),
    }),
  ),
  body: Type.Optional(Type.String()),
});

const iso = (s: number) => new Date(s * 1000).toISOString();

export function alertRoutes(app: App, ctx: RouteContext): void {
  const store = createAlertStore(ctx.ch);
  const cfg = ctx.config.alerts;

  const publicUrl = (req: FastifyRequest) =>
    ctx.config.publicUrl || `${req.protocol}://${req.headers.host ?? ctx.config.listen}`;

  function view(rule: Rule, reveal: ReadonlySet<number> = new Set()): Static<typeof RuleView> {
    return {
      ...rule,
      targets: rule.targets.map((t, i) => ({
        url: t.url,
        format: t.format,
        hasSecret: Boolean(t.secret),
        ...(reveal.has(i) && t.secret ? { secret: t.secret } : {}),
      })),
    };
  }

  /** The rule if the caller may see it; 404 otherwise (another tenant's rule does not exist for you). */
  async function visibleRule(req: FastifyRequest, id: string): Promise<Rule> {
    const who = identityOf(req);
    const rule = await store.getRule(id);
    if (!rule || (who.role === 'tenant' && rule.tenant !== who.tenant)) throw notFound(`no alert rule ${id}`);
    return rule;
  }

  /** Validates a spec for the caller: owner tenant, semantic checks, webhook targets (SSRF). */
  async function prepare(
    req: FastifyRequest,
    spec: RuleSpec,
    previous?: Rule,
  ): Promise<{ tenant: string | null; reveal: Set<number> }> {
    const who = identityOf(req);
    let tenant: string | null;
    if (who.role === 'tenant') {
      if (spec.tenant !== undefined && spec.tenant !== null && spec.tenant !== who.tenant)
        throw forbidden('a tenant token makes rules for its own tenant only');
      if (spec.tenant === null) throw forbidden('a tenant token cannot make global rules');
      tenant = who.tenant;
    } else {
      tenant = spec.tenant ?? null;
    }
    if (previous && previous.tenant !== tenant)
      throw badRequest('tenant: a rule cannot move to another tenant');
    checkRule({ ...spec, tenant }, who, cfg.minIntervalSeconds);
    const reveal = new Set<number>();
    for (const [i, t] of spec.targets.entries()) {
      try {
        await checkTarget(t.url, cfg.allowPrivateTargets);
      } catch (err) {
        if (err instanceof TargetRefused) throw badRequest(`targets[${i}].url: ${err.message}`);
        throw err;
      }
      if (!t.secret) {
        const kept = previous?.targets.find((p) => p.url === t.url)?.secret;
        t.secret = kept ?? newSecret();
        if (!kept) reveal.add(i);
      }
    }
    return { tenant, reveal };
  }

  function summary(events: { time: string; kind: string; key: string }[]): string {
    if (events.length === 0) return 'would not have fired';
    return events
      .slice(0, 20)
      .map(
        (e) =>
          `${e.kind === 'firing' ? 'would have fired' : e.kind === 'resolved' ? 'resolved' : 're-notified'} at ${e.time}${e.key ? ` (${e.key})` : ''}`,
      )
      .join('; ');
  }

  async function runSimulation(rule: Rule, q: { start?: string | number; end?: string | number }) {
    const range = parseRange(q);
    if (range.end - range.start > 7 * 86_400) throw badRequest('test a rule over at most 7 days');
    const r = await simulate(ctx.ch, rule, range.start, range.end, {
      lagSeconds: cfg.lagSeconds,
      maxKeysPerRule: cfg.maxKeysPerRule,
    });
    return { start: iso(range.start), end: iso(range.end), ...r, summary: summary(r.events) };
  }

  app.get(
    '/api/v1/alerts/rules',
    {
      schema: {
        tags: ['alerts'],
        summary: "alert rules: a tenant sees its own; admins all, or one tenant's",
        querystring: Type.Object({ tenant: Type.Optional(TenantParam) }, { additionalProperties: false }),
        response: { 200: Type.Object({ rules: Type.Array(RuleView) }), ...errors(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const scope = scopeOf(req, req.query.tenant);
      const rules = await store.listRules(scope.tenant === null ? undefined : scope.tenant);
      return { rules: rules.map((r) => view(r)) };
    },
  );

  app.get(
    '/api/v1/alerts/builtin',
    {
      schema: {
        tags: ['alerts'],
        summary: 'built-in rules ready to enable: POST one to /api/v1/alerts/rules with your targets',
        response: {
          200: Type.Object({ rules: Type.Record(Type.String(), Type.Unknown()) }),
          ...errors(401, 429),
        },
      },
    },
    async (req) => ({ rules: builtinsFor(identityOf(req).role) }),
  );

  app.post(
    '/api/v1/alerts/rules',
    {
      schema: {
        tags: ['alerts'],
        summary: 'create a rule; generated webhook secrets are shown in this answer only',
        body: RuleSpec,
        response: { 201: RuleView, ...errors(400, 401, 403, 429) },
      },
    },
    async (req, reply) => {
      const spec = req.body;
      const { tenant, reveal } = await prepare(req, spec);
      const rule = await store.createRule(spec, { tenant, author: identityOf(req).tokenId });
      ctx.audit(req, 'alert.rule.create', `${rule.id} ${rule.name}`, 201);
      return reply.code(201).send(view(rule, reveal));
    },
  );

  app.get(
    '/api/v1/alerts/rules/:id',
    {
      schema: {
        tags: ['alerts'],
        summary: 'one rule',
        params: IdParams,
        response: { 200: RuleView, ...errors(401, 404, 429) },
      },
    },
    async (req) => view(await visibleRule(req, req.params.id)),
  );

  app.put(
    '/api/v1/alerts/rules/:id',
    {
      schema: {
        tags: ['alerts'],
        summary: 'replace a rule (targets given without a secret keep the one they had)',
        params: IdParams,
        body: RuleSpec,
        response: { 200: RuleView, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req) => {
      const old = await visibleRule(req, req.params.id);
      const spec = req.body;
      const { tenant, reveal } = await prepare(req, spec, old);
      const { tenant: _t, ...rest } = spec;
      const saved = await store.saveRule({ ...old, ...rest, tenant }, identityOf(req).tokenId);
      ctx.audit(req, 'alert.rule.update', `${saved.id} ${saved.name}`, 200);
      return view(saved, reveal);
    },
  );

  app.patch(
    '/api/v1/alerts/rules/:id',
    {
      schema: {
        tags: ['alerts'],
        summary: 'enable or disable a rule',
        params: IdParams,
        body: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: RuleView, ...errors(400, 401, 404, 429) },
      },
    },
    async (req) => {
      const old = await visibleRule(req, req.params.id);
      const { enabled } = req.body;
      const saved =
        old.enabled === enabled ? old : await store.saveRule({ ...old, enabled }, identityOf(req).tokenId);
      ctx.audit(req, enabled ? 'alert.rule.enable' : 'alert.rule.disable', saved.id, 200);
      return view(saved);
    },
  );

  app.delete(
    '/api/v1/alerts/rules/:id',
    {
      schema: {
        tags: ['alerts'],
        summary: 'delete a rule (its history and delivery log stay)',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 404, 429) },
      },
    },
    async (req, reply) => {
      const old = await visibleRule(req, req.params.id);
      await store.deleteRule(old, identityOf(req).tokenId);
      ctx.audit(req, 'alert.rule.delete', old.id, 204);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/alerts/test',
    {
      schema: {
        tags: ['alerts'],
        summary:
          'evaluate a saved rule (ruleId) or an unsaved one (rule) over a past range, by default the last hour: "would have fired at …"; nothing is stored or sent',
        body: Type.Object(
          {
            ruleId: Type.Optional(Type.String({ maxLength: 64 })),
            rule: Type.Optional(RuleSpec),
            start: Type.Optional(TimeParam),
            end: Type.Optional(TimeParam),
          },
          { additionalProperties: false },
        ),
        response: { 200: Simulation, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req) => {
      const { ruleId, rule: given, start, end } = req.body;
      const range = { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
      if ((ruleId === undefined) === (given === undefined)) throw badRequest('give either ruleId or rule');
      if (ruleId !== undefined) return runSimulation(await visibleRule(req, ruleId), range);
      const who = identityOf(req);
      const spec = { ...(given as RuleSpec), targets: [] };
      let tenant: string | null = spec.tenant ?? null;
      if (who.role === 'tenant') {
        if (spec.tenant !== undefined && spec.tenant !== who.tenant)
          throw forbidden('a tenant token tests rules on its own tenant only');
        tenant = who.tenant;
      }
      checkRule({ ...spec, tenant }, who, cfg.minIntervalSeconds);
      const now = new Date().toISOString();
      const { tenant: _t, ...rest } = spec;
      const rule: Rule = {
        ...rest,
        id: '0000000000000000',
        tenant,
        builtin: '',
        created: now,
        updated: now,
        version: 0,
      };
      return runSimulation(rule, range);
    },
  );

  app.post(
    '/api/v1/alerts/rules/:id/send-test',
    {
      schema: {
        tags: ['alerts'],
        summary: "send a test webhook to each of the rule's targets now (one attempt each, logged)",
        params: IdParams,
        response: {
          200: Type.Object({
            results: Type.Array(
              Type.Object({
                target: Type.String(),
                deliveryId: Type.String(),
                status: Type.String(),
                statusCode: Type.Integer(),
                error: Type.String(),
                durationMs: Type.Number(),
              }),
            ),
          }),
          ...errors(400, 401, 404, 429),
        },
      },
    },
    async (req) => {
      const rule = await visibleRule(req, req.params.id);
      if (rule.targets.length === 0) throw badRequest('the rule has no targets');
      const nowSec = Math.floor(Date.now() / 1000);
      const eventId = `test-${nowSec}-${Math.random().toString(16).slice(2, 10)}`;
      const ev = toWebhookEvent(
        rule,
        {
          key: '',
          value: 0,
          judgement: { match: false, clear: true, threshold: 0, reference: null },
          windowEnd: nowSec,
        },
        { kind: 'test', eventId, started: nowSec },
      );
      const rows = deliveriesFor(rule, ev, publicUrl(req), nowSec);
      const results = await Promise.all(
        rows.map(async (d: Delivery, i) => {
          const secret = rule.targets[i].secret;
          const r = await post(
            d.target,
            d.body,
            signedHeaders(secret, d.body, d, Math.floor(Date.now() / 1000)),
            {
              timeoutMs: cfg.delivery.timeoutMs,
              allowPrivate: cfg.allowPrivateTargets,
            },
          );
          const ok = r.status >= 200 && r.status < 300;
          const status = ok ? 'delivered' : 'failed';
          await store.writeDeliveries([
            {
              ...d,
              status,
              attempts: 1,
              statusCode: r.status,
              error: r.error,
              nextAttempt: 0,
              updated: Math.floor(Date.now() / 1000),
            },
          ]);
          await store.logAttempt(d.id, {
            attempt: 1,
            time: Math.floor(Date.now() / 1000),
            statusCode: r.status,
            error: r.error,
            durationMs: r.durationMs,
            owner: 'send-test',
          });
          return {
            target: d.target,
            deliveryId: deliveryId(eventId, i, d.target),
            status,
            statusCode: r.status,
            error: r.error,
            durationMs: r.durationMs,
          };
        }),
      );
      ctx.audit(req, 'alert.send-test', rule.id, 200);
      return { results };
    },
  );

  app.get(
    '/api/v1/alerts/active',
    {
      schema: {
        tags: ['alerts'],
        summary: 'what fires now, per rule and key',
        querystring: Type.Object({ tenant: Type.Optional(TenantParam) }, { additionalProperties: false }),
        response: { 200: Type.Object({ alerts: Type.Array(ActiveAlert) }), ...errors(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const scope = scopeOf(req, req.query.tenant);
      const tenant = scope.tenant === null ? undefined : scope.tenant;
      const [rules, firing] = await Promise.all([store.listRules(tenant), store.active(tenant)]);
      const byId = new Map(rules.map((r) => [r.id, r]));
      return {
        alerts: firing
          .filter((s) => byId.has(s.ruleId))
          .map((s) => ({
            ruleId: s.ruleId,
            ruleName: byId.get(s.ruleId)?.name ?? '',
            tenant: s.tenant,
            key: s.key,
            since: iso(s.since),
            lastEvaluated: iso(s.lastEval),
            value: s.lastValue,
            threshold: s.threshold,
            eventId: s.eventId,
          })),
      };
    },
  );

  app.get(
    '/api/v1/alerts/history',
    {
      schema: {
        tags: ['alerts'],
        summary: 'firing, resolved and re-notify events over a range (default: the last 24 h)',
        querystring: Type.Object(
          {
            start: Type.Optional(TimeParam),
            end: Type.Optional(TimeParam),
            rule: Type.Optional(Type.String({ maxLength: 64 })),
            tenant: Type.Optional(TenantParam),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ events: Type.Array(HistoryEvent) }), ...errors(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const scope = scopeOf(req, req.query.tenant);
      const nowS = Math.floor(Date.now() / 1000);
      const range = parseRange({ start: req.query.start ?? nowS - 86_400, end: req.query.end ?? nowS + 1 });
      const events = await store.history({
        tenant: scope.tenant === null ? undefined : scope.tenant,
        ...(req.query.rule !== undefined ? { ruleId: req.query.rule } : {}),
        start: range.start,
        end: range.end,
        limit: req.query.limit ?? 1000,
      });
      return { events: events.map((e) => ({ ...e, time: iso(e.time), started: iso(e.started) })) };
    },
  );

  app.get(
    '/api/v1/alerts/deliveries',
    {
      schema: {
        tags: ['alerts'],
        summary: 'webhook deliveries, newest first, with every attempt (status code, error, duration)',
        querystring: Type.Object(
          {
            rule: Type.Optional(Type.String({ maxLength: 64 })),
            tenant: Type.Optional(TenantParam),
            status: Type.Optional(
              Type.Union([
                Type.Literal('pending'),
                Type.Literal('sending'),
                Type.Literal('delivered'),
                Type.Literal('failed'),
              ]),
            ),
            body: Type.Optional(Type.Boolean({ default: false, description: 'include the body sent' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ deliveries: Type.Array(DeliveryView) }),
          ...errors(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const scope = scopeOf(req, req.query.tenant);
      const list = await store.deliveries({
        tenant: scope.tenant === null ? undefined : scope.tenant,
        ...(req.query.rule !== undefined ? { ruleId: req.query.rule } : {}),
        ...(req.query.status ? { status: [req.query.status] } : {}),
        limit: req.query.limit ?? 100,
      });
      const log = await store.attempts(list.map((d) => d.id));
      return {
        deliveries: list.map((d) => ({
          id: d.id,
          eventId: d.eventId,
          ruleId: d.ruleId,
          tenant: d.tenant,
          kind: d.kind,
          target: d.target,
          format: d.format,
          status: d.status,
          attempts: d.attempts,
          statusCode: d.statusCode,
          error: d.error,
          created: iso(d.created),
          updated: iso(d.updated),
          nextAttempt: d.status === 'pending' ? iso(d.nextAttempt) : null,
          log: log.get(d.id) ?? [],
          ...(req.query.body ? { body: d.body } : {}),
        })),
      };
    },
  );
}
