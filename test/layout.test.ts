/**
 * Where a test lives (README, Layout): a unit test sits beside the code it tests, named
 * after it (`flow-cache.ts` → `flow-cache.test.ts`; two files called pcap.ts may each have
 * a pcap.test.ts); a test that starts real programs or servers (ClickHouse, Open vSwitch,
 * softflowd, tshark, tcpdump, network namespaces, the `vxflow` program itself) lives under
 * test/<area>/, named for what it proves (`ovs-ipfix-to-clickhouse`, `softflowd-vs-tshark`),
 * a name no other test file has. In-process sockets on loopback are not servers here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', '.git', '.vxflow']);

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const rel = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(rel));
    else if (e.name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

const all = testFiles('.').map((f) => relative('.', f));

/** Being written while this rule came in: to be renamed by their owners (none left). */
const PENDING = new Set<string>([]);

describe('test layout', () => {
  it('a test under test/ has a name no other test file has', () => {
    const count = new Map<string, number>();
    for (const f of all) count.set(basename(f), (count.get(basename(f)) ?? 0) + 1);
    const clashes = all.filter((f) => f.startsWith('test/') && count.get(basename(f))! > 1);
    expect(clashes.filter((f) => !PENDING.has(f))).toEqual([]);
  });

  it('tests beside the code start no programs and no servers (those live under test/)', () => {
    const real =
      /from 'node:child_process'|helpers\/(clickhouse|netns|ovs-lab|kernel-vxlan-lab)\.ts'|collector\/harness\.ts'/;
    const offenders = all
      .filter((f) => !f.startsWith('test/'))
      .filter((f) => real.test(readFileSync(join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
