import { describe, expect, it } from 'vitest';
import { formatMatcher, overBroadReason, parseMatcher, parseMatchers, silenceNamespace, type Matcher } from '../../../src/integrations/silence-matchers.ts';

const eq = (name: string, value: string): Matcher => ({ name, value, isRegex: false, isEqual: true });
const re = (name: string, value: string): Matcher => ({ name, value, isRegex: true, isEqual: true });
const ne = (name: string, value: string): Matcher => ({ name, value, isRegex: false, isEqual: false });
const nre = (name: string, value: string): Matcher => ({ name, value, isRegex: true, isEqual: false });

describe('parseMatcher: amtool syntax', () => {
  const table: Array<[string, Matcher]> = [
    ['alertname=KubePodCrashLooping', eq('alertname', 'KubePodCrashLooping')],
    ['namespace="shop"', eq('namespace', 'shop')],
    ['namespace!=shop', ne('namespace', 'shop')],
    ['pod=~"cart-.*"', re('pod', 'cart-.*')],
    ['pod!~cart-.*', nre('pod', 'cart-.*')],
    ['severity = critical', eq('severity', 'critical')],
    ['team="web shop"', eq('team', 'web shop')],
    ['msg="say \\"hi\\" \\\\ now"', eq('msg', 'say "hi" \\ now')],
    ['a="line\\nbreak"', eq('a', 'line\nbreak')],
    ['empty=""', eq('empty', '')],
    ['value=a=b', eq('value', 'a=b')],
    ['pod=~“cart-.*”', re('pod', 'cart-.*')],
  ];
  it.each(table)('%s', (text, expected) => {
    expect(parseMatcher(text)).toEqual(expected);
  });

  const refused: Array<[string, RegExp]> = [
    ['alertname', /not a matcher/],
    ['=x', /not a matcher/],
    ['1abc=x', /not a label name/],
    ['a-b=x', /not a label name/],
    ['a="open', /unmatched quote/],
    ['a=x"y', /unmatched quote/],
    ['a="bad \\q escape"', /bad escape/],
    ['pod=~"(unclosed"', /not a valid regular expression/],
  ];
  it.each(refused)('refuses %j', (text, message) => {
    expect(parseMatcher(text)).toMatchObject({ error: expect.stringMatching(message) });
  });
});

describe('parseMatchers: from command words', () => {
  it('joins a quoted value that Slack text splitting cut at its spaces', () => {
    expect(parseMatchers(['team="web', 'shop"', 'alertname=X'])).toEqual([eq('team', 'web shop'), eq('alertname', 'X')]);
  });

  it('reads the braces-and-commas form amtool also accepts', () => {
    expect(parseMatchers(['{alertname="X",namespace=~"shop|cart"}'])).toEqual([eq('alertname', 'X'), re('namespace', 'shop|cart')]);
    expect(parseMatchers(['msg="a,b"'])).toEqual([eq('msg', 'a,b')]);
  });

  it('names the first bad matcher', () => {
    expect(parseMatchers(['alertname=X', 'oops'])).toMatchObject({ error: expect.stringContaining('`oops` is not a matcher') });
  });

  it('round-trips through formatMatcher', () => {
    const matchers = [eq('msg', 'say "hi" \\ now'), re('pod', 'a|b'), ne('x', ''), nre('y', '.+')];
    expect(parseMatchers(matchers.map(formatMatcher))).toEqual(matchers);
  });
});

describe('overBroadReason: refuses silences that would hide (nearly) every alert', () => {
  const broad: Matcher[][] = [
    [],
    [re('alertname', '.*')],
    [re('alertname', '.+')],
    [ne('alertname', '')],
    [ne('alertname', 'Watchdog')],
    [nre('namespace', 'kube-.*')],
    [eq('namespace', '')],
    [re('namespace', '.*'), ne('alertname', 'Watchdog')],
    [re('pod', '[^\n]*'), re('x', '(?:)|.+')],
  ];
  it.each(broad.map((matchers) => [matchers.map(formatMatcher).join(' ') || '(none)', matchers] as const))('refuses %s', (_name, matchers) => {
    expect(overBroadReason(matchers)).toEqual(expect.any(String));
  });

  const narrow: Matcher[][] = [
    [eq('alertname', 'KubePodCrashLooping')],
    [eq('namespace', 'shop')],
    [re('alertname', 'KubePod.*')],
    [re('namespace', 'shop|cart')],
    [re('alertname', '.*'), eq('namespace', 'shop')],
    [ne('alertname', 'Watchdog'), eq('namespace', 'shop')],
  ];
  it.each(narrow.map((matchers) => [matchers.map(formatMatcher).join(' '), matchers] as const))('accepts %s', (_name, matchers) => {
    expect(overBroadReason(matchers)).toBeUndefined();
  });
});

describe('silenceNamespace: where the permission is reviewed', () => {
  it('is the value of the one equality namespace matcher', () => {
    expect(silenceNamespace([eq('alertname', 'X'), eq('namespace', 'shop')])).toBe('shop');
    expect(silenceNamespace([eq('namespace', 'shop'), eq('namespace', 'shop')])).toBe('shop');
  });

  it('is none (cluster-wide) for a regex, a negation, two values, no matcher or a non-namespace value', () => {
    expect(silenceNamespace([re('namespace', 'shop')])).toBeUndefined();
    expect(silenceNamespace([ne('namespace', 'shop')])).toBeUndefined();
    expect(silenceNamespace([eq('namespace', 'shop'), eq('namespace', 'cart')])).toBeUndefined();
    expect(silenceNamespace([eq('alertname', 'X')])).toBeUndefined();
    expect(silenceNamespace([eq('namespace', 'Shop_1')])).toBeUndefined();
    expect(silenceNamespace([eq('exported_namespace', 'shop')])).toBeUndefined();
  });
});
