import type { Counter } from 'prom-client';
import { planReconcileRepairs, type ReconcileRepair } from '../alerts/plan-reconcile-repairs.ts';
import type { SilenceMark } from '../alerts/group-state.ts';
import { AlertmanagerError, type AlertGroup, type AlertmanagerGroupsPort, type AlertmanagerPort } from './integrations/alertmanager.ts';
import type { Logger } from './log.ts';
import type { Store } from './state/store.ts';

export interface ReconcilerOptions {
  store: Pick<Store, 'firingGroups' | 'resolveVanishedAlerts' | 'markGroupSilenced'>;
  alertmanager: AlertmanagerGroupsPort & Pick<AlertmanagerPort, 'getSilence'>;
  log: Logger;
  /** lookout_reconcile_runs_total{outcome} and lookout_reconcile_repairs_total{kind}. */
  runs: Counter<'outcome'>;
  repairs: Counter<'kind'>;
  /** Time from the end of one pass to the start of the next. */
  intervalMs: number;
  /** Groups changed more recently than this are left alone (see planReconcileRepairs). */
  graceMs: number;
  /** A message changed (edit and reply queued): wake the outbox. */
  onChanged: () => void;
  /** A group now shows a silence found in Alertmanager: the silence watcher follows its end. */
  onSilenced: (groupId: number, mark: SilenceMark) => void;
  now?: () => number;
}

/** How a pass ended, as lookout_reconcile_runs_total counts it. */
export type ReconcileOutcome = 'ok' | 'alertmanager_error' | 'store_error';

export const RESOLVED_BY_RECONCILER = '✅ Lookout marked this resolved: Alertmanager no longer has an active alert for it (its resolve notification never arrived, or was older than this firing).';

/**
 * Repairs alert messages that drifted from Alertmanager (docs/architecture.md, "Reconciliation
 * with Alertmanager"): every `intervalMs`, one pass reads what Lookout shows as firing and
 * Alertmanager's groups, and repairs through the store's named transactions, as a notification
 * would. All its state lives in the instance, started and stopped once, so with several
 * replicas exactly one of them can own it. A pass never overlaps another: the next is scheduled
 * when one ends.
 */
export class AlertmanagerReconciler {
  private readonly options: ReconcilerOptions;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReconcileOutcome> | undefined;
  private stopped = false;

  constructor(options: ReconcilerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs one pass now, or joins the one running (tests; also what the timer calls). */
  pass(): Promise<ReconcileOutcome> {
    this.running ??= this.reconcile().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async reconcile(): Promise<ReconcileOutcome> {
    const { store, alertmanager, log, runs } = this.options;
    let groups: AlertGroup[];
    try {
      groups = await alertmanager.listAlertGroups();
    } catch (error) {
      // Unreachable, refused or garbage: Lookout cannot tell what drifted, so it repairs nothing.
      log.warn({ reason: error instanceof AlertmanagerError ? error.reason : 'error' }, 'could not read Alertmanager\'s alert groups; nothing reconciled this time');
      runs.inc({ outcome: 'alertmanager_error' });
      return 'alertmanager_error';
    }
    try {
      // Read after Alertmanager answered: a group that resolved meanwhile is no longer firing here.
      const lookout = await store.firingGroups();
      const planned = planReconcileRepairs({ lookout, alertmanager: groups, now: this.now(), graceMs: this.options.graceMs });
      for (const repair of planned) {
        if (this.stopped) break;
        await this.repair(repair);
      }
    } catch (error) {
      log.warn({ err: error }, 'reconciliation with Alertmanager stopped: the store failed');
      runs.inc({ outcome: 'store_error' });
      return 'store_error';
    }
    runs.inc({ outcome: 'ok' });
    return 'ok';
  }

  private async repair(repair: ReconcileRepair): Promise<void> {
    const { store, alertmanager, log, repairs } = this.options;
    const groupLog = log.child({ groupKey: repair.groupKey, groupId: repair.groupId });
    if (repair.kind === 'resolve') {
      if (!(await store.resolveVanishedAlerts({ groupId: repair.groupId, alerts: repair.alerts, reply: RESOLVED_BY_RECONCILER, at: this.now() }))) return;
      repairs.inc({ kind: 'resolved' });
      groupLog.info({ alerts: Object.keys(repair.alerts).length }, 'resolved an alert group Alertmanager no longer has');
      this.options.onChanged();
      return;
    }
    let silence;
    try {
      silence = await alertmanager.getSilence(repair.silenceId);
    } catch (error) {
      groupLog.warn({ reason: error instanceof AlertmanagerError ? error.reason : 'error', silenceId: repair.silenceId }, 'could not read the silence that mutes an alert group; not shown this time');
      return;
    }
    if (silence === undefined || silence.state !== 'active') return;
    const endsAt = Date.parse(silence.endsAt);
    if (Number.isNaN(endsAt)) {
      groupLog.warn({ silenceId: silence.id }, 'Alertmanager gave a silence an end that is not a time; not shown');
      return;
    }
    // Made outside Slack: nobody to name (by is empty); the line says "in Alertmanager".
    const mark: SilenceMark = { by: '', until: new Date(endsAt).toISOString(), silenceId: silence.id };
    if (!(await store.markGroupSilenced({ groupId: repair.groupId, mark, at: this.now(), unlessSilenced: true }))) return;
    repairs.inc({ kind: 'silenced' });
    groupLog.info({ silenceId: silence.id }, 'an alert group is silenced in Alertmanager: its message says so now');
    this.options.onSilenced(repair.groupId, mark);
    this.options.onChanged();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pass().finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
