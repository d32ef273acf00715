import type { Logger } from '../src/log.ts';
import type { Metrics } from '../src/metrics.ts';
import type { EnrichmentWork, PendingEnrichment, Store } from '../src/state/store.ts';
import { startAlertEnrichment, type AlertEnrichmentRun } from './enrich-group.ts';
import type { AlertEnrichment, EnrichmentSources } from './enrichers/enrichment.ts';
import type { TrackedAlert } from './group-state.ts';

/** Timer functions, injected so tests drive time by hand. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real timers, unref'd: an enrichment deadline or retry never keeps a stopping process alive. */
export const UNREF_TIMERS: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The pipeline's own settings (the sources have theirs in `enrichment:` too). */
export interface EnrichmentRunnerConfig {
  /** How long a group's FIRST post may wait for enrichment; later results come as an edit. */
  budgetMs: number;
  /** When sources still running are given up ("timeout") and the final result is written. */
  timeoutMs: number;
  /** Groups enriched at once; more wait their turn (their posts do not: the budget still holds). */
  maxConcurrentGroups: number;
}

export interface EnrichmentRunnerOptions {
  store: Store;
  sources: EnrichmentSources;
  metrics: Metrics;
  log: Logger;
  config: EnrichmentRunnerConfig;
  /** Called after each write that gives the outbox something to deliver. */
  onChange: () => void;
  now?: () => number;
  timers?: Timers;
}

/**
 * Alerts of one group looked up per run. The message shows enrichment for ten and the thread
 * detail for a few dozen; a 500-alert group must not cost 2,500 lookups. The rest are dropped
 * from the queue unlooked-up (they still show, without enrichment).
 */
export const MAX_ALERTS_PER_GROUP = 50;

/**
 * The snapshot of what is known is written this long before the budget ends. At the budget
 * itself the outbox's timer and ours would race, and when the outbox won, the first post went
 * out without the facts already found and without the "unavailable" notes.
 */
export const SNAPSHOT_LEAD_MS = 100;

/** How long to wait before looking at the queue again after a group could not be enriched. */
const RETRY_AFTER_ERROR_MS = 5000;

type Result = [TrackedAlert, AlertEnrichment];

/**
 * Enriches the alerts the processor queued (Store.requestEnrichment) and writes what it found
 * back to the group, where the outbox renders it.
 *
 * Timing: the first post of a group is held by the store until `enrichUntil` (received + budget)
 * at the latest. If every source answers sooner, the result is written and the hold released at
 * once. If not, just before `enrichUntil` what is known is written (sources still running show as
 * "timeout") and the post goes; when the rest answers, or `timeoutMs` cuts it off, a second write
 * bumps the version and the outbox edits the message. Nothing here can delay a post beyond its
 * budget: the hold is a time in the store, so a crash, a bug or a restart only loses enrichment.
 *
 * Load: at most `maxConcurrentGroups` groups are enriched at once; the sources bound their own
 * requests and share lookups. Queued work is durable, so a restart resumes it.
 */
export class EnrichmentRunner {
  private readonly options: Required<EnrichmentRunnerOptions>;
  private readonly running = new Map<number, Promise<void>>();
  private readonly controllers = new Set<AbortController>();
  private retryTimer: unknown;
  private stopped = false;
  /** Reading the queue; a wake meanwhile reads it again after (the read may predate what woke it). */
  private reading = false;
  private wokenWhileReading = false;

  constructor(options: EnrichmentRunnerOptions) {
    this.options = { now: Date.now, timers: UNREF_TIMERS, ...options };
  }

  /** (Again) after stop(): with several replicas, when this replica takes the enrichment job's lease. */
  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Starts enriching queued groups, as many as the concurrency bound allows. */
  wake(): void {
    const { store, config } = this.options;
    if (this.stopped || this.running.size >= config.maxConcurrentGroups) return;
    // While the store cannot write (or its file is damaged) every read or write here would fail and
    // retry; the store's recovery wakes the runner instead (lookout.ts, store.onRecovered).
    if (store.ping() !== undefined) return;
    if (this.reading) {
      this.wokenWhileReading = true;
      return;
    }
    this.reading = true;
    this.wokenWhileReading = false;
    void this.startQueued().finally(() => {
      this.reading = false;
      if (this.wokenWhileReading) this.wake();
    });
  }

  private async startQueued(): Promise<void> {
    const { store, config, log } = this.options;
    let work: EnrichmentWork[];
    try {
      work = await store.groupsAwaitingEnrichment(config.maxConcurrentGroups + this.running.size);
    } catch (error) {
      log.error({ err: error }, 'reading the enrichment queue failed; retrying shortly');
      this.retryLater();
      return;
    }
    for (const item of work) {
      if (this.stopped || this.running.size >= config.maxConcurrentGroups) break;
      if (this.running.has(item.group.id)) continue;
      const id = item.group.id;
      const run = this.enrichGroup(item).then((ok) => {
        this.running.delete(id);
        if (ok) this.wake();
        else this.retryLater();
      });
      this.running.set(id, run);
    }
  }

  /** Resolves once no group is being enriched (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.reading) {
      if (this.running.size > 0) await Promise.all(this.running.values());
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Abandons runs in flight without writing; their queue entries stay for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.timers.clearTimeout(this.retryTimer);
    for (const controller of this.controllers) controller.abort(new Error('Lookout is stopping'));
    await Promise.allSettled(this.running.values());
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.options.timers.clearTimeout(this.retryTimer);
    this.retryTimer = this.options.timers.setTimeout(() => this.wake(), RETRY_AFTER_ERROR_MS);
  }

  /** @returns false when the group could not be enriched nor its queue entries cleared. */
  private async enrichGroup({ group, pending }: EnrichmentWork): Promise<boolean> {
    const { config, timers, now } = this.options;
    const log = this.options.log.child({ groupKey: group.groupKey, groupId: group.id });
    // Resolved alerts are not enriched; an entry for an older occurrence is simply dropped.
    const alerts = group.state.alerts
      .filter((alert) => alert.status === 'firing' && pending[alert.fingerprint] === alert.startsAt)
      .slice(0, MAX_ALERTS_PER_GROUP);
    const controller = new AbortController();
    this.controllers.add(controller);
    const deadline = timers.setTimeout(() => controller.abort(new Error('enrichment deadline')), config.timeoutMs);
    try {
      const runs = alerts.map((alert): [TrackedAlert, AlertEnrichmentRun] => [alert, this.startAlert(alert, controller.signal, log)]);
      const allDone = Promise.all(runs.map(async ([alert, run]): Promise<Result> => [alert, await run.done]));

      const budgetLeft = group.messageTs === null && group.enrichUntil !== null ? group.enrichUntil - now() : 0;
      const snapshotIn = budgetLeft - SNAPSHOT_LEAD_MS;
      if (runs.length > 0 && snapshotIn > 0 && (await this.outlasts(allDone, snapshotIn))) {
        if (this.stopped) return true;
        // The budget is over: the first post goes with what is known, and notes for the rest.
        await this.write(group.id, runs.map(([alert, run]) => [alert, run.snapshot()]), {}, log);
      }
      const results = await allDone;
      if (this.stopped) return true;
      await this.write(group.id, results, pending, log);
      return true;
    } catch (error) {
      log.error({ err: error }, 'enriching an alert group failed; it is shown without enrichment');
      return await this.release(group.id, pending, log);
    } finally {
      timers.clearTimeout(deadline);
      // After a failed write, sources may still be running (or queued for a request slot): stop them.
      controller.abort(new Error('enrichment of this group ended'));
      this.controllers.delete(controller);
    }
  }

  private startAlert(alert: TrackedAlert, signal: AbortSignal, log: Logger): AlertEnrichmentRun {
    const { sources, metrics, now } = this.options;
    try {
      return startAlertEnrichment(alert, { sources, signal, metrics, log, now });
    } catch (error) {
      // Target resolution failed: nothing to look up for this alert, the others go on.
      log.warn({ err: error, fingerprint: alert.fingerprint }, 'could not tell what an alert is about; not enriching it');
      const nothing: AlertEnrichment = { target: {}, facts: [], failures: [], complete: true };
      return { snapshot: () => nothing, done: Promise.resolve(nothing) };
    }
  }

  /** True when `ms` passes before `promise` settles. */
  private outlasts(promise: Promise<unknown>, ms: number): Promise<boolean> {
    const { timers } = this.options;
    return new Promise<boolean>((resolve, reject) => {
      const timer = timers.setTimeout(() => resolve(true), ms);
      promise.then(
        () => {
          timers.clearTimeout(timer);
          resolve(false);
        },
        (error: unknown) => {
          timers.clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
  }

  private async write(groupId: number, results: Result[], handled: PendingEnrichment, log: Logger): Promise<void> {
    const found = results.map(([alert, result]) => ({ fingerprint: alert.fingerprint, startsAt: alert.startsAt, result }));
    const changed = await this.options.store.saveEnrichmentResults(groupId, found, handled);
    log.debug({ alerts: results.length, final: Object.keys(handled).length > 0, changed }, 'enrichment written');
    if (changed) this.options.onChange();
  }

  /** After an unexpected error: let the post go and drop the queue entries, so nothing loops. */
  private async release(groupId: number, pending: PendingEnrichment, log: Logger): Promise<boolean> {
    try {
      await this.options.store.releaseEnrichment(groupId, pending);
      this.options.onChange();
      return true;
    } catch (error) {
      // The stored deadline still lets the post go; the queue entry is retried later.
      log.error({ err: error }, 'could not record that enrichment failed; retrying later');
      return false;
    }
  }
}
