/**
 * `vxflow token` and `vxflow dashboard` as a user runs them (DESIGN.md contracts): a token
 * made on the command line works at once on a running dashboard on the same ClickHouse,
 * a revoked one stops within 5 s, and SIGTERM stops the dashboard cleanly.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const database = `dash_cli_${process.pid}`;
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VXFLOW_'))),
  CLICKHOUSE_URL: inject('clickhouseUrl'),
  VXFLOW_CLICKHOUSE_DATABASE: database,
};

function vxflow(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/vxflow.js'), ...args], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dashboard: ChildProcess | undefined;
let url = '';

beforeAll(async () => {
  dashboard = spawn(process.execPath, [join(root, 'bin/vxflow.js'), 'dashboard', '--listen', '127.0.0.1:0'], {
    env: { ...env, VXFLOW_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  dashboard.stderr?.on('data', (d) => {
    log += d;
  });
  for (let i = 0; i < 300 && !url; i++) {
    const m = /listening on (http:\/\/[0-9.:]+)/.exec(log);
    if (m) url = m[1];
    else await sleep(100);
  }
  if (!url) throw new Error(`dashboard did not start:\n${log}`);
});

afterAll(async () => {
  if (dashboard && dashboard.exitCode === null) dashboard.kill('SIGKILL');
  await fetch(`${env.CLICKHOUSE_URL}/?query=${encodeURIComponent(`DROP DATABASE IF EXISTS ${database}`)}`, {
    method: 'POST',
  });
});

const me = (token: string) => fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });

describe('vxflow token and vxflow dashboard', () => {
  it('token create prints the id, then the token alone on the last line; it works at once', async () => {
    const r = vxflow(['token', 'create', '--tenant', 'acme', '--name', 'ci']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id: [0-9a-f]{16}$/);
    const token = lines[lines.length - 1];
    expect(token).toMatch(/^vxf_/);
    const res = await me(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ role: 'tenant', tenant: 'acme', name: 'ci' });

    const list = vxflow(['token', 'list']);
    expect(list.code).toBe(0);
    const id = lines[0].slice(4);
    expect(list.out).toMatch(new RegExp(`^${id}\\s+ci\\s+tenant:acme\\s+\\d{4}-`, 'm'));
    expect(list.out).not.toContain(token);

    expect(vxflow(['token', 'revoke', id]).code).toBe(0);
    let status = 200;
    for (let i = 0; i < 60 && status === 200; i++) {
      status = (await me(token)).status;
      if (status === 200) await sleep(100);
    }
    expect(status).toBe(401);
  });

  it('bad token commands say what is wrong in one line', () => {
    const both = vxflow(['token', 'create', '--admin', '--tenant', 'x']);
    expect(both.code).toBe(2);
    expect(both.err.trim()).toMatch(/exactly one of --admin or --tenant/);
    const missing = vxflow(['token', 'revoke', 'ffffffffffffffff']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no active token/);
    const badListen = vxflow(['dashboard', '--listen', 'nonsense', '--check']);
    expect(badListen.code).toBe(2);
    expect(badListen.err).toMatch(/listen/);
    expect(badListen.err).not.toMatch(/\n\s+at /);
  });

  it('serves the OpenAPI document, /healthz and /metrics', async () => {
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as { openapi: string; paths: object };
    expect(doc.openapi).toMatch(/^3/);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/sql', '/api/v1/flows', '/api/v1/traffic/series']),
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('vxflow_dashboard_requests_total');
  });

  it('SIGTERM stops it cleanly', async () => {
    const exited = new Promise<number | null>((r) => dashboard?.once('exit', (code) => r(code)));
    dashboard?.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
