import { describe, expect, it } from 'vitest';
import { HISTORY_PAGE_SIZE, parseHistory, renderHistory, timeline, type HistoryView } from '../../../commands/history.ts';
import { InvalidInput } from '../../../src/errors.ts';
import { blockProblems } from '../../../src/slack/reply-limits.ts';
import { gitOpsHints, type LookoutAction, type Revision } from '../../../src/workloads/workload-history.ts';

const ref = { kind: 'Deployment' as const, namespace: 'shop', name: 'cart' };
const revision = (n: number, at: number): Revision => ({ revision: n, name: `cart-${n}`, images: [{ container: 'cart', image: `registry.example/cart:${n}` }], at });
const action = (reason: string, at: number): LookoutAction => ({ reason, note: `${reason} note`, slackUserId: 'U0ALICE', at });

function view(overrides: Partial<HistoryView>): HistoryView {
  return { target: ref, page: 1, revisions: { value: [] }, actions: { value: [] }, gitOps: [], ...overrides };
}

describe('/ops history', () => {
  it('merges revisions and Lookout actions newest first; a revision before the action of the same instant', () => {
    const entries = timeline([revision(1, 1000), revision(2, 3000), revision(3, 5000)], [action('ScaledBySlackUser', 4000), action('RestartedBySlackUser', 5000)]);
    expect(entries.map((entry) => (entry.type === 'revision' ? `r${entry.revision}` : entry.reason))).toEqual(['r3', 'RestartedBySlackUser', 'ScaledBySlackUser', 'r2', 'r1']);
  });

  it('pages by ten with a More button carrying the next page, and none on the last page', () => {
    const revisions = Array.from({ length: 23 }, (_, i) => revision(i + 1, (i + 1) * 1000));
    const first = renderHistory(view({ revisions: { value: revisions } }));
    expect(first.text).toContain('page 1 of 3');
    expect(first.text).toContain('*revision 23*');
    expect(first.text).not.toContain('*revision 13*');
    const more = (first.blocks ?? []).find((block) => block.type === 'actions');
    expect(more?.type === 'actions' && more.elements[0]).toMatchObject({ action_id: 'command:run:history', value: 'shop/cart --page 2' });
    const last = renderHistory(view({ page: 3, revisions: { value: revisions } }));
    expect(last.text).toContain('*revision 3*');
    expect(last.text).toContain('*revision 1*');
    expect((last.blocks ?? []).some((block) => block.type === 'actions')).toBe(false);
    expect(() => renderHistory(view({ page: 4, revisions: { value: revisions } }))).toThrow(InvalidInput);
    for (const reply of [first, last]) expect(blockProblems(reply.blocks ?? [])).toEqual([]);
    expect((first.blocks ?? []).length).toBe(1 + HISTORY_PAGE_SIZE + 1);
  });

  it('marks the current revision, shows change-cause escaped, and mentions who acted', () => {
    const reply = renderHistory(view({ currentRevision: 2, revisions: { value: [{ ...revision(2, 2000), changeCause: 'kubectl set image <!here>' }, revision(1, 1000)] }, actions: { value: [action('ScaledBySlackUser', 3000)] } }));
    expect(reply.text).toContain('*revision 2* (current)');
    expect(reply.text).not.toContain('*revision 1* (current)');
    expect(reply.text).toContain('change-cause: kubectl set image &lt;!here&gt;');
    expect(reply.text).toContain('*ScaledBySlackUser* by <@U0ALICE>');
  });

  it('says which parts the person may not see', () => {
    const reply = renderHistory(view({ revisions: { hidden: true }, actions: { hidden: true } }));
    expect(reply.text).toContain('_not allowed to see ReplicaSets_');
    expect(reply.text).toContain('_not allowed to see events_');
  });

  it('names the GitOps tool that manages the workload', () => {
    expect(gitOpsHints({ metadata: { annotations: { 'argocd.argoproj.io/tracking-id': 'shop_cart-app:apps/Deployment:shop/cart' }, labels: { 'app.kubernetes.io/instance': 'ignored' } } })).toEqual([
      { tool: 'Argo CD', kind: 'Application', name: 'shop/cart-app', source: 'annotation argocd.argoproj.io/tracking-id' },
    ]);
    expect(gitOpsHints({ metadata: { labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system', 'helm.toolkit.fluxcd.io/name': 'cart' } } }).map((hint) => `${hint.tool} ${hint.kind} ${hint.name}`)).toEqual([
      'Flux Kustomization flux-system/apps',
      'Flux HelmRelease cart',
    ]);
    expect(gitOpsHints({ metadata: { labels: { app: 'cart' } } })).toEqual([]);
    const reply = renderHistory(view({ gitOps: gitOpsHints({ metadata: { labels: { 'app.kubernetes.io/instance': 'cart' } } }) }));
    expect(reply.text).toContain('⚠️ Managed by Argo CD Application `cart`');
    expect(reply.text).toContain('reverted');
  });

  it('parses the page, and refuses a bad one', () => {
    expect(parseHistory(['shop/cart'])).toEqual({ target: ref, page: 1 });
    expect(parseHistory(['shop/cart', '--page', '3'])).toEqual({ target: ref, page: 3 });
    expect(parseHistory(['shop/cart', '--page=0'])).toEqual({ error: '`--page` must be a whole number, 1 or more' });
    expect(parseHistory(['shop/cart', '--page', 'x'])).toEqual({ error: '`--page` must be a whole number, 1 or more' });
  });
});
