/**
 * One fast exporter spread over two decode workers, end to end into the suite's real
 * ClickHouse: every flow stored exactly once (count and byte sums), a template redefined
 * mid-stream decoded right, data sent before its template held and released, and the
 * sequence loss metric equal to the datagrams deliberately not sent.
 */
import { describe, expect, it } from 'vitest';
import { useTestClickHouse, testClickHouseConfig } from '../helpers/clickhouse.ts';
import { sendAll, startCollector, tempDir, waitFor } from './harness.ts';
import { LAYOUT_A, LAYOUT_B, v9Stream } from './spread-datagrams.ts';

const db = useTestClickHouse();

const metric = async (c: { metrics: Record<string, unknown> }, name: string) =>
  (await (c.metrics[name] as { get(): Promise<{ values: { value: number }[] }> }).get()).values.reduce(
    (s, v) => s + v.value,
    0,
  );

async function stored(domain: number): Promise<{ n: number; bytes: number; distinct: number }> {
  // aliases unlike the columns: 18.16 reads uniqExact(bytes) over an alias `bytes` as nested
  const [r] = await db().query<{ n: string; total: string; different: string }>(
    `SELECT count() AS n, sum(bytes) AS total, uniqExact(bytes) AS different FROM ${db().database}.flows WHERE observation_domain = ${domain}`,
  );
  return { n: Number(r.n), bytes: Number(r.total), distinct: Number(r.different) };
}

describe('one exporter over two workers into ClickHouse', () => {
  for (const mode of ['always', 'auto'] as const) {
    it(`spread '${mode}': every flow stored once, templates redefined mid-stream, loss counted as dropped`, async () => {
      const dir = tempDir(`spread-${mode}`);
      const domain = mode === 'always' ? 15_001 : 15_002;
      const c = await startCollector({
        stateDir: dir.path,
        clickhouse: testClickHouseConfig(db().database),
        // 'auto' at a threshold the paced sender passes, so the handoff happens mid-stream
        config: { workers: 2, spread: mode, spreadAboveDatagramsPerSecond: 300 },
      });
      try {
        const stream = v9Stream(domain);
        const per = 20;
        const datagrams: Buffer[] = [];
        const sent: number[] = [];
        const data = (layout: typeof LAYOUT_A, i: number) => {
          datagrams.push(stream.data(256, layout, i * per, per));
          sent.push(i);
        };
        // data before its template: held, then released by the template
        for (let i = 0; i < 3; i++) data(LAYOUT_A, i);
        datagrams.push(stream.template(256, LAYOUT_A));
        let dropped = 0;
        for (let i = 3; i < 2000; i++) {
          if (i % 97 === 0) {
            stream.lose();
            dropped++;
          } else data(LAYOUT_A, i);
        }
        datagrams.push(stream.template(256, LAYOUT_B));
        for (let i = 2000; i < 4000; i++) {
          if (i % 89 === 0) {
            stream.lose();
            dropped++;
          } else data(LAYOUT_B, i);
        }
        // 'auto' measures over a second: a pause after the first part ends the exporter's first window
        // (the next datagram starts the handoff, which waits for the home worker's answer: a
        // pause lets it finish, so the rest, with the template redefinition, is spread)
        const firstPart = 1000;
        await sendAll(c.udpPort, datagrams.slice(0, firstPart));
        await new Promise((r) => setTimeout(r, 1100));
        await sendAll(c.udpPort, datagrams.slice(firstPart, firstPart + 10));
        await new Promise((r) => setTimeout(r, 3000));
        await sendAll(c.udpPort, datagrams.slice(firstPart + 10));

        const flows = sent.length * per;
        const bytes = sent.reduce((s, i) => s + per * i * per + (per * (per - 1)) / 2, 0);
        const got = await waitFor(
          'every flow in ClickHouse',
          () => stored(domain),
          (r) => r.n >= flows,
          60_000,
        );
        expect(got).toEqual({ n: flows, bytes, distinct: flows });
        await waitFor(
          'the loss counted',
          () => metric(c, 'lostPackets'),
          (n) => n >= dropped,
          10_000,
        );
        // stats are reported each second: give a second for a late overcount to show
        await new Promise((r) => setTimeout(r, 1500));
        expect(await metric(c, 'lostPackets')).toBe(dropped);
        expect(await metric(c, 'reordered')).toBe(0);
        expect(await metric(c, 'held')).toBe(3); // the data sets sent before their template
        expect(await metric(c, 'heldExpired')).toBe(0);
        // both workers hold the exporter's template: both decoded its datagrams
        expect(await metric(c, 'templatesHeld')).toBe(2);
      } finally {
        await c.stop();
        dir.remove();
      }
    });
  }
});
