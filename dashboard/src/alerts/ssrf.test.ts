import { describe, expect, it } from 'vitest';
import { checkTarget, refusal } from './ssrf.ts';

describe('webhook target allowlist', () => {
  it('refuses internal addresses by default, allows public ones', () => {
    const refused: [string, RegExp][] = [
      ['127.0.0.1', /loopback/],
      ['127.255.0.9', /loopback/],
      ['::1', /loopback/],
      ['10.0.0.1', /private/],
      ['172.31.255.255', /private/],
      ['192.168.0.1', /private/],
      ['100.64.0.1', /CGNAT/],
      ['169.254.1.1', /link-local/],
      ['fe80::1', /link-local/],
      ['fc00::1', /private/],
      ['0.0.0.0', /unspecified/],
      ['::', /unspecified/],
      ['224.0.0.1', /multicast/],
      ['::ffff:127.0.0.1', /loopback/],
      ['::ffff:7f00:1', /loopback/],
      ['64:ff9b::a00:1', /private/],
      ['169.254.169.254', /metadata/],
      ['fd00:ec2::254', /metadata/],
    ];
    for (const [a, why] of refused) expect(refusal(a, false), a).toMatch(why);
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '172.32.0.1', '11.0.0.1'])
      expect(refusal(a, false), a).toBeNull();
  });

  it('the switch allows private targets but never cloud metadata', () => {
    expect(refusal('127.0.0.1', true)).toBeNull();
    expect(refusal('10.1.1.1', true)).toBeNull();
    expect(refusal('169.254.169.254', true)).toMatch(/metadata/);
    expect(refusal('::ffff:169.254.169.254', true)).toMatch(/metadata/);
    expect(refusal('100.100.100.200', true)).toMatch(/metadata/);
  });

  it('checks URLs: scheme, literal hosts, names resolved', async () => {
    await expect(checkTarget('file:///etc/passwd', true)).rejects.toThrow(/only http/);
    await expect(checkTarget('not a url', true)).rejects.toThrow(/not a URL/);
    await expect(checkTarget('http://[::1]:8080/x', false)).rejects.toThrow(/loopback/);
    await expect(checkTarget('http://localhost/x', false)).rejects.toThrow(/loopback/);
    expect(await checkTarget('http://127.0.0.1:9/x', true)).toMatchObject({
      address: '127.0.0.1',
      family: 4,
    });
  });
});
