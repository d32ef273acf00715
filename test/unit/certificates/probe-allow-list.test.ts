import { describe, expect, it } from 'vitest';
import { probeAllowed } from '../../../src/certificates/probe-allow-list.ts';

describe('probeAllowed', () => {
  const allow = ['*.example.com:443', 'web.shop.svc:*', '10.0.0.1:8443'];

  it.each<[string, number, boolean]>([
    ['shop.example.com', 443, true],
    ['a.b.example.com', 443, true],
    ['SHOP.Example.COM', 443, true],
    ['shop.example.com', 8443, false],
    ['example.com', 443, false],
    ['shop.example.com.evil.net', 443, false],
    ['evilexample.com', 443, false],
    ['web.shop.svc', 9000, true],
    ['web.shop.svc.evil', 9000, false],
    ['10.0.0.1', 8443, true],
    ['10.0.0.10', 8443, false],
    ['::1', 443, false],
  ])('%s:%d → %s', (host, port, allowed) => {
    expect(probeAllowed(allow, host, port)).toBe(allowed);
  });

  it('an IPv6 literal is written in brackets and matched exactly', () => {
    expect(probeAllowed(['[::1]:443'], '::1', 443)).toBe(true);
    expect(probeAllowed(['[::1]:443'], '::2', 443)).toBe(false);
  });

  it('an empty list allows nothing', () => {
    expect(probeAllowed([], 'shop.example.com', 443)).toBe(false);
  });

  it('regex characters in a glob are literal', () => {
    expect(probeAllowed(['a+b.example.com:443'], 'aab.example.com', 443)).toBe(false);
    expect(probeAllowed(['a+b.example.com:443'], 'a+b.example.com', 443)).toBe(true);
  });
});
