/**
 * Between the decoders' state (the JSON text each decode worker exports:
 * protocol/src/decode/decoder.ts exportState) and the rows of the shared
 * `exporter_templates` table: which rows changed since the last write, and the import state
 * that gives an exporter's stored rows back to a decoder. Pure: no I/O, no clock.
 *
 * A row's definition leaves out lastSeenMs (it moves on every template refresh): a template
 * is written when it is new to this collector or its fields changed, not each time the
 * exporter repeats it. lastSeenMs becomes the row's updated_ms, the newest-wins order.
 */
import { DOMAIN_ROW_ID } from '../../../storage/src/template-tables.ts';

export interface SharedRow {
  exporter: string;
  version: number;
  observationDomain: number;
  /** DOMAIN_ROW_ID for the domain's sampling rates and init time */
  templateId: number;
  definition: string;
  updatedMs: number;
  /** the state object this row came from (shared-rows' own bookkeeping) */
  source?: string;
}

interface TemplateJson {
  exporter: string;
  version: number;
  observationDomain: number;
  templateId: number;
  options: boolean;
  fields: [number, number, number][];
  scopeFieldCount: number;
  lastSeenMs: number;
}

interface DomainJson {
  exporter: string;
  version: number;
  observationDomain: number;
  initMs: number;
  rates: [number, number][];
}

export const DECODER_STATE_FORMAT = 'vxflow-decoder-state/1';

/** the one field of the exported state that moves when nothing else changed (decoder.ts exportState) */
const LAST_SEEN = /,"lastSeenMs":\d+/g;

/**
 * The objects of one array ("templates" or "domains") of an exported decoder state, as
 * text, without parsing the whole state: each is a flat object (its only nesting is arrays
 * of numbers, its only string an address), so it ends at the first `}` after its `{`.
 */
function* stateObjects(text: string, array: 'templates' | 'domains'): Generator<string> {
  const open = text.indexOf(`"${array}":[`);
  if (open < 0) return;
  let p = open + array.length + 4;
  while (text.charCodeAt(p) === 0x7b /* { */) {
    const end = text.indexOf('}', p);
    if (end < 0) return;
    yield text.slice(p, end + 1);
    p = end + 1;
    if (text.charCodeAt(p) !== 0x2c /* , */) return;
    p++;
  }
}

function templateRow(obj: string, nowMs: number): SharedRow | undefined {
  const t = JSON.parse(obj) as TemplateJson;
  if (t.version !== 9 && t.version !== 10) return undefined;
  return {
    exporter: t.exporter,
    version: t.version,
    observationDomain: t.observationDomain,
    templateId: t.templateId,
    definition: JSON.stringify({ options: t.options, scopeFieldCount: t.scopeFieldCount, fields: t.fields }),
    // a template restored from an old file may carry no time: date it now
    updatedMs: t.lastSeenMs > 0 ? t.lastSeenMs : nowMs,
  };
}

function domainRow(obj: string, nowMs: number): SharedRow | undefined {
  const d = JSON.parse(obj) as DomainJson;
  // v5 carries its sampling in every header: nothing to share
  if (d.version !== 9 && d.version !== 10) return undefined;
  if (!Array.isArray(d.rates) || (d.initMs === 0 && d.rates.length === 0)) return undefined;
  return {
    exporter: d.exporter,
    version: d.version,
    observationDomain: d.observationDomain,
    templateId: DOMAIN_ROW_ID,
    definition: JSON.stringify({ initMs: d.initMs, rates: d.rates }),
    updatedMs: nowMs,
  };
}

/** objects looked at between two yields to the event loop */
const SCAN_SLICE = 500;

/**
 * What this collector has written, as the text of each state object without its
 * lastSeenMs: an object whose text is known is unchanged and is not even parsed. `commit`
 * after a write succeeded; until then the same rows come out of the next scan again, so a
 * write that failed is retried on the next tick. The scan yields to the event loop every
 * SCAN_SLICE objects: it runs on the receiving thread, and 100 000 templates in one go
 * held that thread for seconds.
 */
export function createSharedRowDiff() {
  let committed = new Set<string>();
  let busyMs = 0;

  return {
    /** Rows whose definition is not written yet; `nowMs` dates domain rows. */
    async changes(statesJson: readonly string[], nowMs: number): Promise<SharedRow[]> {
      const rows: SharedRow[] = [];
      // what is still held and already written; what no worker holds any more (evicted
      // exporters) drops out, so this stays as large as the decoders' state. Their rows
      // stay in ClickHouse for whichever collector the exporter moves to.
      const stillHeld = new Set<string>();
      let n = 0;
      let sliceStart = performance.now();
      busyMs = 0;
      for (const text of statesJson)
        for (const array of ['templates', 'domains'] as const)
          for (const obj of stateObjects(text, array)) {
            if (++n % SCAN_SLICE === 0) {
              busyMs += performance.now() - sliceStart;
              await new Promise((r) => setImmediate(r));
              sliceStart = performance.now();
            }
            const source = array[0] + obj.replace(LAST_SEEN, '');
            if (committed.has(source)) {
              stillHeld.add(source);
              continue;
            }
            let row: SharedRow | undefined;
            try {
              row = array === 'templates' ? templateRow(obj, nowMs) : domainRow(obj, nowMs);
            } catch {
              continue; // not what exportState() writes: nothing to share
            }
            if (row) rows.push({ ...row, source });
          }
      committed = stillHeld;
      busyMs += performance.now() - sliceStart;
      return rows;
    },
    /** These rows are stored: not written again unless they change. */
    commit(rows: readonly SharedRow[]): void {
      for (const r of rows) if (r.source) committed.add(r.source);
    },
    /** Everything held is written again at the next scan (the daily rewrite that keeps rows young). */
    reset(): void {
      committed = new Set();
    },
    get size() {
      return committed.size;
    },
    /** time the last scan held the thread, yields left out */
    get lastScanMs() {
      return busyMs;
    },
  };
}

/**
 * The decoder import state (the shape exportState() produces) of one exporter's stored
 * rows; rows whose definition is not JSON are left out (the decoder validates the rest and
 * applies its limits, as it does to templates from the wire).
 */
export function importStateOf(rows: readonly SharedRow[]): unknown {
  const templates: TemplateJson[] = [];
  const domains: DomainJson[] = [];
  for (const r of rows) {
    let def: Record<string, unknown>;
    try {
      def = JSON.parse(r.definition);
    } catch {
      continue;
    }
    if (!def || typeof def !== 'object') continue;
    if (r.templateId === DOMAIN_ROW_ID)
      domains.push({
        exporter: r.exporter,
        version: r.version,
        observationDomain: r.observationDomain,
        initMs: def.initMs as number,
        rates: def.rates as [number, number][],
      });
    else
      templates.push({
        exporter: r.exporter,
        version: r.version,
        observationDomain: r.observationDomain,
        templateId: r.templateId,
        options: def.options as boolean,
        fields: def.fields as [number, number, number][],
        scopeFieldCount: def.scopeFieldCount as number,
        lastSeenMs: r.updatedMs,
      });
  }
  return { format: DECODER_STATE_FORMAT, templates, domains };
}
