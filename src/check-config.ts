import { type Config, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { type KubeCredentials, KubeCredentialsError } from './kube/kube-credentials.ts';

/** The outcome of `--check-config`: what to print, and whether Lookout would start. */
export interface ConfigCheck {
  ok: boolean;
  /** One line per problem when not ok; else one line saying what Lookout would run as. */
  lines: string[];
}

export interface CheckConfigOptions {
  readFile?: (path: string) => string;
  /** Lookout's own Kubernetes credentials, loaded as at start (src/kube/load-kube-config.ts). */
  loadKubeCredentials: (env: Record<string, string | undefined>) => Promise<KubeCredentials | undefined>;
}

/**
 * `lookout --check-config`: everything Lookout checks before it serves — the environment, the
 * config file and the files it names, Kubernetes credentials — without serving, for GitOps
 * pipelines. Every problem is listed; like Lookout's own start it never prints a value.
 */
export async function checkConfig(env: Record<string, string | undefined>, { readFile, loadKubeCredentials }: CheckConfigOptions): Promise<ConfigCheck> {
  const problems: string[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(env, readFile);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  let kube: KubeCredentials | undefined;
  try {
    kube = await loadKubeCredentials(env);
  } catch (error) {
    problems.push(kubeCredentialsProblem(error));
  }
  if (problems.length > 0 || config === undefined) return { ok: false, lines: problems };
  return { ok: true, lines: [`configuration OK: ${summary(config, env, kube !== undefined)}`] };
}

/**
 * Why Kubernetes credentials could not be loaded, safe to print: KubeCredentialsError's message
 * names the file and field, never a value. Any other error's message is not shown: a YAML error
 * quotes the file, and a kubeconfig holds credentials.
 */
export function kubeCredentialsProblem(error: unknown): string {
  const reason = error instanceof KubeCredentialsError ? error.message : ((error as NodeJS.ErrnoException).code ?? 'not a valid kubeconfig');
  return `cannot load Kubernetes credentials (KUBECONFIG or the in-cluster service account): ${reason}`;
}

/** What Lookout would run as; names of things, never URLs (they can hold passwords) or tokens. */
function summary(config: Config, env: Record<string, string | undefined>, hasKube: boolean): string {
  const parts = [
    config.slack ? 'Slack' : 'console mode (no Slack credentials)',
    `default channel ${config.channel}`,
    `${config.routes.length} route${config.routes.length === 1 ? '' : 's'}`,
    env.LOOKOUT_CONFIG ? `file ${env.LOOKOUT_CONFIG}` : 'no config file',
    hasKube ? 'Kubernetes credentials loaded' : 'no Kubernetes credentials (actions refused, no enrichment)',
  ];
  if (config.database) parts.push(`PostgreSQL state store ${databaseName(config.database.url)}`);
  if (config.lokiUrl) parts.push('Loki');
  if (config.alertmanager) parts.push('Alertmanager');
  if (config.vault) parts.push(`Vault (${config.vault.auth.method} auth)`);
  return parts.join(', ');
}

/** host/database of a LOOKOUT_DATABASE_URL: the URL itself may hold a password. */
function databaseName(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}
