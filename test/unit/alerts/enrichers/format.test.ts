import { describe, expect, it } from 'vitest';
import { ago, clipLine, clipLines, code, shortDuration } from '../../../../alerts/enrichers/format.ts';

describe('enrichment text helpers', () => {
  it('cuts at a line break and closes a code block it cut open', () => {
    const text = ['*Logs*', '```', 'line one', 'line two', 'line three', '```'].join('\n');
    const clipped = clipLines(text, 30);
    expect(clipped.length).toBeLessThanOrEqual(30);
    expect(clipped.match(/```/g)).toHaveLength(2);
    expect(clipped.endsWith('\n…')).toBe(true);
  });

  it('cuts a one-line summary after its last whole part', () => {
    const parts = ['`cart-1`', 'CrashLoopBackOff', '<!date^1772445420^{ago}|3m ago>', `\`${'n'.repeat(100)}\``];
    expect(clipLine(parts.join(' · '), 80)).toBe('`cart-1` · CrashLoopBackOff · <!date^1772445420^{ago}|3m ago> · …');
    expect(clipLine(parts.join(' · '), 500)).toBe(parts.join(' · '));
  });

  it('leaves text that fits alone', () => {
    expect(clipLines('short', 30)).toBe('short');
  });

  it('writes names as inline code unless a backtick would end the span', () => {
    expect(code('cart-1')).toBe('`cart-1`');
    expect(code('a`b <c>')).toBe('a`b &lt;c&gt;');
    expect(code('')).toBe('""');
  });

  it('says how long ago with a fallback computed now', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    expect(ago('2026-03-02T09:57:00Z', now)).toBe('<!date^1772445420^{ago}|3m ago>');
    expect(ago(null, now)).toBeUndefined();
    expect(ago('not a time', now)).toBeUndefined();
    expect([shortDuration(59_000), shortDuration(3_600_000), shortDuration(47 * 3_600_000), shortDuration(49 * 3_600_000)]).toEqual(['59s', '1h', '47h', '2d']);
  });
});
