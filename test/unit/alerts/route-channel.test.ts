import { describe, expect, it } from 'vitest';
import { compileRoute, routeChannel } from '../../../alerts/route-channel.ts';

const DEFAULT = 'C0ALERTS';

describe('routeChannel', () => {
  const routes = [
    compileRoute({ match: { severity: 'critical' }, matchRegex: { namespace: 'pay.*' }, channel: 'C0INCIDENTS' }),
    compileRoute({ match: { severity: 'critical' }, channel: 'C0CRITICAL' }),
    compileRoute({ matchRegex: { namespace: 'checkout|cart' }, channel: 'C0SHOP' }),
  ];

  it('picks the first route whose every matcher holds', () => {
    expect(routeChannel({ severity: 'critical', namespace: 'payments' }, routes, DEFAULT)).toBe('C0INCIDENTS');
    expect(routeChannel({ severity: 'critical', namespace: 'checkout' }, routes, DEFAULT)).toBe('C0CRITICAL');
    expect(routeChannel({ severity: 'warning', namespace: 'cart' }, routes, DEFAULT)).toBe('C0SHOP');
  });

  it('needs equality AND regex matchers to hold, not either', () => {
    expect(routeChannel({ severity: 'warning', namespace: 'payments' }, routes, DEFAULT)).toBe(DEFAULT);
  });

  it('falls back to the default channel when nothing matches, or there are no routes', () => {
    expect(routeChannel({ severity: 'info', namespace: 'kube-system' }, routes, DEFAULT)).toBe(DEFAULT);
    expect(routeChannel({ severity: 'critical' }, [], DEFAULT)).toBe(DEFAULT);
  });

  it('anchors regexes at both ends, like Alertmanager', () => {
    const pay = [compileRoute({ matchRegex: { namespace: 'pay' }, channel: 'C0PAY' })];
    expect(routeChannel({ namespace: 'pay' }, pay, DEFAULT)).toBe('C0PAY');
    expect(routeChannel({ namespace: 'payments' }, pay, DEFAULT)).toBe(DEFAULT);
    expect(routeChannel({ namespace: 'prepay' }, pay, DEFAULT)).toBe(DEFAULT);
    // The anchors wrap the whole alternation, not just its first and last branch.
    const either = [compileRoute({ matchRegex: { namespace: 'pay|shop' }, channel: 'C0PAY' })];
    expect(routeChannel({ namespace: 'payments' }, either, DEFAULT)).toBe(DEFAULT);
    expect(routeChannel({ namespace: 'myshop' }, either, DEFAULT)).toBe(DEFAULT);
    expect(routeChannel({ namespace: 'shop' }, either, DEFAULT)).toBe('C0PAY');
  });

  it('matches a longer value only when the regex says so', () => {
    const payAll = [compileRoute({ matchRegex: { namespace: 'pay.*' }, channel: 'C0PAY' })];
    expect(routeChannel({ namespace: 'payments' }, payAll, DEFAULT)).toBe('C0PAY');
  });

  it('reads a missing label as the empty string', () => {
    const noTeam = [compileRoute({ match: { team: '' }, channel: 'C0UNOWNED' })];
    expect(routeChannel({ severity: 'critical' }, noTeam, DEFAULT)).toBe('C0UNOWNED');
    expect(routeChannel({ team: 'sre' }, noTeam, DEFAULT)).toBe(DEFAULT);

    const optionalTeam = [compileRoute({ matchRegex: { team: 'sre|' }, channel: 'C0SRE' })];
    expect(routeChannel({}, optionalTeam, DEFAULT)).toBe('C0SRE');
    const requiredTeam = [compileRoute({ matchRegex: { team: '.+' }, channel: 'C0OWNED' })];
    expect(routeChannel({}, requiredTeam, DEFAULT)).toBe(DEFAULT);
  });

  it('does not read inherited properties as labels', () => {
    const route = [compileRoute({ matchRegex: { constructor: '.+' }, channel: 'C0ODD' })];
    expect(routeChannel({}, route, DEFAULT)).toBe(DEFAULT);
  });

  it('lets a route without matchers catch everything', () => {
    expect(routeChannel({ any: 'thing' }, [compileRoute({ channel: 'C0ALL' })], DEFAULT)).toBe('C0ALL');
  });

  it('does not let `.` cross a newline, as in Go', () => {
    const route = [compileRoute({ matchRegex: { summary: 'disk.*full' }, channel: 'C0DISK' })];
    expect(routeChannel({ summary: 'disk\nfull' }, route, DEFAULT)).toBe(DEFAULT);
  });
});

describe('compileRoute', () => {
  it('names the label and the pattern of an invalid regex', () => {
    expect(() => compileRoute({ matchRegex: { namespace: 'pay(' }, channel: 'C0PAY' })).toThrow(
      /matchRegex\.namespace is not a valid regular expression \("pay\("\)/,
    );
  });

  it('keeps the compile error as the cause', () => {
    try {
      compileRoute({ matchRegex: { team: '[a-' }, channel: 'C0X' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).cause).toBeInstanceOf(SyntaxError);
    }
  });

  it('cannot be escaped by a pattern that closes the anchoring group', () => {
    // `a)|(b` would, if spliced naively, become `^(?:a)|(b)$`, i.e. an unanchored `a` prefix match.
    // It is not a valid pattern on its own, so it is rejected rather than silently widened.
    expect(() => compileRoute({ matchRegex: { x: 'a)|(b' }, channel: 'C0X' })).toThrow(/matchRegex\.x/);
  });
});
