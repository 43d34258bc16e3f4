import { describe, expect, it } from 'vitest';
import { cidrToString, parseCidr, parseIpInto } from './ip.ts';
import { createNetworkSet, createPrefixTrie } from './prefix-trie.ts';

describe('ip parsing', () => {
  it('reads IPv4, IPv6, mapped and rejects junk', () => {
    const b = new Uint8Array(16);
    expect(parseIpInto('10.1.2.3', b)).toBe(4);
    expect([...b.slice(0, 4)]).toEqual([10, 1, 2, 3]);
    expect(parseIpInto('::ffff:192.0.2.1', b)).toBe(4);
    expect(parseIpInto('2001:db8::1', b)).toBe(6);
    expect(b[15]).toBe(1);
    for (const bad of ['', '1.2.3', '1.2.3.256', 'x', '1::2::3', '2001:db8:1:2:3:4:5:6:7'])
      expect(parseIpInto(bad, b)).toBe(0);
  });
  it('zeroes host bits and prints canonical CIDRs', () => {
    expect(cidrToString(parseCidr('10.1.2.3/8')!)).toBe('10.0.0.0/8');
    expect(cidrToString(parseCidr('2001:db8:0:0:1::/32')!)).toBe('2001:db8::/32');
    expect(parseCidr('10.0.0.0/33')).toBeNull();
  });
});

describe('prefix trie', () => {
  it('returns the longest matching prefix, per family', () => {
    const t = createPrefixTrie<string>();
    t.insert(parseCidr('10.0.0.0/8')!, 'a');
    t.insert(parseCidr('10.1.0.0/16')!, 'b');
    t.insert(parseCidr('10.1.2.3')!, 'host');
    t.insert(parseCidr('2001:db8::/32')!, 'v6');
    t.insert(parseCidr('::/0')!, 'v6-default');
    expect(t.lookup('10.9.9.9')).toBe('a');
    expect(t.lookup('10.1.9.9')).toBe('b');
    expect(t.lookup('10.1.2.3')).toBe('host');
    expect(t.lookup('11.0.0.1')).toBeUndefined();
    expect(t.lookup('2001:db8:ffff::1')).toBe('v6');
    expect(t.lookup('2001:db9::1')).toBe('v6-default');
    expect(t.lookup('')).toBeUndefined();
  });
  it('network sets answer membership', () => {
    const s = createNetworkSet(['192.0.2.0/24', '2001:db8::/48']);
    expect(s.contains('192.0.2.200')).toBe(true);
    expect(s.contains('192.0.3.1')).toBe(false);
    expect(s.contains('2001:db8:0:1::1')).toBe(true);
    expect(() => createNetworkSet(['nope'])).toThrow(/nope/);
  });
});
