import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { FileMaterial, fixedMaterial, KubeCredentialsError, TlsCredentials, type KubeCredentials, type Material } from './kube-credentials.ts';

/**
 * What a kubeconfig file gives: credentials Lookout applies itself, or `plugin` when the current
 * user authenticates in a way only @kubernetes/client-node implements (exec and auth-provider
 * plugins of the clouds, basic auth, impersonation) and the caller must hand the file to it.
 */
export type KubeconfigCredentials = { kind: 'credentials'; credentials: KubeCredentials } | { kind: 'plugin' };

export interface ReadKubeconfigOptions {
  /** Clock of the token and certificate files' re-reads. */
  now?: () => number;
}

/** User fields Lookout applies itself; any other field means a plugin or a feature left to the library. */
const OWN_USER_FIELDS = new Set(['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile', 'extensions']);

type Fields = Record<string, unknown>;

/**
 * Reads the current context of one kubeconfig file (kubectl's format): its cluster's server, CA
 * (`certificate-authority` or `-data`), `insecure-skip-tls-verify` and `tls-server-name`, and its
 * user's client certificate and key (files or `-data`), `token` or `tokenFile`. As in client-go,
 * inline data wins over a file, a token over a token file, and relative paths are relative to the
 * kubeconfig's own directory. Files are read now, so a missing one fails the start.
 */
export function readKubeconfig(file: string, { now = Date.now }: ReadKubeconfigOptions = {}): KubeconfigCredentials {
  const text = readSource(file, `kubeconfig ${file}`);
  let document: unknown;
  try {
    document = parse(text.toString('utf8'));
  } catch {
    // Not the parser's message: it quotes the line, which may hold a token or a key.
    throw new KubeCredentialsError(`kubeconfig ${file} is not valid YAML`);
  }
  if (!isFields(document)) throw new KubeCredentialsError(`kubeconfig ${file} is not a kubeconfig (expected a mapping)`);

  const contextName = document['current-context'];
  if (typeof contextName !== 'string' || contextName === '') throw new KubeCredentialsError(`kubeconfig ${file} has no current-context`);
  const context = namedEntry(document, 'contexts', 'context', contextName, file);
  const clusterName = context.cluster;
  if (typeof clusterName !== 'string' || clusterName === '') throw new KubeCredentialsError(`context "${contextName}" in kubeconfig ${file} names no cluster`);
  const cluster = namedEntry(document, 'clusters', 'cluster', clusterName, file);
  const userName = context.user;
  const user = typeof userName === 'string' && userName !== '' ? namedEntry(document, 'users', 'user', userName, file) : {};

  if (Object.entries(user).some(([field, value]) => !OWN_USER_FIELDS.has(field) && value !== undefined && value !== null)) return { kind: 'plugin' };

  const where = (section: string, name: string, field: string): string => `${field} of ${section} "${name}" in kubeconfig ${file}`;
  const base = dirname(file);
  const fromFile = (path: string, what: string): Material => {
    const absolute = resolve(base, path);
    return new FileMaterial({ path: absolute, initial: readSource(absolute, what), now });
  };
  const material = (fields: Fields, section: string, name: string, fileField: string, dataField: string): Material | undefined => {
    const data = optionalString(fields, dataField, where(section, name, dataField));
    if (data !== undefined) {
      const bytes = Buffer.from(data, 'base64');
      if (bytes.length === 0) throw new KubeCredentialsError(`${where(section, name, dataField)} is not base64 data`);
      return fixedMaterial(bytes);
    }
    const path = optionalString(fields, fileField, where(section, name, fileField));
    return path === undefined ? undefined : fromFile(path, where(section, name, fileField));
  };

  const serverText = optionalString(cluster, 'server', where('cluster', clusterName, 'server'));
  if (serverText === undefined) throw new KubeCredentialsError(`cluster "${clusterName}" in kubeconfig ${file} has no server`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw new KubeCredentialsError(`${where('cluster', clusterName, 'server')} is not a URL`);
  }
  const skip = cluster['insecure-skip-tls-verify'];
  if (skip !== undefined && skip !== null && typeof skip !== 'boolean') throw new KubeCredentialsError(`${where('cluster', clusterName, 'insecure-skip-tls-verify')} is not true or false`);

  const userLabel = typeof userName === 'string' ? userName : '';
  const cert = material(user, 'user', userLabel, 'client-certificate', 'client-certificate-data');
  const key = material(user, 'user', userLabel, 'client-key', 'client-key-data');
  if ((cert === undefined) !== (key === undefined)) throw new KubeCredentialsError(`user "${userLabel}" in kubeconfig ${file} has a client certificate without its key, or a key without its certificate`);
  const token = optionalString(user, 'token', where('user', userLabel, 'token'));
  const tokenFile = optionalString(user, 'tokenFile', where('user', userLabel, 'tokenFile'));

  const credentials = new TlsCredentials({
    server,
    ca: material(cluster, 'cluster', clusterName, 'certificate-authority', 'certificate-authority-data'),
    cert,
    key,
    token: token !== undefined ? fixedMaterial(Buffer.from(token)) : tokenFile !== undefined ? fromFile(tokenFile, where('user', userLabel, 'tokenFile')) : undefined,
    insecureSkipTlsVerify: skip === true,
    tlsServerName: optionalString(cluster, 'tls-server-name', where('cluster', clusterName, 'tls-server-name')),
  });
  return { kind: 'credentials', credentials };
}

/** Reads a file Lookout needs to start; the error names what the file is for and the system's code. */
export function readSource(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new KubeCredentialsError(`cannot read ${what}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: error });
  }
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The inner mapping of the entry called `name` in a kubeconfig list (contexts, clusters, users). */
function namedEntry(document: Fields, list: string, inner: string, name: string, file: string): Fields {
  const entries = document[list];
  const entry = Array.isArray(entries) ? entries.find((candidate: unknown) => isFields(candidate) && candidate.name === name) : undefined;
  if (!isFields(entry)) throw new KubeCredentialsError(`${inner} "${name}" is not in the ${list} of kubeconfig ${file}`);
  const fields = entry[inner];
  if (fields === undefined || fields === null) return {};
  if (!isFields(fields)) throw new KubeCredentialsError(`${inner} "${name}" in kubeconfig ${file} is not a mapping`);
  return fields;
}

function optionalString(fields: Fields, field: string, where: string): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new KubeCredentialsError(`${where} is not a string`);
  return value;
}
