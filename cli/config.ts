/**
 * Configuration: defaults → YAML file → environment → validation → frozen object.
 * A wrong key or value stops the program with one line naming the key, the value and what
 * was expected (ConfigError); nothing else reads process.env.
 *
 * Environment: VXFLOW_<SECTION>_<KEY> (camelCase keys in SCREAMING_SNAKE, nested keys joined
 * with `_`, e.g. VXFLOW_COLLECTOR_BATCH_MAX_ROWS), VXFLOW_CONFIG (file path), and
 * CLICKHOUSE_URL (same as clickhouse.url).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { VxflowConfig } from './config-schema.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_CONFIG_FILE = 'vxflow.yaml';

const screaming = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

function isObjectSchema(s: TSchema): s is TObject {
  return s.type === 'object' && typeof s.properties === 'object';
}

/** Applies VXFLOW_* variables that name a key of the schema; returns the keys it could not place. */
function applyEnv(
  target: Record<string, unknown>,
  schema: TObject,
  prefix: string,
  env: NodeJS.ProcessEnv,
  used: Set<string>,
): void {
  for (const [key, sub] of Object.entries(schema.properties)) {
    const name = `${prefix}_${screaming(key)}`;
    if (isObjectSchema(sub)) {
      const child = (target[key] ?? {}) as Record<string, unknown>;
      const before = used.size;
      applyEnv(child, sub, name, env, used);
      if (used.size > before) target[key] = child;
    } else if (env[name] !== undefined) {
      used.add(name);
      target[key] = env[name];
    }
  }
}

function describeExpected(schema: TSchema): string {
  if (schema.anyOf)
    return `one of ${schema.anyOf.map((s: TSchema) => JSON.stringify(s.const ?? s.type)).join(', ')}`;
  const parts: string[] = [schema.type === 'integer' ? 'an integer' : `a ${schema.type}`];
  if (schema.minimum !== undefined) parts.push(`>= ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`<= ${schema.maximum}`);
  if (schema.pattern) parts.push(`matching ${schema.pattern}`);
  if (schema.enum) parts.push(`one of ${schema.enum.join(', ')}`);
  return parts.join(' ');
}

export interface LoadOptions {
  /** explicit --config path (must exist); otherwise VXFLOW_CONFIG, then ./vxflow.yaml if present */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** command-line overrides, applied last, as a partial config */
  overrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadOptions = {}): Readonly<VxflowConfig> {
  const env = opts.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const file =
    opts.file ?? env.VXFLOW_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      raw = (parseYaml(text) as Record<string, unknown>) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new ConfigError(`config file ${file}: expected a mapping at the top level`);
  }
  const used = new Set<string>();
  applyEnv(raw, VxflowConfig, 'VXFLOW', env, used);
  if (env.CLICKHOUSE_URL !== undefined) {
    raw.clickhouse = { ...((raw.clickhouse as object) ?? {}), url: env.CLICKHOUSE_URL };
  }
  for (const name of Object.keys(env)) {
    if (
      name.startsWith('VXFLOW_') &&
      name !== 'VXFLOW_CONFIG' &&
      !used.has(name) &&
      !name.startsWith('VXFLOW_TEST')
    ) {
      throw new ConfigError(`environment variable ${name}: names no configuration key`);
    }
  }
  if (opts.overrides) deepMerge(raw, opts.overrides);
  return validate(raw, file ?? 'configuration');
}

function deepMerge(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const t = (target[k] && typeof target[k] === 'object' ? target[k] : {}) as Record<string, unknown>;
      deepMerge(t, v as Record<string, unknown>);
      target[k] = t;
    } else target[k] = v;
  }
}

/** Validates a raw (parsed) config against the schema and fills defaults. */
export function validate(raw: unknown, source = 'configuration'): Readonly<VxflowConfig> {
  const value = Value.Default(VxflowConfig, Value.Convert(VxflowConfig, Value.Clone(raw ?? {})));
  const first = Value.Errors(VxflowConfig, value).First();
  if (first) {
    const key = first.path.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
    const message = `expected ${describeExpected(first.schema)}`;
    // TypeBox reports an unknown property at the parent path; name the key itself
    if (first.message.includes('Unexpected property')) {
      const props = (first.schema as TObject).properties ?? {};
      throw new ConfigError(
        `${source}: unknown key ${key} (known keys here: ${Object.keys(props).join(', ')})`,
      );
    }
    throw new ConfigError(`${source}: ${key}: got ${JSON.stringify(first.value)}, ${message}`);
  }
  return deepFreeze(value as VxflowConfig);
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}
