import type { FollowUpWork, LookoutReads, PersonAccess, PersonKube, ReplyContent } from '../../commands/command.ts';
import { Forbidden, UserError } from '../errors.ts';
import { checkRestart, restartAttributes, writeRestart } from '../workloads/restart-workload.ts';
import { pause } from '../pause.ts';
import { readRollout, type RolloutStatus } from '../workloads/rollout-progress.ts';
import type { WorkloadRef } from '../workloads/workload-ref.ts';

/** `api` for a Deployment, `statefulset/db` otherwise: how the reply names a consumer in its namespace. */
export function consumerName(ref: WorkloadRef): string {
  return ref.kind === 'Deployment' ? ref.name : `${ref.kind.toLowerCase()}/${ref.name}`;
}

/**
 * Before Vault is touched: the person may restart every consumer (SubjectAccessReview, as
 * `/ops restart` is reviewed), and each exists and can roll out. A secret rotated without its
 * consumers restarted leaves them on the old value, so a refusal here stops the rotation.
 */
export async function checkConsumers(access: PersonAccess, reads: LookoutReads, consumers: readonly WorkloadRef[]): Promise<void> {
  for (const ref of consumers) {
    const authorization = await access.authorize(restartAttributes(ref));
    if (!authorization.allowed) {
      throw new Forbidden(`${authorization.message} It is needed to restart ${consumerName(ref)} in ${ref.namespace} after the rotation, so nothing was changed.`);
    }
    await checkRestart(reads, ref);
  }
}

/** Where one consumer's restart stands. */
type Restart = { ref: WorkloadRef; failed: string } | { ref: WorkloadRef; status?: RolloutStatus; done?: 'complete' | 'stalled' | 'unreadable' };

/**
 * Restarts each consumer as the person (the restartedAt annotation, as `kubectl rollout restart`)
 * and follows the rollouts: `headline` (e.g. "version 7 → 8") then "api restarted (3/3 ready),
 * worker restarting (1/2 ready)". One failed restart does not stop the others; it is shown.
 * `finish` adds what the final state carries besides the text (the Roll back button).
 */
export function restartConsumers(options: {
  kube: PersonKube;
  reads: LookoutReads;
  consumers: readonly WorkloadRef[];
  headline: string;
  timeoutMs: number;
  pollIntervalMs: number;
  finish: (text: string) => ReplyContent;
  /** Lines shown under the consumers (held back, not synced, skipped…). */
  notes?: readonly string[];
  now?: () => number;
}): FollowUpWork {
  const { kube, reads, consumers, headline, timeoutMs, pollIntervalMs, finish, notes = [], now = Date.now } = options;
  return async (progress) => {
    const restarts: Restart[] = [];
    for (const ref of consumers) {
      try {
        await writeRestart(kube, reads, ref, now());
        restarts.push({ ref });
      } catch (error) {
        restarts.push({ ref, failed: error instanceof UserError ? error.message : 'internal error, see Lookout\'s log' });
      }
    }
    const started = now();
    let last = '';
    for (;;) {
      for (const restart of restarts) {
        if ('failed' in restart || restart.done !== undefined) continue;
        try {
          restart.status = await readRollout(reads, restart.ref);
          if (restart.status.complete) restart.done = 'complete';
          else if (restart.status.stalled !== undefined) restart.done = 'stalled';
        } catch {
          restart.done = 'unreadable';
        }
      }
      const text = [`${headline}${restarts.length > 0 ? `; ${restarts.map(describe).join(', ')}` : ''}`, ...notes].join('\n');
      const settled = restarts.every((restart) => 'failed' in restart || restart.done !== undefined);
      if (settled) return finish(text);
      if (progress.signal.aborted) return finish(`${text} (Lookout stopped following: shutting down)`);
      if (now() - started >= timeoutMs) return finish(`${text} (Lookout stopped following after ${Math.round(timeoutMs / 1000)} s)`);
      if (text !== last) progress.update({ text });
      last = text;
      await pause(pollIntervalMs, progress.signal);
    }
  };
}

function describe(restart: Restart): string {
  const name = consumerName(restart.ref);
  if ('failed' in restart) return `${name} not restarted (${restart.failed})`;
  const ready = restart.status === undefined ? '' : ` (${restart.status.ready}/${restart.status.desired} ready)`;
  if (restart.done === 'complete') return `${name} restarted${ready}`;
  if (restart.done === 'stalled') return `${name} rollout stalled${ready}`;
  if (restart.done === 'unreadable') return `${name} restarting (status unreadable)`;
  return `${name} restarting${ready}`;
}
