import type { Command } from 'commander';
import { loadConfig } from './config.ts';
import type { VxflowConfig } from './config-schema.ts';

/** Loads the configuration named by the global options of the program a command belongs to. */
export function configFor(cmd: Command, overrides?: Record<string, unknown>): Readonly<VxflowConfig> {
  let root = cmd;
  while (root.parent) root = root.parent;
  const opts = root.opts<{ config?: string; logLevel?: string }>();
  const merged: Record<string, unknown> = { ...(overrides ?? {}) };
  if (opts.logLevel) merged.logLevel = opts.logLevel;
  return loadConfig({ ...(opts.config ? { file: opts.config } : {}), overrides: merged });
}
