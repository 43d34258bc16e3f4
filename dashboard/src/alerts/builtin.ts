/**
 * Built-in rules, ready to enable: POST one to /api/v1/alerts/rules with your targets (the
 * UI offers them). Thresholds are starting points an on-call engineer would pick; each
 * one's description says what it watches. Exporter rules are for admins; a tenant gets the
 * SYN flood and surge rules confined to its own flows.
 */
import type { RuleSpec } from './model.ts';

type Template = Omit<RuleSpec, 'targets' | 'enabled' | 'tenant'>;

const common = {
  resolve: { after: 1, ratio: 1 },
  cooldownSeconds: 0,
  renotifySeconds: 0,
  minFlowsPerSecond: 0,
  scope: {},
  groupBy: [],
} satisfies Partial<Template>;

export const BUILTIN_RULES: Record<string, { adminOnly: boolean; spec: Template }> = {
  'exporter-silent': {
    adminOnly: true,
    spec: {
      ...common,
      name: 'Exporter silent',
      description: 'An exporter heard within the last 7 days has sent nothing for 2 minutes (per exporter).',
      measure: 'exporter_silence',
      condition: { type: 'threshold', op: 'above', value: 120 },
      windowSeconds: 60,
      intervalSeconds: 30,
      activation: { matches: 1, of: 1 },
      renotifySeconds: 3600,
    },
  },
  'sequence-loss': {
    adminOnly: true,
    spec: {
      ...common,
      name: 'Export sequence loss',
      description:
        "More than 1 % of an exporter's NetFlow/IPFIX packets lost (sequence numbers) over 5 minutes, in 3 of the last 5 evaluations.",
      measure: 'seq_loss',
      condition: { type: 'threshold', op: 'above', value: 0.01 },
      windowSeconds: 300,
      intervalSeconds: 60,
      activation: { matches: 3, of: 5 },
      resolve: { after: 3, ratio: 0.5 },
    },
  },
  'syn-flood': {
    adminOnly: false,
    spec: {
      ...common,
      name: 'SYN flood towards one destination',
      description:
        'Over a minute, more than half of the TCP flows to one destination are SYN-only (normal traffic has a few per cent), with at least 5 TCP flows/s (per VNI and destination address: tenants reuse private addresses).',
      measure: 'syn_share',
      groupBy: ['vni', 'dst_addr'],
      condition: { type: 'threshold', op: 'above', value: 0.5 },
      minFlowsPerSecond: 5,
      windowSeconds: 60,
      intervalSeconds: 30,
      activation: { matches: 1, of: 1 },
      resolve: { after: 2, ratio: 0.6 },
      cooldownSeconds: 300,
    },
  },
  'tenant-surge': {
    adminOnly: false,
    spec: {
      ...common,
      name: 'Tenant traffic far above its baseline',
      description:
        "A tenant's bits/s over 15 minutes is more than 3× the median of the same 15 minutes of day over the previous 7 days (and above 1 Mbit/s), in 2 of the last 3 evaluations.",
      measure: 'bps',
      groupBy: ['tenant'],
      condition: {
        type: 'baseline',
        op: 'above',
        method: 'same_time',
        periods: 7,
        factor: 3,
        minValue: 1_000_000,
      },
      windowSeconds: 900,
      intervalSeconds: 300,
      activation: { matches: 2, of: 3 },
      resolve: { after: 2, ratio: 0.5 },
    },
  },
};

/** The templates a caller may use; a tenant's surge rule needs no tenant group-by (it watches itself). */
export function builtinsFor(role: 'admin' | 'tenant'): Record<string, Template> {
  const out: Record<string, Template> = {};
  for (const [name, b] of Object.entries(BUILTIN_RULES)) {
    if (b.adminOnly && role !== 'admin') continue;
    out[name] = role === 'tenant' && name === 'tenant-surge' ? { ...b.spec, groupBy: [] } : b.spec;
  }
  return out;
}
