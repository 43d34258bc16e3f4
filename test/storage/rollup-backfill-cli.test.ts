/**
 * `vxflow rollup`, the program a user runs, against the suite's real ClickHouse: rows
 * inserted straight into flows (as another tool would) reach the rollups, one progress line
 * per day; a second run adds nothing; bad times and days past the 1-minute rollup's
 * retention are refused in one line naming the option.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { emptyFlow } from '../../protocol/src/schema/columns.ts';
import { encodeFlowsRowBinary } from '../../storage/src/flow-rowbinary.ts';
import { FLOW_INSERT_COLUMNS } from '../../storage/src/rowbinary.ts';
import { useTestClickHouse } from '../helpers/clickhouse.ts';
import { rollupVsRaw } from './rollup-totals.ts';

const db = useTestClickHouse();
const root = join(import.meta.dirname, '..', '..');

function vxflow(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(root, 'bin/vxflow.js'), '--log-level', 'warn', ...args], {
      env: {
        ...process.env,
        CLICKHOUSE_URL: inject('clickhouseUrl'),
        VXFLOW_CLICKHOUSE_DATABASE: db().database,
      },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('vxflow rollup', () => {
  it('adds what another tool inserted into flows, once, with one line per day', async () => {
    const now = Date.now();
    // yesterday and today, a few minutes apart
    const rows = [0, 1, 2, 3, 1441, 1442].map((minAgo, i) =>
      Object.assign(emptyFlow(), {
        time_received: now - minAgo * 60_000,
        tenant: i % 2 ? 'acme' : 'globex',
        network: 'net',
        vni: 77,
        bytes: 1000 + i,
        packets: 1 + i,
      }),
    );
    await db().insertRowBinary(`${db().database}.flows`, FLOW_INSERT_COLUMNS, encodeFlowsRowBinary(rows));
    const [missing] = await rollupVsRaw(db());
    expect(missing.rollup).toEqual([]);

    const dry = await vxflow(['rollup', '--since', '2d', '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('6 flows missing (dry run)');
    expect((await rollupVsRaw(db()))[0].rollup).toEqual([]);

    const run = await vxflow(['rollup', '--since', '2d']);
    expect(run.code).toBe(0);
    const dayLines = run.stdout.split('\n').filter((l) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}–/.test(l));
    expect(dayLines.length).toBeGreaterThanOrEqual(3); // since 2 days ago: three calendar days
    expect(run.stdout).toContain('done: 6 flows added to the rollups');
    for (const t of await rollupVsRaw(db())) expect(t.rollup, t.table).toEqual(t.raw);

    const again = await vxflow(['rollup', '--since', '2d']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('done: the rollups had every flow of the range');
    for (const t of await rollupVsRaw(db())) expect(t.rollup, t.table).toEqual(t.raw);
  }, 180_000); // four runs of the program: each starts through tsx, seconds apiece on a busy machine

  it('has --help, saying when to use it and that it adds only what is missing', async () => {
    const help = await vxflow(['rollup', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: vxflow rollup');
    expect(help.stdout).toContain('--since <time>');
    expect(help.stdout).toContain('another tool inserting into flows');
    expect(help.stdout).toContain('Safe to repeat');
  });

  it('refuses a time it cannot read and days whose 1-minute rollup retention dropped', async () => {
    const bad = await vxflow(['rollup', '--since', 'last tuesday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since "last tuesday": not a time');
    const old = await vxflow(['rollup', '--since', '400d']);
    expect(old.code).toBe(2);
    expect(old.stderr).toContain('clickhouse.retentionDays.flows_1m (30)');
    const backwards = await vxflow(['rollup', '--since', '1h', '--until', '2h']);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('is not after --since');
  }, 180_000);
});
