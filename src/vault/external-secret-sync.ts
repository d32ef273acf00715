import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PersonKube } from '../../commands/command.ts';
import { deniedMessage } from '../access/access-gate.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { KubeApiError } from '../kube/kube-http.ts';
import type { SecretConsumer, SecretConsumers, SkippedWorkload, SyncingExternalSecret } from './secret-consumers.ts';

/**
 * The annotation External Secrets documents for an immediate refresh
 * (`kubectl annotate es my-es force-sync=$(date +%s) --overwrite`, ESO's FAQ and ExternalSecret
 * API page): ESO re-reads the provider whenever an ExternalSecret's annotations change.
 */
export const FORCE_SYNC_ANNOTATION = 'force-sync';

/** How long to wait for the synced Secrets (config: see docs/configuration.md). */
export interface SyncSettings {
  timeoutMs: number;
  pollIntervalMs: number;
}

export type SyncOutcome = { externalSecret: SyncingExternalSecret; synced: true } | { externalSecret: SyncingExternalSecret; synced: false; reason: string };

/**
 * What each target Secret held before Vault was written: a SHA-256 of its data (never the data),
 * `absent` if it did not exist, or why it could not be read.
 */
export interface SyncBaseline {
  entries: { externalSecret: SyncingExternalSecret; before: string | { failed: string } }[];
}

/**
 * Step 1, just BEFORE the new version is written to Vault: remembers a hash of each target
 * Secret's data, so that step 2 can tell when External Secrets has copied the new value (a
 * baseline taken after the write could already hold it). Reads are made as the person (Lookout
 * itself never reads Secrets): they need `get secrets` in the namespace, or the wait cannot
 * succeed and the reason says so.
 */
export async function readSyncBaseline(kube: PersonKube, externalSecrets: readonly SyncingExternalSecret[]): Promise<SyncBaseline> {
  const entries = await Promise.all(
    externalSecrets.map(async (externalSecret) => {
      const before = await secretDataHash(kube, externalSecret).catch((error: unknown) => ({ failed: failureReason(error, readAttributes(externalSecret)) }));
      return { externalSecret, before };
    }),
  );
  return { entries };
}

/**
 * Step 2, AFTER the new version is in Vault: sets `force-sync` on each ExternalSecret as the
 * person (`patch externalsecrets`), then polls each target Secret until its data hash differs
 * from the baseline, at most `timeoutMs` in all. One outcome per ExternalSecret, in order;
 * a refusal or a timeout is an outcome, not an error. Stops early (remaining ones not synced)
 * when `signal` aborts.
 */
export async function forceSyncAndWait(kube: PersonKube, baseline: SyncBaseline, settings: SyncSettings & { signal?: AbortSignal; now?: () => number }): Promise<SyncOutcome[]> {
  const now = settings.now ?? Date.now;
  const deadline = now() + settings.timeoutMs;
  const outcomes = new Map<SyncingExternalSecret, SyncOutcome>();
  const waiting: { externalSecret: SyncingExternalSecret; before: string }[] = [];
  const stamp = String(now());
  await Promise.all(
    baseline.entries.map(async ({ externalSecret, before }) => {
      if (typeof before !== 'string') {
        outcomes.set(externalSecret, { externalSecret, synced: false, reason: before.failed });
        return;
      }
      try {
        await kube.request({
          method: 'PATCH',
          path: externalSecretPath(externalSecret),
          contentType: 'application/merge-patch+json',
          body: { metadata: { annotations: { [FORCE_SYNC_ANNOTATION]: stamp } } },
        });
        waiting.push({ externalSecret, before });
      } catch (error) {
        outcomes.set(externalSecret, { externalSecret, synced: false, reason: reasonAfterWrite(error, patchAttributes(externalSecret)) });
      }
    }),
  );
  while (waiting.length > 0) {
    for (const entry of [...waiting]) {
      let hash: string;
      try {
        hash = await secretDataHash(kube, entry.externalSecret);
      } catch (error) {
        outcomes.set(entry.externalSecret, { externalSecret: entry.externalSecret, synced: false, reason: reasonAfterWrite(error, readAttributes(entry.externalSecret)) });
        waiting.splice(waiting.indexOf(entry), 1);
        continue;
      }
      if (hash !== entry.before) {
        outcomes.set(entry.externalSecret, { externalSecret: entry.externalSecret, synced: true });
        waiting.splice(waiting.indexOf(entry), 1);
      }
    }
    if (waiting.length === 0) break;
    const stopped = settings.signal?.aborted ? 'Lookout stopped waiting (shutting down)' : now() >= deadline ? `did not change within ${Number((settings.timeoutMs / 1000).toFixed(1))} s` : undefined;
    if (stopped) {
      for (const { externalSecret } of waiting) outcomes.set(externalSecret, { externalSecret, synced: false, reason: `Secret ${externalSecret.secretName}: ${stopped}` });
      break;
    }
    await sleep(Math.min(settings.pollIntervalMs, Math.max(0, deadline - now())), undefined, settings.signal ? { signal: settings.signal } : {}).catch(() => undefined);
  }
  return baseline.entries.map(({ externalSecret }) => outcomes.get(externalSecret) as SyncOutcome);
}

/**
 * Which consumers to restart once the syncs are done: a workload that uses the secret only
 * through Secrets that did not get the new value would restart with the old one, so it is held
 * back (with why); the `--restart` and annotated ones are restarted in any case.
 */
export function restartsAfterSync(found: Pick<SecretConsumers, 'consumers'>, outcomes: readonly SyncOutcome[]): { restart: SecretConsumer[]; heldBack: SkippedWorkload[] } {
  const failed = new Map(outcomes.filter((outcome) => !outcome.synced).map((outcome) => [outcome.externalSecret.secretName, outcome]));
  const restart: SecretConsumer[] = [];
  const heldBack: SkippedWorkload[] = [];
  for (const consumer of found.consumers) {
    const stale = consumer.reasons.every((reason) => reason.source === 'secret' && failed.has(reason.secretName));
    if (!stale) {
      restart.push(consumer);
      continue;
    }
    const reasons = consumer.reasons.flatMap((reason) => (reason.source === 'secret' ? [failed.get(reason.secretName)?.reason] : []));
    heldBack.push({ workload: consumer.workload, reason: `not restarted, it would get the old value: ${[...new Set(reasons)].join('; ')}` });
  }
  return { restart, heldBack };
}

function externalSecretPath({ namespace, name }: SyncingExternalSecret): string {
  return `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/${name}`;
}

function readAttributes({ namespace, secretName }: SyncingExternalSecret): ResourceAttributes {
  return { verb: 'get', group: '', resource: 'secrets', namespace, name: secretName };
}

function patchAttributes({ namespace, name }: SyncingExternalSecret): ResourceAttributes {
  return { verb: 'patch', group: 'external-secrets.io', resource: 'externalsecrets', namespace, name };
}

/**
 * SHA-256 over the Secret's keys and base64 values, sorted: equal exactly when the data is.
 * The values live only inside this function; `absent` when there is no such Secret yet.
 */
async function secretDataHash(kube: PersonKube, { namespace, secretName }: SyncingExternalSecret): Promise<string> {
  let secret: { data?: Record<string, string> };
  try {
    secret = await kube.request({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/${secretName}` });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return 'absent';
    throw error;
  }
  const hash = createHash('sha256');
  for (const key of Object.keys(secret.data ?? {}).sort()) hash.update(`${key}\0${secret.data?.[key] ?? ''}\0`);
  return hash.digest('hex');
}

/** A sentence for the reply; the API server's own message is never shown (it can quote content). */
function failureReason(error: unknown, attributes: ResourceAttributes): string {
  if (!(error instanceof KubeApiError)) throw error;
  const what = describeTarget(attributes);
  if (error.status === 403) return `${deniedMessage(attributes)} (${what})`;
  if (error.status === 404) return `${what} no longer exists`;
  return `Kubernetes answered ${error.status} for ${what}`;
}

/**
 * Once Vault holds the new version nothing here may throw: a thrown error would replace the reply
 * with "Internal error" and hide that the secret was rotated. An API server that does not answer
 * (connection refused, reset, timed out) is an outcome like a refusal.
 */
function reasonAfterWrite(error: unknown, attributes: ResourceAttributes): string {
  if (error instanceof KubeApiError) return failureReason(error, attributes);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return `Kubernetes did not answer for ${describeTarget(attributes)} (${code ?? 'no answer'})`;
}

function describeTarget(attributes: ResourceAttributes): string {
  return attributes.resource === 'secrets' ? `Secret ${attributes.name ?? ''}` : `ExternalSecret ${attributes.name ?? ''}`;
}
