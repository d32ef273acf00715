import type { AlertEnrichmentResult, AsyncEngine, PendingEnrichment } from '../src/state/store.ts';
import type { GroupEnrichment } from './enrichers/enrichment.ts';

/*
 * The enrichment pipeline's writes, as named transactions over the engine
 * (src/state/store-transactions.ts): each compares against the group as it is now, which only
 * works where the connection lives, in one transaction.
 */

/**
 * Writes what the sources found into the group's current enrichment and releases its first post.
 * A result for an alert whose occurrence changed meanwhile is dropped: the newer one is queued
 * and gets its own lookups.
 * @returns whether the outbox has something new to deliver.
 */
export function saveEnrichmentResults(store: AsyncEngine, groupId: number, results: AlertEnrichmentResult[], handled: PendingEnrichment): Promise<boolean> {
  return store.transaction(async () => {
    const current = await store.groupById(groupId);
    if (current === undefined) return false;
    const enrichment: GroupEnrichment = { ...current.enrichment };
    for (const { fingerprint, startsAt, result } of results) {
      const latest = current.state.alerts.find((candidate) => candidate.fingerprint === fingerprint);
      if (latest === undefined || latest.startsAt !== startsAt) continue;
      enrichment[fingerprint] = result;
    }
    const messageChanged = messageView(current.enrichment) !== messageView(enrichment);
    const detailChanged = detailView(current.enrichment) !== detailView(enrichment);
    await store.saveEnrichment(groupId, { enrichment, handled, releaseFirstPost: true, messageChanged, detailChanged });
    return messageChanged || detailChanged || current.enrichUntil !== null;
  });
}

/** After an unexpected error: let the post go and drop the queue entries, so nothing loops. */
export function releaseEnrichment(store: AsyncEngine, groupId: number, pending: PendingEnrichment): Promise<void> {
  return store.transaction(async () => {
    const current = await store.groupById(groupId);
    if (current === undefined) return;
    await store.saveEnrichment(groupId, { enrichment: current.enrichment, handled: pending, releaseFirstPost: true, messageChanged: false, detailChanged: false });
  });
}

/** What the main message shows of the enrichment: summaries and notes, per alert. */
function messageView(enrichment: GroupEnrichment): string {
  return JSON.stringify(
    Object.keys(enrichment)
      .sort()
      .map((fingerprint) => {
        const { facts, failures } = enrichment[fingerprint]!;
        return [fingerprint, facts.map((fact) => [fact.source, fact.summary]), failures.map((failure) => [failure.source, failure.reason])];
      }),
  );
}

/** What the thread detail message shows: the long texts, per alert. */
function detailView(enrichment: GroupEnrichment): string {
  return JSON.stringify(
    Object.keys(enrichment)
      .sort()
      .map((fingerprint) => [fingerprint, enrichment[fingerprint]!.facts.flatMap((fact) => (fact.detail ? [[fact.source, fact.detail]] : []))])
      .filter(([, details]) => details!.length > 0),
  );
}
