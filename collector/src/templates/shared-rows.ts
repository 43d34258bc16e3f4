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

const rowKey = (exporter: string, version: number, domain: number, templateId: number) =>
  `${exporter}|${version}|${domain}|${templateId}`;

/**
 * What this collector last wrote (or read) per key: rows are written only where the
 * definition differs. `commit` after a write succeeded; until then the same rows come out
 * of the next `changes` again, so a write that failed is retried on the next tick.
 */
export function createSharedRowDiff() {
  let written = new Map<string, string>();
  /** each worker's state text at the last scan: an unchanged worker is not parsed again */
  let lastTexts: string[] = [];

  return {
    /** Rows whose definition differs from what was written; `nowMs` dates domain rows. */
    changes(statesJson: readonly string[], nowMs: number): SharedRow[] {
      if (
        statesJson.length === lastTexts.length &&
        statesJson.every((t, i) => t === lastTexts[i]) &&
        lastTexts.length > 0
      )
        return [];
      const rows: SharedRow[] = [];
      const present = new Set<string>();
      for (const text of statesJson) {
        let state: { templates?: unknown; domains?: unknown };
        try {
          state = JSON.parse(text);
        } catch {
          continue;
        }
        for (const t of (Array.isArray(state.templates) ? state.templates : []) as TemplateJson[]) {
          if (t.version !== 9 && t.version !== 10) continue;
          const key = rowKey(t.exporter, t.version, t.observationDomain, t.templateId);
          present.add(key);
          const definition = JSON.stringify({
            options: t.options,
            scopeFieldCount: t.scopeFieldCount,
            fields: t.fields,
          });
          if (written.get(key) === definition) continue;
          rows.push({
            exporter: t.exporter,
            version: t.version,
            observationDomain: t.observationDomain,
            templateId: t.templateId,
            definition,
            // a template restored from an old file may carry no time: date it now
            updatedMs: t.lastSeenMs > 0 ? t.lastSeenMs : nowMs,
          });
        }
        for (const d of (Array.isArray(state.domains) ? state.domains : []) as DomainJson[]) {
          // v5 carries its sampling in every header: nothing to share
          if (d.version !== 9 && d.version !== 10) continue;
          if (!Array.isArray(d.rates) || (d.initMs === 0 && d.rates.length === 0)) continue;
          const key = rowKey(d.exporter, d.version, d.observationDomain, DOMAIN_ROW_ID);
          present.add(key);
          const definition = JSON.stringify({ initMs: d.initMs, rates: d.rates });
          if (written.get(key) === definition) continue;
          rows.push({
            exporter: d.exporter,
            version: d.version,
            observationDomain: d.observationDomain,
            templateId: DOMAIN_ROW_ID,
            definition,
            updatedMs: nowMs,
          });
        }
      }
      // keys no worker holds any more (evicted exporters) are forgotten here too, so the
      // baseline stays as large as the decoders' state; their rows stay in ClickHouse for
      // whichever collector the exporter moves to
      for (const key of written.keys()) if (!present.has(key)) written.delete(key);
      lastTexts = [...statesJson];
      if (rows.length > 0) lastTexts = []; // until committed, the next scan must look again
      return rows;
    },
    /** These rows are stored (or were read from the table): not written again unless they change. */
    commit(rows: readonly SharedRow[]): void {
      for (const r of rows)
        written.set(rowKey(r.exporter, r.version, r.observationDomain, r.templateId), r.definition);
    },
    /** Everything held is written again at the next scan (the daily rewrite that keeps rows young). */
    reset(): void {
      written = new Map();
      lastTexts = [];
    },
    get size() {
      return written.size;
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
