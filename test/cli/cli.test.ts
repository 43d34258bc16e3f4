import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../common/errors.ts';
import { findClickHouseBinary } from '../../storage/src/server.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vxflow-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function vxflow(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_')));
  const r = spawnSync(process.execPath, [join(root, 'bin/vxflow.js'), ...args], {
    cwd: dir,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('vxflow CLI', () => {
  it('--help lists every subcommand, and each has its own --help', () => {
    const r = vxflow(['--help']);
    expect(r.code).toBe(0);
    const commands = ['demo', 'collector', 'exporter', 'dashboard', 'decode', 'migrate', 'clickhouse'];
    for (const c of commands) expect(r.out).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    for (const c of commands) {
      const sub = vxflow([c, '--help']);
      expect(sub.code, c).toBe(0);
      expect(sub.out, c).toContain(`Usage: vxflow ${c}`);
    }
  });

  it('a bad config value stops with one line naming the key, the value and what was expected', () => {
    const r = vxflow(['migrate'], { VXFLOW_CLICKHOUSE_HTTP_PORT: 'abc' });
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toEqual([
      'vxflow: configuration: clickhouse.httpPort: got "abc", expected an integer >= 0 <= 65535',
    ]);
  });

  it('an unknown key in the config file is named, with the keys that exist there', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'clickhouse:\n  databse: x\n');
    const r = vxflow(['--config', file, 'migrate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `vxflow: ${file}: unknown key clickhouse.databse (known keys here: url, database,`,
    );
    expect(r.err).not.toContain('    at ');
  });

  it('a missing ClickHouse binary gets the install hint, not a stack trace', () => {
    const r = vxflow(['migrate'], { VXFLOW_CLICKHOUSE_BINARY: join(dir, 'no-such-clickhouse-server') });
    expect(r.code).toBe(2);
    expect(r.err).toContain('is not an executable file');
    expect(r.err).toContain('apt-get install clickhouse-server');
    expect(r.err).toContain('CLICKHOUSE_URL');
    expect(r.err).not.toContain('    at ');
  });

  it('with no clickhouse-server anywhere, the error says how to install one or point at a server', () => {
    const saved = process.env.PATH;
    process.env.PATH = dir;
    let caught: unknown;
    try {
      findClickHouseBinary(undefined, []);
    } catch (e) {
      caught = e;
    } finally {
      process.env.PATH = saved;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).message).toContain('clickhouse-server was not found');
    expect((caught as UserError).hint).toContain('deploy/install-deps.sh');
    expect((caught as UserError).hint).toContain('CLICKHOUSE_URL');
  });

  it('migrate against a configured server creates the schema, and a second run changes nothing', async () => {
    const { inject } = await import('vitest');
    const env = { CLICKHOUSE_URL: inject('clickhouseUrl'), VXFLOW_CLICKHOUSE_DATABASE: `cli_${process.pid}` };
    const first = vxflow(['migrate', '--log-level', 'info'], env);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toContain('migrations applied: 1');
    const second = vxflow(['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.err).toContain('migrations applied: none; columns added: none');
    await fetch(
      `${env.CLICKHOUSE_URL}/?query=${encodeURIComponent(`DROP DATABASE ${env.VXFLOW_CLICKHOUSE_DATABASE}`)}`,
      {
        method: 'POST',
      },
    );
  });
});
