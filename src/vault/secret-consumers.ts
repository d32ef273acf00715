import type { LookoutReads } from '../../commands/command.ts';
import { KubeApiError } from '../kube/kube-http.ts';
import { secretReferences, type PodSpecSecretFields } from '../workloads/secret-references.ts';
import { resourceOf, type ActionableKind, type WorkloadRef } from '../workloads/workload-ref.ts';
import { externalSecretReadPath, kvDataPath, type VaultStoreSettings } from './external-secret-key.ts';

/** Workloads carrying this annotation name the Vault paths they use: `secret/payments/db,secret/payments/api`. */
export const VAULT_SECRETS_ANNOTATION = 'lookout.dev/vault-secrets';

/** What the consumers of one rotated secret are looked up by. */
export interface ConsumerQuery {
  /** The secret as configured and typed: `<KV v2 mount>/<path>`, e.g. `secret/payments/db`. */
  path: string;
  /** The KV v2 mount `path` starts with, e.g. `secret` (a mount may have several segments). */
  mount: string;
  /** The namespace the path is mapped to; consumers are looked for there only. */
  namespace: string;
  /** Workloads the person named with `--restart`: always restarted. */
  restart: readonly WorkloadRef[];
  /**
   * The keys the rotation changes. An ExternalSecret entry that picks another key
   * (`remoteRef.property`) does not change; without `keys`, every entry of the path counts.
   */
  keys?: readonly string[];
}

/** Why a workload is restarted; `text` is a short phrase for the reply, e.g. `mounts Secret db-creds (secret volume creds)`. */
export type ConsumerReason =
  | { source: 'requested'; text: string }
  | { source: 'annotation'; text: string }
  | { source: 'secret'; secretName: string; externalSecret: string; text: string };

export interface SecretConsumer {
  workload: WorkloadRef;
  reasons: ConsumerReason[];
}

export interface SkippedWorkload {
  workload: WorkloadRef;
  /** A sentence for the reply, e.g. `Reloader restarts it when Secret db-creds changes (reloader.stakater.com/auto)`. */
  reason: string;
}

/** An ExternalSecret that copies the rotated path into a Kubernetes Secret. */
export interface SyncingExternalSecret {
  namespace: string;
  name: string;
  /** The Secret it writes (`spec.target.name`, by default the ExternalSecret's own name). */
  secretName: string;
  /** Which entries read the path, e.g. `data[0] password`, `dataFrom[0] extract`. */
  entries: string[];
}

/** Everything that uses one Vault path in its namespace: the answer of findSecretConsumers. */
export interface SecretConsumers {
  /** Workloads to restart once the new value is where they read it. */
  consumers: SecretConsumer[];
  /** Workloads that use the secret but are left alone, with why. */
  skipped: SkippedWorkload[];
  /** ExternalSecrets to force-sync (and wait for) before the restarts; see external-secret-sync.ts. */
  externalSecrets: SyncingExternalSecret[];
  /** ExternalSecrets that read the path but that a force-sync does not refresh, with why. */
  unsyncedExternalSecrets: { name: string; reason: string }[];
  /** What could not be looked at (a store Lookout may not read, …); the rest of the answer stands. */
  problems: string[];
}

const EXTERNAL_SECRETS_API = '/apis/external-secrets.io/v1';
const KINDS: readonly ActionableKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

interface Workload {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: { template?: { spec?: PodSpecSecretFields } };
}

interface StoreRef {
  name?: string;
  kind?: string;
}

interface ExternalSecret {
  metadata: { name: string };
  spec?: {
    refreshPolicy?: string;
    secretStoreRef?: StoreRef;
    target?: { name?: string };
    data?: { secretKey?: string; remoteRef?: { key?: string; property?: string; version?: string }; sourceRef?: { storeRef?: StoreRef } }[];
    dataFrom?: { extract?: { key?: string; version?: string }; sourceRef?: { storeRef?: StoreRef } }[];
  };
}

/**
 * Finds what uses a Vault KV v2 secret in its mapped namespace, reading as Lookout:
 * - the `--restart` workloads;
 * - Deployments, StatefulSets and DaemonSets annotated `lookout.dev/vault-secrets` with the exact path;
 * - External Secrets (`external-secrets.io/v1`) whose `data[].remoteRef.key` or
 *   `dataFrom[].extract.key` read the path through a Vault store (resolved as ESO resolves it,
 *   see externalSecretReadPath), and the workloads that use their target Secret (volumes,
 *   projected volumes, env, envFrom, init containers);
 * - minus the workloads Reloader restarts when such a Secret changes (not the `--restart` ones).
 * Nothing is written. Needs Lookout's `list` on the three workload kinds and on externalsecrets,
 * and `get` on secretstores and clustersecretstores (manifests/base/rbac.yaml).
 */
export async function findSecretConsumers(reads: LookoutReads, query: ConsumerQuery): Promise<SecretConsumers> {
  const problems: string[] = [];
  const [workloads, sources] = await Promise.all([listWorkloads(reads, query.namespace), findExternalSecrets(reads, query, problems)]);
  const changedSecrets = new Map(sources.syncing.map((source) => [source.secretName, source.name]));
  const requested = new Set(query.restart.map(workloadKey));

  const consumers: SecretConsumer[] = query.restart.map((workload) => ({ workload, reasons: [{ source: 'requested', text: 'named with --restart' }] }));
  const skipped: SkippedWorkload[] = [];
  for (const { workload, object } of workloads) {
    const reasons: ConsumerReason[] = [];
    if (annotatedPaths(object).includes(query.path)) reasons.push({ source: 'annotation', text: `annotated ${VAULT_SECRETS_ANNOTATION}` });
    const uses = secretReferences(object.spec?.template?.spec);
    for (const [secretName, externalSecret] of changedSecrets) {
      const how = uses.get(secretName);
      if (how) reasons.push({ source: 'secret', secretName, externalSecret, text: `uses Secret ${secretName} (${how.join(', ')})` });
    }
    if (reasons.length === 0) continue;
    const existing = consumers.find((consumer) => workloadKey(consumer.workload) === workloadKey(workload));
    if (existing) {
      existing.reasons.push(...reasons);
      continue;
    }
    const reloader = requested.has(workloadKey(workload)) ? undefined : reloaderRestart(object, uses, [...changedSecrets.keys()]);
    if (reloader) skipped.push({ workload, reason: reloader });
    else consumers.push({ workload, reasons });
  }
  return { consumers, skipped, externalSecrets: sources.syncing, unsyncedExternalSecrets: sources.unsynced, problems };
}

function workloadKey(ref: WorkloadRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** The paths of the `lookout.dev/vault-secrets` annotation: comma-separated, blanks around each ignored. */
function annotatedPaths(object: Workload): string[] {
  const value = object.metadata.annotations?.[VAULT_SECRETS_ANNOTATION];
  return value === undefined ? [] : value.split(',').map((path) => path.trim()).filter((path) => path !== '');
}

/**
 * Why Stakater Reloader will restart this workload when one of `changedSecrets` changes, if it
 * will: `reloader.stakater.com/auto` or `secret.reloader.stakater.com/auto` = "true" and the
 * pod spec uses the Secret, or the Secret is listed in `secret.reloader.stakater.com/reload`.
 * (Reloader's search/match annotations and its --auto-reload-all flag are not seen from here.)
 */
function reloaderRestart(object: Workload, uses: Map<string, string[]>, changedSecrets: readonly string[]): string | undefined {
  const annotations = object.metadata.annotations ?? {};
  const listed = (annotations['secret.reloader.stakater.com/reload'] ?? '').split(',').map((name) => name.trim());
  for (const secretName of changedSecrets) {
    const because = listed.includes(secretName)
      ? 'secret.reloader.stakater.com/reload'
      : !uses.has(secretName)
        ? undefined
        : annotations['reloader.stakater.com/auto'] === 'true'
          ? 'reloader.stakater.com/auto'
          : annotations['secret.reloader.stakater.com/auto'] === 'true'
            ? 'secret.reloader.stakater.com/auto'
            : undefined;
    if (because) return `Reloader restarts it when Secret ${secretName} changes (${because})`;
  }
  return undefined;
}

async function listWorkloads(reads: LookoutReads, namespace: string): Promise<{ workload: WorkloadRef; object: Workload }[]> {
  const lists = await Promise.all(
    KINDS.map(async (kind) => {
      const { items } = await reads.get<{ items: Workload[] }>(`/apis/apps/v1/namespaces/${namespace}/${resourceOf(kind)}`);
      return items.map((object) => ({ workload: { kind, namespace, name: object.metadata.name }, object }));
    }),
  );
  return lists.flat();
}

async function findExternalSecrets(
  reads: LookoutReads,
  query: ConsumerQuery,
  problems: string[],
): Promise<{ syncing: SyncingExternalSecret[]; unsynced: { name: string; reason: string }[] }> {
  const syncing: SyncingExternalSecret[] = [];
  const unsynced: { name: string; reason: string }[] = [];
  let items: ExternalSecret[];
  try {
    ({ items } = await reads.get<{ items: ExternalSecret[] }>(`${EXTERNAL_SECRETS_API}/namespaces/${query.namespace}/externalsecrets`));
  } catch (error) {
    // External Secrets is not installed: nothing syncs Vault into Secrets here.
    if (error instanceof KubeApiError && error.status === 404) return { syncing, unsynced };
    if (error instanceof KubeApiError && error.status === 403) {
      problems.push(`Lookout may not list ExternalSecrets in ${query.namespace} (list externalsecrets.external-secrets.io; see docs/rbac.md), so Secrets synced from this path were not looked for.`);
      return { syncing, unsynced };
    }
    throw error;
  }
  if (!query.path.startsWith(`${query.mount}/`)) throw new Error(`${query.path} is not under mount ${query.mount}`);
  const target = kvDataPath(query.mount, query.path.slice(query.mount.length + 1));
  const stores = new StoreLookup(reads, query.namespace, problems);
  for (const externalSecret of items) {
    const spec = externalSecret.spec ?? {};
    const name = externalSecret.metadata.name;
    const readsTarget = async (key: string | undefined, storeRef: StoreRef | undefined) =>
      key !== undefined && (await stores.readPath(key, storeRef ?? spec.secretStoreRef, name)) === target;
    const entries: string[] = [];
    const pinned: string[] = [];
    for (const [index, entry] of (spec.data ?? []).entries()) {
      if (!(await readsTarget(entry.remoteRef?.key, entry.sourceRef?.storeRef))) continue;
      const property = entry.remoteRef?.property;
      // A property names a key of the secret (or a gjson path into it, `key.field`).
      if (property !== undefined && query.keys && !query.keys.some((key) => property === key || property.startsWith(`${key}.`))) continue;
      if (entry.remoteRef?.version) pinned.push(`data[${index}] pins version ${entry.remoteRef.version}`);
      else entries.push(`data[${index}] ${entry.secretKey ?? '?'}`);
    }
    for (const [index, entry] of (spec.dataFrom ?? []).entries()) {
      if (!(await readsTarget(entry.extract?.key, entry.sourceRef?.storeRef))) continue;
      if (entry.extract?.version) pinned.push(`dataFrom[${index}] pins version ${entry.extract.version}`);
      else entries.push(`dataFrom[${index}] extract`);
    }
    if (entries.length === 0) {
      if (pinned.length > 0) unsynced.push({ name, reason: `${pinned.join('; ')}: it keeps the old value` });
    } else if (spec.refreshPolicy === 'CreatedOnce') {
      unsynced.push({ name, reason: 'refreshPolicy CreatedOnce: External Secrets never updates its Secret' });
    } else {
      syncing.push({ namespace: query.namespace, name, secretName: spec.target?.name ?? name, entries });
    }
  }
  return { syncing, unsynced };
}

/** SecretStores and ClusterSecretStores, each read once per lookup. */
class StoreLookup {
  private readonly cache = new Map<string, Promise<VaultStoreSettings | undefined>>();

  private readonly reads: LookoutReads;
  private readonly namespace: string;
  private readonly problems: string[];

  constructor(reads: LookoutReads, namespace: string, problems: string[]) {
    this.reads = reads;
    this.namespace = namespace;
    this.problems = problems;
  }

  /** The Vault API path the key is read from through this store; undefined for stores that are not Vault KV v2. */
  async readPath(key: string, ref: StoreRef | undefined, externalSecret: string): Promise<string | undefined> {
    if (!ref?.name) return undefined;
    const cluster = ref.kind === 'ClusterSecretStore';
    const path = cluster ? `${EXTERNAL_SECRETS_API}/clustersecretstores/${ref.name}` : `${EXTERNAL_SECRETS_API}/namespaces/${this.namespace}/secretstores/${ref.name}`;
    let store = this.cache.get(path);
    if (!store) {
      store = this.read(path, `${cluster ? 'ClusterSecretStore' : 'SecretStore'} ${ref.name}`, externalSecret);
      this.cache.set(path, store);
    }
    const settings = await store;
    return settings && externalSecretReadPath(key, settings);
  }

  private async read(path: string, what: string, externalSecret: string): Promise<VaultStoreSettings | undefined> {
    try {
      const store = await this.reads.get<{ spec?: { provider?: { vault?: VaultStoreSettings } } }>(path);
      return store.spec?.provider?.vault;
    } catch (error) {
      if (!(error instanceof KubeApiError) || (error.status !== 404 && error.status !== 403)) throw error;
      this.problems.push(
        error.status === 404
          ? `ExternalSecret ${externalSecret} uses ${what}, which does not exist; it was not matched.`
          : `Lookout may not read ${what} (get ${path.includes('clustersecretstores') ? 'clustersecretstores' : 'secretstores'}.external-secrets.io), so ExternalSecrets using it were not matched.`,
      );
      return undefined;
    }
  }
}
