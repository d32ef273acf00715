import type { AlertmanagerClient } from '../../integrations/alertmanager.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

/** Lookout's webhook route (src/lookout.ts): a receiver whose webhook URL has this path sends to Lookout. */
export const WEBHOOK_PATH = '/alertmanager';

/**
 * Alertmanager (ALERTMANAGER_URL): its API answers, its cluster state and peers, and a receiver
 * that sends to Lookout — a `webhook_configs` URL in the loaded configuration whose path is
 * Lookout's webhook path. The host is not compared: Alertmanager reaches Lookout through a
 * Service name that Lookout cannot know.
 */
export function alertmanagerCheck(alertmanager: Pick<AlertmanagerClient, 'status'>): DoctorCheck {
  return {
    name: 'Alertmanager',
    async run() {
      let status;
      try {
        status = await alertmanager.status();
      } catch (error) {
        return failed(`API not usable (${error instanceof Error ? error.message : 'unknown error'})`, "Check that ALERTMANAGER_URL is reachable from Lookout's pod and, if Alertmanager asks for them, its credentials (docs/configuration.md, \"Alertmanager\").");
      }
      const peers = status.cluster.peers ?? [];
      const cluster = status.cluster.status === 'disabled' ? 'clustering off' : `cluster ${status.cluster.status}, ${peers.length} ${peers.length === 1 ? 'peer' : 'peers'}`;
      const version = status.versionInfo?.version ? `v${status.versionInfo.version} · ` : '';
      const receivers = webhookUrlsToLookout(status.config.original);
      if (receivers.length === 0) {
        return failed(`${version}${cluster} · no receiver sends to Lookout (no webhook URL with path \`${WEBHOOK_PATH}\` in its configuration)`, `Add a receiver with \`webhook_configs: [{url: http://<lookout-service>${WEBHOOK_PATH}, send_resolved: true}]\` and the bearer token, and route alerts to it (manifests/alertmanager-receiver.yaml).`);
      }
      if (status.cluster.status === 'settling' || (status.cluster.status !== 'disabled' && status.cluster.status !== 'ready')) {
        return failed(`${version}${cluster}`, "Alertmanager's cluster is not ready: check that its peers reach each other (port 9094, --cluster.peer).");
      }
      return passed(`${version}${cluster} · receiver sends to ${receivers.map((url) => `\`${url}\``).join(', ')} (webhook URL path is \`${WEBHOOK_PATH}\`)`);
    },
  };
}

/** Webhook URLs in an Alertmanager configuration whose path is Lookout's, without credentials or query. */
export function webhookUrlsToLookout(configText: string): string[] {
  const found = new Set<string>();
  for (const match of configText.matchAll(/https?:\/\/[^\s'"<>]+/g)) {
    let url: URL;
    try {
      url = new URL(match[0]);
    } catch {
      continue;
    }
    if (url.pathname.replace(/\/+$/, '') !== WEBHOOK_PATH) continue;
    found.add(`${url.protocol}//${url.host}${url.pathname}`);
  }
  return [...found];
}
