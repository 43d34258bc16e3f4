import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appctlCommand, createOvsSource } from './ovs.ts';

describe('ovs source: reaching the switch', () => {
  it('uses the ovs-vswitchd.ctl of a private rundir, and OVS_RUNDIR otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), `vxovsrun${process.pid}-`));
    try {
      const none = appctlCommand(['ovs-appctl'], dir);
      expect(none.argv).toEqual(['ovs-appctl']);
      expect(none.env.OVS_RUNDIR).toBe(dir);
      await writeFile(join(dir, 'ovs-vswitchd.ctl'), '');
      expect(appctlCommand(['ovs-appctl'], dir).argv).toEqual([
        'ovs-appctl',
        '-t',
        join(dir, 'ovs-vswitchd.ctl'),
      ]);
      // an explicit -t wins
      expect(appctlCommand(['ovs-appctl', '-t', '/x.ctl'], dir).argv).toEqual(['ovs-appctl', '-t', '/x.ctl']);
      expect(appctlCommand(['ovs-appctl'], '').env.OVS_RUNDIR).toBe(process.env.OVS_RUNDIR);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('counts failed dumps and keeps polling instead of crashing', async () => {
    const errors: string[] = [];
    const source = createOvsSource({
      appctl: ['ovs-appctl', '-t', `/nonexistent/vxflow-${process.pid}.ctl`],
      pollMs: 100,
      activeTimeoutS: 60,
      onError: (e) => errors.push(e.message),
    });
    const ac = new AbortController();
    const run = source.run({ emit: () => {}, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 450));
    ac.abort();
    await run;
    expect(source.stats().pollErrors).toBeGreaterThanOrEqual(2);
    expect(source.stats().polls).toBe(0);
    expect(errors[0]).toMatch(/ovs-appctl/);
  });
});
