/** Time ranges of API requests: ISO 8601 or Unix seconds, validated, as Unix seconds. */
import { badRequest } from '../errors.ts';

const MAX_RANGE_S = 3 * 366 * 86_400;

export function parseTime(name: string, v: string | number): number {
  if (typeof v === 'number' || /^\d{1,11}(\.\d+)?$/.test(v)) {
    const n = Math.floor(Number(v));
    if (Number.isFinite(n) && n >= 0 && n < 2 ** 32) return n;
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v)) {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms) && ms >= 0 && ms / 1000 < 2 ** 32) return Math.floor(ms / 1000);
  }
  throw badRequest(
    `${name}: expected an ISO 8601 time or Unix seconds, got ${JSON.stringify(String(v)).slice(0, 64)}`,
  );
}

export interface TimeRange {
  start: number;
  end: number;
}

/** start and end in Unix seconds; end defaults to now, start to end − 1 h */
export function parseRange(
  q: { start?: string | number; end?: string | number },
  now = Date.now(),
): TimeRange {
  const end = q.end !== undefined && q.end !== '' ? parseTime('end', q.end) : Math.floor(now / 1000);
  const start = q.start !== undefined && q.start !== '' ? parseTime('start', q.start) : end - 3600;
  if (start >= end) throw badRequest(`start must be before end (start ${start}, end ${end})`);
  if (end - start > MAX_RANGE_S) throw badRequest('the time range is longer than 3 years');
  return { start, end };
}
