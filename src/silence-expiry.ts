import type { SilenceMark } from '../alerts/group-state.ts';
import { AlertmanagerError, type AlertmanagerPort } from './integrations/alertmanager.ts';
import type { Logger } from './log.ts';
import type { Store } from './state/store.ts';

export interface SilenceExpiryOptions {
  store: Pick<Store, 'silencedGroups' | 'clearGroupSilence' | 'extendGroupSilence'>;
  alertmanager: AlertmanagerPort;
  log: Logger;
  /** A message changed (edit and thread reply queued): wake the outbox. */
  onChanged: () => void;
  /** How often Alertmanager is asked whether the silences still hold (expired or extended there). */
  recheckMs?: number;
  now?: () => number;
}

/**
 * Keeps "silenced by … until …" on alert messages true. Lookout learns that a silence made from
 * Slack ended in three ways: its own record of the end time (a timer at `until`), `/ops unsilence`
 * or an Expire click through Lookout (expired()), and asking Alertmanager every `recheckMs`
 * about each silence it shows (expired or extended in Alertmanager's UI or by amtool). The groups
 * to watch are read from the store at start and at each recheck (silences made through another
 * replica), and tracked in memory as silences are made here.
 */
export class SilenceExpiry {
  private readonly options: SilenceExpiryOptions;
  private readonly watched = new Map<number, SilenceMark>();
  /** Groups whose clearing failed (store unwritable): not tried again before this time (ms). */
  private readonly retryAt = new Map<number, number>();
  private readonly now: () => number;
  private readonly recheckMs: number;
  private timer: NodeJS.Timeout | undefined;
  private lastRecheck = 0;
  private running: Promise<void> | undefined;
  /** The groups already showing a silence, read from the store at start. */
  private loaded: Promise<void> | undefined;
  /** Timers run only between start() and stop(): with several replicas, on the one holding the job's lease. */
  private stopped = true;

  constructor(options: SilenceExpiryOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.recheckMs = options.recheckMs ?? 60_000;
  }

  start(): void {
    this.stopped = false;
    this.lastRecheck = this.now();
    // Scheduled once the groups are known: before that there is nothing to wake for.
    this.loaded = this.load().then(() => this.schedule());
  }

  /** The groups showing a silence, from the store; ones tracked meanwhile keep what they were told. */
  private async load(): Promise<void> {
    try {
      for (const group of await this.options.store.silencedGroups()) {
        if (group.state.silenced && !this.watched.has(group.id)) this.watched.set(group.id, group.state.silenced);
      }
    } catch (error) {
      // A store that cannot be read is reported by /readyz; only silences made from now on are watched.
      this.options.log.warn({ err: error }, 'could not read which alert messages show a silence; their end will not be shown');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** A group now shows this silence. */
  track(groupId: number, mark: SilenceMark): void {
    this.watched.set(groupId, mark);
    this.retryAt.delete(groupId);
    this.schedule();
  }

  /** A silence was expired through Lookout: clear the groups that show it now. */
  async expired(silenceId: string): Promise<void> {
    await this.loaded;
    for (const [groupId, mark] of [...this.watched]) {
      if (mark.silenceId === silenceId) await this.clear(groupId, mark, `🔔 Silence \`${silenceId}\` was ended early: this group notifies again.`);
    }
    this.schedule();
  }

  /** Runs one pass now (tests; also what the timer calls). */
  async pass(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.check().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async check(): Promise<void> {
    await this.loaded;
    const at = this.now();
    for (const [groupId, mark] of [...this.watched]) {
      if (Date.parse(mark.until) <= at && (this.retryAt.get(groupId) ?? 0) <= at) await this.clear(groupId, mark, `🔔 The silence ${mark.by === '' ? `\`${mark.silenceId}\`` : `by <@${mark.by}>`} has ended: this group notifies again.`);
    }
    if (at - this.lastRecheck < this.recheckMs) return;
    this.lastRecheck = at;
    // Silences made through another replica (several replicas share the store) are learned here.
    await this.load();
    for (const [groupId, mark] of [...this.watched]) {
      if (this.stopped) return;
      let silence;
      try {
        silence = await this.options.alertmanager.getSilence(mark.silenceId);
      } catch (error) {
        // Down for now: the end time still clears it; the next pass asks again.
        this.options.log.warn({ reason: error instanceof AlertmanagerError ? error.reason : 'error', silenceId: mark.silenceId }, 'could not ask Alertmanager whether a silence still holds');
        return;
      }
      if (silence === undefined || silence.state === 'expired') {
        await this.clear(groupId, mark, `🔔 Silence \`${mark.silenceId}\` was ended in Alertmanager: this group notifies again.`);
      } else if (silence.endsAt !== mark.until && Date.parse(silence.endsAt) !== Date.parse(mark.until)) {
        const until = new Date(Date.parse(silence.endsAt)).toISOString();
        if (await this.options.store.extendGroupSilence({ groupId, silenceId: mark.silenceId, until, at: this.now() })) this.options.onChanged();
        this.watched.set(groupId, { ...mark, until });
      }
    }
  }

  private async clear(groupId: number, mark: SilenceMark, reply: string): Promise<void> {
    this.watched.delete(groupId);
    try {
      if (await this.options.store.clearGroupSilence({ groupId, silenceId: mark.silenceId, reply, at: this.now() })) this.options.onChanged();
      this.retryAt.delete(groupId);
    } catch (error) {
      // The store cannot write now: watch it again, and try at the next recheck rather than at
      // once (its end is past, so the timer would otherwise spin every few milliseconds).
      this.watched.set(groupId, mark);
      this.retryAt.set(groupId, this.now() + this.recheckMs);
      this.options.log.warn({ err: error, groupId }, 'could not clear an ended silence from its alert message; will retry');
    }
  }

  /** Wakes at the earliest end, or for the next recheck, whichever comes first. */
  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    // With nothing watched the recheck still comes: it reads silences made through other replicas.
    const ends = [...this.watched].map(([groupId, mark]) => Math.max(Date.parse(mark.until), this.retryAt.get(groupId) ?? 0));
    const due = Math.min(...ends, this.lastRecheck + this.recheckMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pass().finally(() => this.schedule());
    }, Math.max(0, due - this.now()) + 10);
    this.timer.unref();
  }
}
