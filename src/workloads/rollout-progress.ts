import type { FollowUpWork, LookoutReads, ReplyContent } from '../../commands/command.ts';
import { pause } from '../pause.ts';
import { workloadPath, type WorkloadRef } from './workload-ref.ts';

/** Where a rollout stands, from the workload's status. */
export interface RolloutStatus {
  desired: number;
  updated: number;
  ready: number;
  available: number;
  /** Every replica is updated and available, and the controller has seen the latest spec. */
  complete: boolean;
  /** Why it stopped progressing (Deployment condition Progressing=False, ProgressDeadlineExceeded). */
  stalled?: string;
}

export interface WorkloadStatus {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
  };
}

/**
 * Reads the rollout's progress as Lookout. Complete as `kubectl rollout status` judges it: the
 * controller observed the current generation, and every desired replica is updated and
 * available (ready, for a StatefulSet, on its update revision), with no old replicas left.
 */
export async function readRollout(reads: LookoutReads, ref: WorkloadRef): Promise<RolloutStatus> {
  return rolloutOf(ref.kind, await reads.get<WorkloadStatus>(workloadPath(ref)));
}

/** The rollout as the object (read by whoever) states it; see readRollout. */
export function rolloutOf(kind: WorkloadRef['kind'], object: WorkloadStatus): RolloutStatus {
  const status = object.status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (object.metadata?.generation ?? 0);
  if (kind === 'DaemonSet') {
    const desired = status.desiredNumberScheduled ?? 0;
    const updated = status.updatedNumberScheduled ?? 0;
    const available = status.numberAvailable ?? 0;
    return { desired, updated, ready: status.numberReady ?? 0, available, complete: observed && updated === desired && available === desired };
  }
  const desired = object.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const ready = status.readyReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (kind === 'StatefulSet') {
    const onRevision = status.updateRevision === undefined || status.currentRevision === status.updateRevision || updated === desired;
    return { desired, updated, ready, available, complete: observed && onRevision && ready === desired && (status.replicas ?? 0) === desired };
  }
  const progressing = (status.conditions ?? []).find((condition) => condition.type === 'Progressing');
  const stalled = progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded' ? `${progressing.reason}${progressing.message ? `: ${progressing.message}` : ''}` : undefined;
  return {
    desired,
    updated,
    ready,
    available,
    complete: observed && updated === desired && available === desired && (status.replicas ?? 0) === desired,
    ...(stalled !== undefined ? { stalled } : {}),
  };
}

/** "desired 5 · updated 3 · ready 2 · available 2". */
export function describeRollout(status: RolloutStatus): string {
  return `desired ${status.desired} · updated ${status.updated} · ready ${status.ready} · available ${status.available}`;
}

export interface FollowRolloutOptions {
  reads: LookoutReads;
  ref: WorkloadRef;
  timeoutMs: number;
  pollIntervalMs: number;
  /** The reply's first line, e.g. "shop/cart: 2 → 5 replicas". */
  headline: string;
  now?: () => number;
}

/**
 * Follows a rollout until it is complete, stalled, or `timeoutMs` passed, showing each new
 * state (the dispatcher spaces and budgets the edits). Reads are Lookout's; a failed read ends
 * the follow-up with a note, since the change itself was made.
 */
export function followRollout({ reads, ref, timeoutMs, pollIntervalMs, headline, now = Date.now }: FollowRolloutOptions): FollowUpWork {
  return async (progress) => {
    const started = now();
    const show = (line: string): ReplyContent => ({ text: `${headline}\n${line}` });
    let last = '';
    for (;;) {
      let status: RolloutStatus;
      try {
        status = await readRollout(reads, ref);
      } catch {
        return show('_Lookout could not read the rollout status; the change was made. Check it with `kubectl rollout status`._');
      }
      if (status.complete) return show(`✅ Rollout complete: ${describeRollout(status)}`);
      if (status.stalled !== undefined) return show(`⚠️ Rollout stalled (${status.stalled}): ${describeRollout(status)}`);
      if (progress.signal.aborted) return show(`Lookout stopped following the rollout (shutting down): ${describeRollout(status)}`);
      if (now() - started >= timeoutMs) return show(`⏱️ Still rolling out after ${Math.round(timeoutMs / 1000)} s; Lookout stopped following it: ${describeRollout(status)}`);
      const line = `⏳ Rolling out: ${describeRollout(status)}`;
      if (line !== last) progress.update(show(line));
      last = line;
      await pause(pollIntervalMs, progress.signal);
    }
  };
}
