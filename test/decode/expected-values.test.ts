/**
 * Values published with the captures: Telegraf's expected.out (line protocol) for its v9
 * and IPFIX cases, and Akvorado's sampler-id-aware sampling rates.
 */
import { describe, expect, it } from 'vitest';
import { capture, decodeFiles } from './helpers.ts';

describe('Telegraf expected.out', () => {
  it('netflow_v9_example: addresses, ports, counters, absolute ms times', () => {
    const { records } = decodeFiles([capture('telegraf/netflow_v9_example/netflow_v9.bin')]);
    expect(records).toHaveLength(8);
    const r = records[0];
    expect([r.src_addr, r.src_port, r.dst_addr, r.dst_port, r.proto]).toEqual([
      '140.82.121.3',
      443,
      '192.168.119.100',
      55516,
      6,
    ]);
    expect([r.bytes, r.packets, r.flow_start, r.flow_end]).toEqual([87477, 78, 1666350478660, 1666350481316]);
  });

  it('issue_14370: both data sets of a message whose length is 2 octets short', () => {
    const { records, decoder } = decodeFiles([capture('telegraf/issue_14370/message.bin')]);
    expect(
      records.map((r) => [r.src_addr, r.dst_addr, r.src_port, r.dst_port, r.bytes, r.in_if, r.out_if]),
    ).toEqual([
      ['0.0.0.0', '101.104.199.17', 443, 50202, 256, 101, 201],
      ['::6568:c711:0:0:6568:c711', '2001:db8:0:1::1', 443, 50202, 256, 101, 201],
    ]);
    expect(decoder.stats['set-length'] + decoder.stats['trailing-bytes']).toBe(0);
  });
});

describe('Akvorado', () => {
  it('multiplesamplingrates: the rate of the sampler id each record names', () => {
    const dir = 'akvorado/netflow/multiplesamplingrates';
    const { records, decoder } = decodeFiles(
      ['options-template', 'options-data', 'template', 'data'].map((n) => capture(`${dir}-${n}.pcap`)),
    );
    expect(records).toHaveLength(12);
    for (const r of records) expect(r.sampling_rate).toBe(r.extra?.samplerId === 1 ? 2000 : 4000);
    expect(decoder.samplingRates()).toEqual({ '238.0.0.1/0/1': 2000, '238.0.0.1/0/2': 4000 });
  });

  it('data+templates: a data set before its template in the same packet is decoded', () => {
    const { records, decoder } = decodeFiles([capture('akvorado/netflow/data+templates.pcap')]);
    expect(records.length).toBeGreaterThan(0);
    expect(decoder.stats.held).toBe(0);
  });
});
