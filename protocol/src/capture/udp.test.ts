import { describe, expect, it } from 'vitest';
import { ipv6ToString } from './udp.ts';

/** 16 octets from text, through the URL parser (which also normalises the text) */
const octets = (s: string) => {
  const words = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const b = Buffer.alloc(16);
  const [head, tail = ''] = words.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const all = words.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  for (const [i, w] of all.entries()) b.writeUInt16BE(Number.parseInt(w, 16), 2 * i);
  return b;
};

describe('ipv6ToString', () => {
  it('writes addresses as inet_ntop (and Node) do', () => {
    for (const [addr, text] of [
      ['::1', '::1'],
      ['::', '::'],
      ['2001:db8::1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['fe80::1:2:3:4', 'fe80::1:2:3:4'],
      ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
      ['2001:0:0:1::', '2001:0:0:1::'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ])
      expect(ipv6ToString(octets(addr), 0)).toBe(text);
    const mapped = Buffer.alloc(16);
    mapped.writeUInt16BE(0xffff, 10);
    mapped.set([192, 0, 2, 7], 12);
    expect(ipv6ToString(mapped, 0)).toBe('::ffff:192.0.2.7');
  });
});
