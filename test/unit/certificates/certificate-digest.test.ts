import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIGEST_MAX_LINES, renderCertificateDigest, type DigestCertificate } from '../../../src/certificates/certificate-digest.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { ManualClock } from '../../helpers/fakes.ts';

const DAY = 86_400_000;
const clock = new ManualClock(Date.parse('2026-12-01T09:00:00Z'));

function certificate(name: string, daysLeft: number, overrides: Partial<DigestCertificate> = {}): DigestCertificate {
  return { namespace: 'shop', name, kind: 'Secret', source: 'leaf', expiresAt: clock.now() + daysLeft * DAY, ...overrides };
}

function queuedTexts(engine: SqliteStore): string[] {
  const texts: string[] = [];
  for (;;) {
    const [notice] = engine.nextNoticePerChannel(Number.MAX_SAFE_INTEGER);
    if (notice === undefined) return texts;
    texts.push(notice.text);
    engine.removeNotice(notice.id);
  }
}

describe('certificate digest: decided, recorded and queued in one transaction', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('lists a certificate at most once a day, however often the scan runs', async () => {
    const engine = new SqliteStore(':memory:');
    const store = inProcessStore(engine);
    const start = clock.now();
    const request = (certificates: DigestCertificate[]) => ({ channel: 'C0CERTS', at: clock.now(), warnWithinMs: 21 * DAY, certificates });

    expect(await store.queueCertificateDigest(request([certificate('cart-tls', 3), certificate('pay-tls', -1)]))).toBe(2);
    const [first] = queuedTexts(engine);
    expect(first).toContain('`shop/cart-tls` (Secret) expires in 3d');
    expect(first).toContain('`shop/pay-tls` (Secret) *expired 1d ago*');
    // Expired first, then soonest.
    expect(first!.indexOf('pay-tls')).toBeLessThan(first!.indexOf('cart-tls'));

    // Hourly scans for the rest of the day: nothing new, no digest. A certificate entering the window is listed alone.
    for (let hour = 1; hour < 24; hour++) {
      clock.current = start + hour * 3_600_000;
      const entering = hour === 5 ? [certificate('new-tls', 20)] : [];
      const listed = await store.queueCertificateDigest(request([certificate('cart-tls', 3), certificate('pay-tls', -1), ...entering]));
      expect(listed).toBe(hour === 5 ? 1 : 0);
    }
    const during = queuedTexts(engine);
    expect(during).toHaveLength(1);
    expect(during[0]).toContain('new-tls');
    expect(during[0]).not.toContain('cart-tls');

    // A day after the first listing, both are listed again (new-tls is not: its day is not over).
    clock.current = start + DAY;
    expect(await store.queueCertificateDigest(request([certificate('cart-tls', 2), certificate('pay-tls', -2), certificate('new-tls', 19)]))).toBe(2);
    expect(queuedTexts(engine)[0]).not.toContain('new-tls');
    engine.close();
  });

  it('the same certificate seen twice in one scan is listed once; other kinds and sources are other certificates', async () => {
    const engine = new SqliteStore(':memory:');
    const store = inProcessStore(engine);
    const listed = await store.queueCertificateDigest({
      channel: 'C0CERTS',
      at: clock.now(),
      warnWithinMs: 21 * DAY,
      certificates: [certificate('a', 1), certificate('a', 1), certificate('a', 2, { source: 'chain' }), certificate('a', 1, { kind: 'Certificate', source: 'status' })],
    });
    expect(listed).toBe(3);
    expect(queuedTexts(engine)[0]).toContain('(Secret, an intermediate of its chain) expires in 2d');
    engine.close();
  });

  it('survives a restart: a reopened state file remembers what was listed today', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-digest-'));
    const path = join(dir, 'state.db');
    const first = new SqliteStore(path);
    expect(await inProcessStore(first).queueCertificateDigest({ channel: 'C0CERTS', at: clock.now(), warnWithinMs: 21 * DAY, certificates: [certificate('cart-tls', 3)] })).toBe(1);
    first.close();

    const reopened = new SqliteStore(path);
    const store = inProcessStore(reopened);
    // The digest queued before the restart is still there, once.
    expect(queuedTexts(reopened)).toHaveLength(1);
    expect(await store.queueCertificateDigest({ channel: 'C0CERTS', at: clock.now() + 3_600_000, warnWithinMs: 21 * DAY, certificates: [certificate('cart-tls', 3)] })).toBe(0);
    expect(queuedTexts(reopened)).toHaveLength(0);
    reopened.close();
  });

  it('a failed write leaves nothing decided: the certificate is listed by the next scan', async () => {
    const engine = new SqliteStore(':memory:');
    const store = inProcessStore(engine);
    const addNotice = engine.addNotice.bind(engine);
    engine.addNotice = () => {
      throw new Error('disk full');
    };
    await expect(store.queueCertificateDigest({ channel: 'C0CERTS', at: clock.now(), warnWithinMs: 21 * DAY, certificates: [certificate('cart-tls', 3)] })).rejects.toThrow('disk full');
    engine.addNotice = addNotice;
    expect(await store.queueCertificateDigest({ channel: 'C0CERTS', at: clock.now(), warnWithinMs: 21 * DAY, certificates: [certificate('cart-tls', 3)] })).toBe(1);
    engine.close();
  });

  it('a long digest lists the soonest and counts the rest, within Slack\'s message size', () => {
    const many = Array.from({ length: 2000 }, (_, index) => certificate(`tls-${String(index).padStart(4, '0')}-${'x'.repeat(200)}`, 1 + (index % 20)));
    const text = renderCertificateDigest(many, clock.now(), 21 * DAY);
    expect(text.split('\n')).toHaveLength(1 + DIGEST_MAX_LINES + 1);
    expect(text).toMatch(/…and 1950 more: `\/ops certs --all-namespaces`/);
    expect(text.length).toBeLessThan(40_000);
    expect(text).toMatch(/^:warning: \*Certificate expiry digest:\* 2000 certificates expired or expiring within 21d\n/);
  });

  it('escapes what it shows of names', () => {
    const text = renderCertificateDigest([certificate('<!channel>', 1)], clock.now(), 21 * DAY);
    expect(text).not.toContain('<!channel>');
  });
});
