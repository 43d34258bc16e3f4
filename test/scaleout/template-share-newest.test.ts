/**
 * Two collectors writing the same exporter's template (a balancer that moved the exporter
 * back and forth, the exporter having redefined the template in between): the definition
 * seen last on the wire wins, even when the collector holding the older one writes it again
 * afterwards (a restart rewrites everything it holds), and a third collector that takes the
 * exporter over loads the newest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCollector, tempDir, waitFor } from '../collector/harness.ts';
import { sendFrom, templateChurn } from '../collector/hostile-traffic.ts';
import { testClickHouseConfig, useTestClickHouse } from '../helpers/clickhouse.ts';

const db = useTestClickHouse();
const EXPORTER = '127.9.1.1';

const counter = async (c: { metrics: Record<string, unknown> }, name: string) =>
  (
    await (
      c.metrics.registry as {
        getSingleMetric(n: string): { get(): Promise<{ values: { value: number }[] }> } | undefined;
      }
    )
      .getSingleMetric(name)
      ?.get()
  )?.values.reduce((s, v) => s + v.value, 0) ?? 0;

/** the first field's length in each stored row of template 256, oldest first */
async function storedLengths(): Promise<number[]> {
  const rows = await db().query<{ definition: string }>(
    `SELECT definition FROM ${db().database}.exporter_templates WHERE exporter = '${EXPORTER}' AND template_id = 256 ORDER BY updated_ms`,
  );
  return rows.map((r) => (JSON.parse(r.definition) as { fields: number[][] }).fields[0][2]);
}

describe('shared templates: newest wins', () => {
  it('the definition seen last on the wire wins over an older one written later, and is what a third collector loads', async () => {
    const dirs = [tempDir('newest-a'), tempDir('newest-b'), tempDir('newest-c')];
    const real = testClickHouseConfig(db().database);
    const config = { templateSaveMs: 200 };
    let a = await startCollector({ stateDir: dirs[0].path, clickhouse: real, config });
    const b = await startCollector({ stateDir: dirs[1].path, clickhouse: real, config });
    let c: Awaited<ReturnType<typeof startCollector>> | undefined;
    try {
      // template 256 as first defined (first field 4 octets), to A
      await sendFrom(EXPORTER, a.udpPort, templateChurn(1, 1, 0));
      await waitFor('the first definition stored', storedLengths, (l) => l.length === 1, 20_000);
      // redefined (first field 16 octets) and sent to B a little later
      await new Promise((r) => setTimeout(r, 50));
      await sendFrom(EXPORTER, b.udpPort, templateChurn(1, 1, 1));
      await waitFor('the second definition stored', storedLengths, (l) => l.includes(16), 20_000);
      // A restarts: it writes again what it holds, the older definition, after B's
      await a.stop();
      a = await startCollector({ stateDir: dirs[0].path, clickhouse: real, config });
      await waitFor(
        "A's rewrite",
        () => counter(a, 'vxflow_collector_shared_templates_written_total'),
        (n) => n >= 1,
        20_000,
      );
      // the rows are ordered by when the definition was last seen on the wire, not written
      const [newest] = await db().query<{ d: string }>(
        `SELECT argMax(definition, updated_ms) AS d FROM ${db().database}.exporter_templates WHERE exporter = '${EXPORTER}' AND template_id = 256`,
      );
      expect((JSON.parse(newest.d) as { fields: number[][] }).fields[0][2]).toBe(16);

      // a third collector meets the exporter with a data set: it loads the newest definition
      c = await startCollector({ stateDir: dirs[2].path, clickhouse: real, config });
      const data = Buffer.from(templateChurn(1, 1, 1)[0]);
      data.writeUInt16BE(256, 20); // the template set becomes a data set of template 256
      await sendFrom(EXPORTER, c.udpPort, [data]);
      const loaded = await waitFor(
        "C's saved state",
        () => {
          try {
            const saved = JSON.parse(readFileSync(join(dirs[2].path, 'templates.json'), 'utf8')) as {
              workers: { templates: { exporter: string; templateId: number; fields: number[][] }[] }[];
            };
            const t = saved.workers.flatMap((w) => w.templates).find((x) => x.exporter === EXPORTER);
            return t ? t.fields[0][2] : 0;
          } catch {
            return 0;
          }
        },
        (n) => n > 0,
        20_000,
      );
      expect(loaded).toBe(16);
    } finally {
      await a.stop();
      await b.stop();
      await c?.stop();
      for (const d of dirs) d.remove();
    }
  }, 120_000);
});
