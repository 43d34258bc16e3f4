/**
 * `sim`: a deterministic simulator of a multi-tenant cloud (see sim/model.ts and
 * sim/generate.ts). Records are stamped on a virtual clock that starts at `startMs` and
 * advances by 1/(rate × daily factor) per record, so the same seed, rate and start give the
 * same records. In real time (the default) the virtual clock is held to the wall clock;
 * otherwise records come as fast as the pipeline takes them (tests, load generation).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { FlowRecord } from '../../../protocol/src/schema/columns.ts';
import type { FlowSource, SourceContext } from './source.ts';
import { createGenerator, dailyFactor } from './sim/generate.ts';
import { buildCloud, type SimCloud } from './sim/model.ts';

export interface SimSourceOptions {
  /** mean flows per second (the daily curve varies it between ~0.35× and ~1.65×) */
  rate: number;
  seed: number;
  tenants: number;
  /** virtual seconds to run; 0 = until aborted */
  durationS?: number;
  /** first record's time (default: now) */
  startMs?: number;
  /** hold the virtual clock to the wall clock (default true) */
  realtime?: boolean;
  /** keep the rate flat instead of following the daily curve (default false) */
  flat?: boolean;
}

export interface SimSource extends FlowSource {
  readonly cloud: SimCloud;
}

const TICK_MS = 50;
const CHUNK = 2000;

export function createSimSource(opts: SimSourceOptions): SimSource {
  if (!(opts.rate > 0)) throw new Error('sim: rate must be > 0');
  const cloud = buildCloud({ seed: opts.seed, tenants: opts.tenants });
  const realtime = opts.realtime ?? true;
  return {
    name: 'sim',
    cloud,
    async run(ctx: SourceContext & { drain?: () => Promise<void> }) {
      const gen = createGenerator(cloud, opts.seed);
      const start = opts.startMs ?? Date.now();
      const end = opts.durationS ? start + opts.durationS * 1000 : Number.POSITIVE_INFINITY;
      const wallStart = Date.now();
      let vt = start;
      while (!ctx.signal.aborted && vt < end) {
        const horizon = realtime ? Math.min(end, start + (Date.now() - wallStart)) : end;
        const out: FlowRecord[] = [];
        while (vt < horizon && out.length < CHUNK) {
          out.push(gen.next(vt));
          vt += 1000 / (opts.rate * (opts.flat ? 1 : dailyFactor(vt)));
        }
        if (out.length) ctx.emit(out);
        if (Number.isFinite(end))
          ctx.progress?.((vt - start) / (end - start), `${Math.round(vt - start)} ms simulated`);
        if (ctx.drain) await ctx.drain();
        if (realtime && out.length < CHUNK) await sleep(TICK_MS, ctx.signal);
        else await new Promise((r) => setImmediate(r));
      }
    },
  };
}

/** Waits ms, or less when the signal aborts (never rejects). */
const sleep = (ms: number, signal: AbortSignal): Promise<unknown> =>
  delay(ms, undefined, { signal }).catch(() => undefined);
