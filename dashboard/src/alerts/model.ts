/**
 * The alert rule: what the API takes (RuleSpec), what is stored (Rule = spec + identity),
 * and the checks a schema cannot express (measures that need the raw table, exporter
 * measures for admins only, windows that divide a day for same-time baselines).
 *
 * A rule watches one measure over a sliding window, optionally per group key (one state per
 * key: per destination host, per network …), and fires a key after `activation.matches` of
 * its last `activation.of` evaluations matched the condition (nfsen's trigger_number,
 * Kentik's match_times in match_window). It resolves after `resolve.after` consecutive
 * evaluations pass the resolve test (the condition's threshold scaled by `resolve.ratio`,
 * for hysteresis), may not fire again before `cooldownSeconds` (nfsen's trigger_blocks), and
 * re-notifies every `renotifySeconds` while it keeps firing (Grafana's repeat interval).
 */
import { type Static, Type } from '@sinclair/typebox';
import { isIPv4, isIPv6 } from '../../../storage/src/sql.ts';
import { badRequest } from '../errors.ts';
import { compileFilter, FilterError } from '../filter/index.ts';
import { DIMENSION_NAMES, ROLLUP_COLUMNS } from '../query/columns.ts';

export const MEASURES = [
  'bps',
  'pps',
  'fps',
  'distinct_src',
  'distinct_dst',
  'syn_share',
  'seq_loss',
  'exporter_silence',
] as const;
export type Measure = (typeof MEASURES)[number];

/** What a value of each measure means, for webhooks and the UI. */
export const MEASURE_UNIT: Record<Measure, string> = {
  bps: 'bits/s',
  pps: 'packets/s',
  fps: 'flows/s',
  distinct_src: 'distinct source addresses in the window',
  distinct_dst: 'distinct destination addresses in the window',
  syn_share: 'share of TCP flows that are SYN-only (0..1)',
  seq_loss: 'share of export packets lost by sequence number (0..1)',
  exporter_silence: 'seconds since the exporter was last heard',
};

/** Measures read from the `exporters` table: per exporter, admins only, no flow filter. */
export const EXPORTER_MEASURES: ReadonlySet<Measure> = new Set(['seq_loss', 'exporter_silence']);

/** Columns each flow measure reads besides the counters every table has. */
export const MEASURE_COLUMNS: Record<Measure, readonly string[]> = {
  bps: [],
  pps: [],
  fps: [],
  distinct_src: ['src_addr'],
  distinct_dst: ['dst_addr'],
  syn_share: ['proto', 'tcp_flags'],
  seq_loss: [],
  exporter_silence: [],
};

const Threshold = Type.Object(
  {
    type: Type.Literal('threshold'),
    op: Type.Union([Type.Literal('above'), Type.Literal('below')]),
    value: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false, description: 'the value above or below a fixed threshold' },
);

const Baseline = Type.Object(
  {
    type: Type.Literal('baseline'),
    op: Type.Union([Type.Literal('above'), Type.Literal('below')]),
    method: Type.Union([Type.Literal('same_time'), Type.Literal('moving_average')], {
      description:
        'same_time: the median of the same window of day over the previous `periods` days; moving_average: the mean of the previous `periods` windows',
    }),
    periods: Type.Integer({
      minimum: 1,
      maximum: 28,
      description: 'days (same_time) or windows (moving_average)',
    }),
    factor: Type.Number({
      exclusiveMinimum: 1,
      maximum: 1e6,
      description: 'above: value > factor × baseline',
    }),
    minValue: Type.Optional(
      Type.Number({
        minimum: 0,
        description: 'no firing unless the value (above) or the baseline (below) reaches this (default 0)',
      }),
    ),
  },
  { additionalProperties: false },
);

const Change = Type.Object(
  {
    type: Type.Literal('change'),
    op: Type.Union([Type.Literal('increase'), Type.Literal('decrease'), Type.Literal('either')]),
    factor: Type.Number({ exclusiveMinimum: 1, maximum: 1e6, description: 'against the previous window' }),
    minValue: Type.Optional(
      Type.Number({ minimum: 0, description: 'ignore changes between values below this (default 0)' }),
    ),
  },
  { additionalProperties: false, description: 'a sudden change from one window to the previous one' },
);

export const Condition = Type.Union([Threshold, Baseline, Change]);
export type Condition = Static<typeof Condition>;

export const Target = Type.Object(
  {
    url: Type.String({ minLength: 8, maxLength: 2048, description: 'http:// or https:// URL' }),
    format: Type.Union([Type.Literal('json'), Type.Literal('slack')], { default: 'json' }),
    secret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 256,
        description: 'HMAC-SHA256 key for X-Vxflow-Signature; generated when absent, shown once',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Target = Static<typeof Target>;

export const RuleScope = Type.Object(
  {
    network: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    vni: Type.Optional(Type.Integer({ minimum: 0, maximum: 16_777_215 })),
    exporter: Type.Optional(Type.String({ maxLength: 64, description: 'exporter address' })),
    filter: Type.Optional(Type.String({ maxLength: 4096, description: 'filter language expression' })),
  },
  { additionalProperties: false, default: {} },
);
export type RuleScope = Static<typeof RuleScope>;

export const RuleSpec = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    description: Type.Optional(Type.String({ maxLength: 2048 })),
    enabled: Type.Boolean({ default: true }),
    tenant: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()], {
        description:
          "the tenant the rule belongs to and watches (only that tenant's flows); null or absent = global (admins). A tenant token's rules are always its own.",
      }),
    ),
    scope: RuleScope,
    measure: Type.Union(MEASURES.map((m) => Type.Literal(m))),
    groupBy: Type.Array(Type.String({ enum: [...DIMENSION_NAMES] }), {
      maxItems: 3,
      default: [],
      description: 'one state per key of these dimensions (exporter measures are always per exporter)',
    }),
    condition: Condition,
    windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
    intervalSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
    activation: Type.Object(
      {
        matches: Type.Integer({ minimum: 1, maximum: 60, default: 1 }),
        of: Type.Integer({ minimum: 1, maximum: 60, default: 1 }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'fire after `matches` of the last `of` evaluations',
      },
    ),
    resolve: Type.Object(
      {
        after: Type.Integer({
          minimum: 1,
          maximum: 60,
          default: 1,
          description: 'consecutive evaluations passing the resolve test',
        }),
        ratio: Type.Number({
          exclusiveMinimum: 0,
          maximum: 1,
          default: 1,
          description:
            'hysteresis: an "above" alert resolves below threshold × ratio, a "below" one above threshold ÷ ratio',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    cooldownSeconds: Type.Integer({ minimum: 0, maximum: 604_800, default: 0 }),
    renotifySeconds: Type.Integer({
      minimum: 0,
      maximum: 604_800,
      default: 0,
      description: 'repeat the firing webhook this often while it fires; 0 = never',
    }),
    minFlowsPerSecond: Type.Number({
      minimum: 0,
      default: 0,
      description: 'for share and distinct measures: keys with fewer flows/s in the window are not judged',
    }),
    targets: Type.Array(Target, { maxItems: 5, default: [] }),
  },
  { additionalProperties: false },
);
export type RuleSpec = Static<typeof RuleSpec>;

export interface Rule extends Omit<RuleSpec, 'tenant'> {
  id: string;
  /** owner and confinement: null = global (admins) */
  tenant: string | null;
  /** name of the built-in template it came from, '' otherwise */
  builtin: string;
  created: string;
  updated: string;
  /** the stored row's version: a change of the rule restarts nothing but its schedule */
  version: number;
}

/** A target as the API shows it: never the secret. */
export const TargetView = Type.Object({
  url: Type.String(),
  format: Type.String(),
  hasSecret: Type.Boolean(),
  secret: Type.Optional(Type.String({ description: 'only in the answer that generated it' })),
});

export const RuleView = Type.Object({
  ...RuleSpec.properties,
  id: Type.String(),
  tenant: Type.Union([Type.String(), Type.Null()]),
  builtin: Type.String(),
  created: Type.String(),
  updated: Type.String(),
  version: Type.Number(),
  targets: Type.Array(TargetView),
});

/** The columns a rule's evaluation reads from the flow tables (its scope, filter, keys, measure). */
export function ruleColumns(rule: Pick<RuleSpec, 'scope' | 'groupBy' | 'measure'>): Set<string> {
  const cols = new Set<string>([...rule.groupBy, ...MEASURE_COLUMNS[rule.measure]]);
  if (rule.scope.network !== undefined) cols.add('network');
  if (rule.scope.vni !== undefined) cols.add('vni');
  if (rule.scope.exporter !== undefined) cols.add('exporter');
  if (rule.scope.filter) for (const c of compileFilter(rule.scope.filter).columns) cols.add(c);
  return cols;
}

/** Whether only the raw table can answer the rule (an address, flags or port column). */
export function needsRaw(rule: Pick<RuleSpec, 'scope' | 'groupBy' | 'measure'>): boolean {
  for (const c of ruleColumns(rule)) if (!ROLLUP_COLUMNS.has(c)) return true;
  return false;
}

/**
 * Checks what the schema cannot; throws a 400 naming the field. `who` is the caller: a
 * tenant may not watch exporters (their health is for admins, as in GET /exporters).
 */
export function checkRule(spec: RuleSpec, who: { role: 'admin' | 'tenant' }, minInterval: number): void {
  if (spec.scope.filter) {
    try {
      compileFilter(spec.scope.filter);
    } catch (err) {
      if (err instanceof FilterError)
        throw badRequest(`scope.filter: ${err.message}`, { position: err.position, expected: err.expected });
      throw err;
    }
  }
  if (spec.scope.exporter !== undefined && !isIPv4(spec.scope.exporter) && !isIPv6(spec.scope.exporter))
    throw badRequest(
      `scope.exporter: expected an IPv4 or IPv6 address, got ${JSON.stringify(spec.scope.exporter)}`,
    );
  if (EXPORTER_MEASURES.has(spec.measure)) {
    if (who.role !== 'admin') throw badRequest(`measure ${spec.measure}: exporter health is for admins only`);
    if (spec.tenant)
      throw badRequest(`measure ${spec.measure} watches exporters: it cannot belong to a tenant`);
    if (spec.scope.filter || spec.scope.network !== undefined || spec.scope.vni !== undefined)
      throw badRequest(
        `measure ${spec.measure}: only scope.exporter applies (exporters have no flows filter)`,
      );
    if (spec.groupBy.length > 0)
      throw badRequest(`measure ${spec.measure} is always per exporter: leave groupBy empty`);
  }
  if (new Set(spec.groupBy).size !== spec.groupBy.length)
    throw badRequest('groupBy: a dimension is named twice');
  if (spec.intervalSeconds < minInterval)
    throw badRequest(
      `intervalSeconds: at least ${minInterval} on this dashboard (alerts.minIntervalSeconds)`,
    );
  if (spec.activation.matches > spec.activation.of) throw badRequest('activation: matches cannot exceed of');
  const c = spec.condition;
  if (c.type === 'baseline' && c.method === 'same_time' && 86_400 % spec.windowSeconds !== 0)
    throw badRequest(
      'windowSeconds: a same_time baseline needs a window that divides a day (60, 300, 900, 3600 …)',
    );
  if (c.type === 'baseline' && c.method === 'same_time' && spec.windowSeconds * 1 > 86_400)
    throw badRequest('windowSeconds: at most a day for a same_time baseline');
}
