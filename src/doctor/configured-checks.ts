import type { CertificateScanner } from '../certificates/certificate-scanner.ts';
import type { IdentitiesConfig } from '../identity/identity-config.ts';
import type { AlertmanagerClient } from '../integrations/alertmanager.ts';
import type { KubeHttp } from '../kube/kube-http.ts';
import type { Store } from '../state/store.ts';
import type { VaultClient } from '../vault/vault-client.ts';
import { alertmanagerCheck } from './checks/alertmanager-check.ts';
import { certificatesCheck } from './checks/certificates-check.ts';
import { kubernetesCheck } from './checks/kubernetes-check.ts';
import { lokiCheck } from './checks/loki-check.ts';
import { outboxCheck } from './checks/outbox-check.ts';
import { slackCheck, type SlackCheckOptions } from './checks/slack-check.ts';
import { quarantineCheck } from './checks/quarantine-check.ts';
import { storeCheck } from './checks/store-check.ts';
import { syntheticCheck } from './checks/synthetic-check.ts';
import { vaultCheck } from './checks/vault-check.ts';
import { failed, type DoctorCheck } from './doctor-check.ts';
import type { SyntheticWatch } from './synthetic-watch.ts';

/** What Lookout has wired (src/lookout.ts); a part that is absent is not configured. */
export interface ConfiguredParts {
  store: Store;
  statePath: string;
  /** An alert message waiting longer than this for Slack fails the outbox check. */
  outboxMaxWaitMs: number;
  slack?: SlackCheckOptions;
  kube?: KubeHttp;
  identities: IdentitiesConfig;
  alertmanager?: AlertmanagerClient;
  lokiUrl?: string;
  vault?: VaultClient;
  /** The `vault.secrets` paths, whose capabilities the Vault check asks for. */
  vaultPaths: readonly string[];
  certificateScanner?: CertificateScanner;
  /** Whether the scanner runs on this replica (several replicas: one holds its lease); default: yes. */
  certificateScanRunsHere?: () => boolean;
  /** Where the outbox reports posted group messages; with Alertmanager, the synthetic round trip runs. */
  synthetic: { watch: SyntheticWatch; timeoutMs: number };
  now: () => number;
}

/**
 * The checks for what is configured, in the order the reply lists them. Kubernetes is always
 * checked (every gated command needs it); Alertmanager, Loki, Vault and the certificate scanner
 * only when configured, since an unconfigured integration is a choice, not a fault. Last, with
 * Alertmanager, the synthetic alert's round trip into `channel`.
 */
export function configuredChecks(parts: ConfiguredParts, channel: string): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  if (parts.slack) checks.push(slackCheck(parts.slack));
  checks.push(parts.kube ? kubernetesCheck({ kube: parts.kube, impersonates: impersonatedNames(parts.identities) }) : notConnected());
  if (parts.alertmanager) checks.push(alertmanagerCheck(parts.alertmanager));
  if (parts.lokiUrl) checks.push(lokiCheck(parts.lokiUrl));
  if (parts.vault) checks.push(vaultCheck(parts.vault, parts.vaultPaths));
  if (parts.certificateScanner) checks.push(certificatesCheck(parts.certificateScanner, parts.now, parts.certificateScanRunsHere));
  checks.push(storeCheck({ store: parts.store, statePath: parts.statePath }));
  checks.push(outboxCheck({ store: parts.store, maxWaitMs: parts.outboxMaxWaitMs, now: parts.now }));
  checks.push(quarantineCheck({ store: parts.store, now: parts.now }));
  if (parts.alertmanager) checks.push(syntheticCheck({ alertmanager: parts.alertmanager, watch: parts.synthetic.watch, channel, timeoutMs: parts.synthetic.timeoutMs, now: parts.now }));
  return checks;
}

/** The users and groups the identity rules map to, as Kubernetes sees them (with the prefix). */
function impersonatedNames(identities: IdentitiesConfig): { users: string[]; groups: string[] } {
  const prefixed = (name: string) => `${identities.prefix}${name}`;
  const users = new Set(identities.users.map((rule) => prefixed(rule.user)));
  const groups = new Set([...identities.users, ...identities.emails, ...identities.usergroups].flatMap((rule) => rule.groups.map(prefixed)));
  return { users: [...users], groups: [...groups] };
}

function notConnected(): DoctorCheck {
  return {
    name: 'Kubernetes API',
    run: async () => failed('no credentials', 'Run Lookout with its ServiceAccount in the cluster, or set KUBECONFIG; until then every command that needs a permission is refused.'),
  };
}
