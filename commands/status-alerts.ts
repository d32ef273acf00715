import type { TargetLabelsConfig } from '../alerts/enrichers/enrichment-config.ts';
import { AlertmanagerError, type ActiveAlert, type AlertmanagerAlertsPort, type AlertmanagerPort, type Silence } from '../src/integrations/alertmanager.ts';
import type { AlertMessage, Store } from '../src/state/store.ts';
import type { WorkloadRef } from '../src/workloads/workload-ref.ts';
import type { Seen } from '../src/workloads/workload-reads.ts';

/** What `/ops status` reads from Alertmanager and the store (src/lookout.ts builds it). */
export interface StatusAlertSources {
  alertmanager: AlertmanagerAlertsPort & Pick<AlertmanagerPort, 'getSilence'>;
  /** Where Lookout posted an alert, for a link to its message. */
  store: Pick<Store, 'alertMessages'>;
  /** How alert labels name namespaces, workloads and pods (config `enrichment.labels`). */
  labels: TargetLabelsConfig;
}

/** A firing alert of the workload, and the Slack message that shows it when Lookout posted one. */
export interface WorkloadAlert {
  alert: ActiveAlert;
  message?: AlertMessage;
}

/** The workload's alerts and the silences that mute them; `silences` only for a person who may list silences. */
export type WorkloadAlerts = { unconfigured: true } | { failed: string } | { alerts: WorkloadAlert[]; silences: Seen<Silence[]> };

/** Silences read at most per card: each is one request, and a card shows a few. */
const MAX_SILENCES = 10;

const WORKLOAD_LABEL = { Deployment: 'deployment', StatefulSet: 'statefulset', DaemonSet: 'daemonset' } as const;

/**
 * The workload's active alerts (silenced and inhibited ones too, marked), asked of Alertmanager
 * per namespace label (`namespace="shop"`, `exported_namespace="shop"`) and kept when the
 * workload's own label names it (`deployment="cart"`) or the pod label names one of its pods.
 */
export async function readWorkloadAlerts(
  sources: StatusAlertSources | undefined,
  ref: WorkloadRef,
  podNames: ReadonlySet<string>,
  maySeeSilences: () => Promise<boolean>,
): Promise<WorkloadAlerts> {
  if (sources === undefined) return { unconfigured: true };
  const { alertmanager, labels } = sources;
  let listed: ActiveAlert[][];
  try {
    listed = await Promise.all(labels.namespace.map((label) => alertmanager.listAlerts([`${label}="${ref.namespace}"`])));
  } catch (error) {
    if (error instanceof AlertmanagerError) return { failed: error.reason };
    throw error;
  }
  const byFingerprint = new Map<string, ActiveAlert>();
  for (const alert of listed.flat()) {
    if (isAbout(alert, ref, podNames, labels)) byFingerprint.set(alert.fingerprint, alert);
  }
  const alerts = [...byFingerprint.values()].sort((a, b) => Date.parse(b.startsAt) - Date.parse(a.startsAt));
  const messages = new Map((await sources.store.alertMessages(alerts.map((alert) => alert.fingerprint))).map((message) => [message.fingerprint, message]));
  const silenceIds = [...new Set(alerts.flatMap((alert) => alert.silencedBy))];
  return {
    alerts: alerts.map((alert) => {
      const message = messages.get(alert.fingerprint);
      return message === undefined ? { alert } : { alert, message };
    }),
    silences: silenceIds.length === 0 ? { value: [] } : (await maySeeSilences()) ? await readSilences(alertmanager, silenceIds.slice(0, MAX_SILENCES)) : { hidden: true },
  };
}

/** Whether the alert's labels name this workload (in its namespace) or one of its pods. */
export function isAbout(alert: Pick<ActiveAlert, 'labels'>, ref: WorkloadRef, podNames: ReadonlySet<string>, labels: TargetLabelsConfig): boolean {
  const first = (names: readonly string[]): string | undefined => names.map((name) => alert.labels[name]).find((value) => value !== undefined);
  if (first(labels.namespace) !== ref.namespace) return false;
  if (first(labels[WORKLOAD_LABEL[ref.kind]]) === ref.name) return true;
  const pod = first(labels.pod);
  return pod !== undefined && podNames.has(pod);
}

async function readSilences(alertmanager: Pick<AlertmanagerPort, 'getSilence'>, ids: readonly string[]): Promise<Seen<Silence[]>> {
  try {
    const silences = await Promise.all(ids.map((id) => alertmanager.getSilence(id)));
    return { value: silences.filter((silence): silence is Silence => silence?.state === 'active') };
  } catch (error) {
    if (error instanceof AlertmanagerError) return { failed: `Alertmanager: ${error.reason}` };
    throw error;
  }
}
