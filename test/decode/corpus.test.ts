/**
 * Every NetFlow/IPFIX capture in ../shared/captures decodes, with template and data files
 * of one device fed through one decoder (templates first), and only the errors a capture
 * is known to contain (deliberately malformed or synthetic inputs) are counted.
 */
import { basename, dirname, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../protocol/src/decode/index.ts';
import { CAPTURES, copyRecord, datagrams, errorCounts, listCaptures } from './helpers.ts';
import type { FlowRecord } from '../../protocol/src/schema/columns.ts';

/** Errors a file is expected to produce (everything else must decode cleanly). */
const EXPECTED_ERRORS: Record<string, Record<string, number>> = {
  // count 55582 / 163 records do not fit the datagram (Logstash's invalid v5 packets)
  'logstash-codec-netflow/netflow5_test_invalid01.dat': { 'bad-length': 1 },
  'logstash-codec-netflow/netflow5_test_invalid02.dat': { 'bad-length': 1 },
  // 1728 octets for a 2-record packet (120 octets): the rest is a second, concatenated v5 packet
  'logstash-codec-netflow/netflow5.dat': { 'trailing-bytes': 1 },
  // 6 octets after the 29 records
  'vflow/netflow_v5_decoder_test__TestV5FlowPacket.bin': { 'trailing-bytes': 1 },
  // synthetic: header length 1366 does not match the 1409-octet array
  'vflow/ipfix_decoder_test__multiMessage.bin': {
    'set-length': 1,
    'template-invalid': 1,
    'trailing-bytes': 1,
  },
  // synthetic: header length 1366 for 214 octets, data with no template
  'vflow/ipfix_decoder_test__unknownDatasetMessage.bin': { 'bad-length': 1, 'held-expired': 2 },
  // data sets for templates the captured template packets do not define (280; 259 and 262)
  'logstash-codec-netflow/ipfix_test_netscaler_data.dat': { 'held-expired': 1 },
  'logstash-codec-netflow/netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat': {
    'held-expired': 6,
  },
  // vFlow's load-generator samples: data domains (32768, 32771, 33792, 35331) have no templates
  'vflow/hammer__ipfixDataSamples_0.bin': { 'held-expired': 1 },
  'vflow/hammer__ipfixDataSamples_1.bin': { 'held-expired': 1 },
  'vflow/hammer__ipfixDataSamples_2.bin': { 'held-expired': 1 },
  'vflow/hammer__ipfixDataSamples_3.bin': { 'held-expired': 1 },
  // starts mid-stream: data for templates 313/341/342/348 that never come
  'pmacct/112-IPFIXv10-CISCO-options-map-reassignment/traffic-00.pcap': { 'held-expired': 4 },
};

/** Files of one device share a decoder: the name without its template/data suffix. */
function groupOf(path: string): string {
  const dir = relative(CAPTURES, dirname(path));
  const name = basename(path).replace(/\.(pcap|dat|bin)$/, '');
  if (dir.startsWith('pmacct') || dir.startsWith('telegraf')) return dir;
  if (dir.startsWith('akvorado')) {
    // template.pcap, data.pcap, options-*.pcap are one device; X-template / X-data another
    const base = name.replace(/-?(options-)?(template|templates|data)$/, '');
    return `${dir}/${base || 'base'}`;
  }
  if (dir === 'vflow')
    return `vflow/${name.replace(/_\d+$/, '').replace(/(Templates|TemplatesOpt|DataSamples)$/, '')}`;
  return `${dir}/${name.replace(/_+(tpl|data|opttpl|tpldata|tplopt|template).*$/, '')}`;
}

const isTemplateFile = (p: string) => /tpl|template|opttpl/i.test(basename(p));
const files = listCaptures().filter((p) => !/sflow|\/decap\//.test(p));
const groups = new Map<string, string[]>();
for (const f of files) {
  const g = groupOf(f);
  groups.set(g, [...(groups.get(g) ?? []), f]);
}

describe('capture corpus', () => {
  it('has the NetFlow/IPFIX captures', () => {
    expect(files.length).toBeGreaterThan(150);
  });
  for (const [group, members] of groups) {
    it(group, () => {
      const ordered = [...members].sort((a, b) => Number(isTemplateFile(b)) - Number(isTemplateFile(a)));
      const records: FlowRecord[] = [];
      const expected: Record<string, number> = {};
      let errorsBefore: Record<string, number> = {};
      const decoder = createDecoder();
      for (const f of ordered) {
        for (const d of datagrams(f))
          decoder.decode(d.payload, `${group}|${d.exporter}`, d.timeMs, (r) => records.push(copyRecord(r)));
        if (EXPECTED_ERRORS[relative(CAPTURES, f)]) decoder.expire(Number.POSITIVE_INFINITY);
        const now = errorCounts(decoder);
        const own: Record<string, number> = {};
        for (const [k, v] of Object.entries(now))
          if (v - (errorsBefore[k] ?? 0) > 0) own[k] = v - (errorsBefore[k] ?? 0);
        expect(own, relative(CAPTURES, f)).toEqual(EXPECTED_ERRORS[relative(CAPTURES, f)] ?? {});
        for (const [k, v] of Object.entries(own)) expected[k] = (expected[k] ?? 0) + v;
        errorsBefore = now;
      }
      decoder.expire(Number.POSITIVE_INFINITY);
      expect(errorCounts(decoder)).toEqual(expected);
      // every data record carries its header identity
      for (const r of records) expect([5, 9, 10]).toContain(r.version);
    });
  }
});
