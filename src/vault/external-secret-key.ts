/** The Vault settings of an External Secrets store (`spec.provider.vault` of a SecretStore or ClusterSecretStore). */
export interface VaultStoreSettings {
  /** `path`: the KV mount the store reads from, when set. */
  path?: string;
  /** `version`: the KV engine version; ESO's default is v2. */
  version?: string;
}

/**
 * The Vault API path (relative to /v1) that External Secrets reads for a `remoteRef.key` or
 * `dataFrom[].extract.key` through a Vault store, following ESO's Vault provider: with a store
 * `path`, a key that starts with `<path>/` (and then, for KV v2, `data/`) has it removed and the
 * read goes to `<path>/data/<rest>`; without one, a KV v2 key that has no `/data/` segment gets
 * `data` inserted after its first segment (`secret/payments/db` → `secret/data/payments/db`), and
 * one that has it is read as written. Undefined for a KV v1 store: Lookout rotates KV v2 only.
 */
export function externalSecretReadPath(key: string, store: VaultStoreSettings): string | undefined {
  if ((store.version ?? 'v2') !== 'v2') return undefined;
  if (store.path) {
    let rest = key;
    if (rest.startsWith(`${store.path}/`)) {
      rest = rest.slice(store.path.length + 1);
      if (rest.startsWith('data/')) rest = rest.slice('data/'.length);
    }
    return `${store.path}/data/${rest}`;
  }
  if (key.includes('/data/')) return key;
  const slash = key.indexOf('/');
  return slash < 0 ? `${key}/data` : `${key.slice(0, slash)}/data/${key.slice(slash + 1)}`;
}

/** The KV v2 read path of a secret Lookout rotates: `secret` + `payments/db` → `secret/data/payments/db`. */
export function kvDataPath(mount: string, path: string): string {
  return `${mount}/data/${path}`;
}
