/**
 * Module boundaries (see README, Layout): exporter and collector meet only on the wire, so
 * the bytes prove interoperability; protocol/ is pure and shared; storage/ is the only owner
 * of ClickHouse; common/ holds leaves every part may import; no part imports cli/ (the
 * command line is built on top of the parts' factories, never under them). Checked on the import statements of every non-test source file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => relative(root, resolve(root, file, '..', s)));
}

const top = (p: string) => p.split('/')[0];

/** top-level folder → folders (or single files) its production code may import */
const ALLOWED: Record<string, string[]> = {
  common: ['common', 'package.json'], // the version, read once in common/version.ts
  protocol: ['protocol'],
  storage: ['storage', 'protocol', 'common'],
  collector: ['collector', 'protocol', 'storage', 'common'],
  exporter: ['exporter', 'protocol', 'common'],
  // for now: the inventory's schema and compiler, and the CIDR parser, validate inventory edits
  dashboard: [
    'dashboard',
    'protocol',
    'storage',
    'common',
    'collector/src/enrich/inventory.ts',
    'collector/src/net/ip.ts',
  ],
  cli: ['cli', 'common', 'protocol', 'storage', 'collector', 'exporter', 'dashboard'],
};

/** Whether `target` is inside one of the allowed folders, or is one of the allowed files. */
const allowedTarget = (target: string, allowed: string[]) =>
  allowed.includes(target) || allowed.includes(top(target));

describe('module boundaries', () => {
  for (const [dir, allowed] of Object.entries(ALLOWED)) {
    it(`${dir}/ imports only ${allowed.join(', ')}`, () => {
      const bad: string[] = [];
      for (const file of sources(dir)) {
        for (const target of importsOf(file)) {
          if (!allowedTarget(target, allowed)) bad.push(`${file} → ${target}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }

  it('protocol/ does no I/O beyond node:buffer-level modules', () => {
    const io = /from 'node:(fs|net|dgram|child_process|http|https|worker_threads)'/;
    const bad = sources('protocol').filter((f) => io.test(readFileSync(join(root, f), 'utf8')));
    // the generators (IANA registry, .proto file) write files at build time, not at run time
    expect(bad.filter((f) => !f.endsWith('generate.ts') && !f.endsWith('write-proto.ts'))).toEqual([]);
  });

  it('only storage/ issues DDL', () => {
    const ddl = /\b(CREATE (TABLE|DATABASE|MATERIALIZED VIEW)|ALTER TABLE|DROP (TABLE|DATABASE))\b/;
    const offenders = ['protocol', 'collector', 'exporter', 'cli']
      .flatMap(sources)
      .filter((f) => ddl.test(readFileSync(join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
