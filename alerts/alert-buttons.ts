import type { Button } from '@slack/types';
import { renewButton } from '../commands/certs-renew.ts';
import type { GroupEnrichment, WorkloadKind } from './enrichers/enrichment.ts';
import type { GroupState } from './group-state.ts';
import { isFiring } from './group-state.ts';
import { groupLogTarget } from './group-log-target.ts';
import { silenceButtons } from './silence-control.ts';

/**
 * The one place where buttons that act are contributed to an alert group's message. Each
 * contributor looks at the group's stored state and what enrichment resolved, and returns its
 * buttons, or none where they make no sense (Scale only for a Deployment or StatefulSet, say).
 * Pure: the message is re-rendered from stored state on every edit, so the same state must give
 * the same buttons. Every button's click is handled by the action registered under its
 * action_id (src/slack/alert-actions.ts), which finds the group server-side from the message
 * clicked and checks `value` (the group's reference) against it; values never name targets.
 */
export type AlertButtonContributor = (group: AlertButtonGroup) => Button[];

/** What contributors see of a group. */
export interface AlertButtonGroup {
  state: GroupState;
  enrichment: GroupEnrichment;
  /** The one workload every enriched alert of the group is about, if there is exactly one. */
  workload: GroupWorkload | undefined;
  /** The value every action button carries: the group's reference (alerts/render.ts, groupRef). */
  ref: string;
}

/** A workload enrichment found for the group, as stored with the group. */
export interface GroupWorkload {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

/** action_ids of the Acknowledge and Unacknowledge buttons (src/slack/acknowledge-action.ts). */
export const ACK_ACTION_ID = 'ack';
export const UNACK_ACTION_ID = 'unack';

/**
 * The workload the group is about: the one every alert's enrichment target names (kind,
 * namespace, name), or undefined when none was found or alerts disagree. Read from the stored
 * enrichment, so a click handler gets exactly what the button was rendered from.
 */
export function groupWorkload(state: GroupState, enrichment: GroupEnrichment): GroupWorkload | undefined {
  let found: GroupWorkload | undefined;
  for (const alert of state.alerts) {
    const target = Object.hasOwn(enrichment, alert.fingerprint) ? enrichment[alert.fingerprint]?.target : undefined;
    if (target?.workload === undefined || target.namespace === undefined) continue;
    const workload = { kind: target.workload.kind, namespace: target.namespace, name: target.workload.name };
    if (found !== undefined && (found.kind !== workload.kind || found.namespace !== workload.namespace || found.name !== workload.name)) return undefined;
    found = workload;
  }
  return found;
}

/** Acknowledge while firing and not acknowledged; Unacknowledge once acknowledged. */
const acknowledgeButtons: AlertButtonContributor = ({ state, ref }) => {
  if (!isFiring(state)) return [];
  if (state.acknowledged !== undefined) return [{ type: 'button', action_id: UNACK_ACTION_ID, text: { type: 'plain_text', text: 'Unacknowledge' }, value: ref }];
  return [{ type: 'button', action_id: ACK_ACTION_ID, text: { type: 'plain_text', text: 'Acknowledge' }, value: ref }];
};

/** Silence 1h / 4h / 24h / for… while firing and not silenced (src/slack/silence-actions.ts). */
const silenceButtonsOf: AlertButtonContributor = ({ state, ref }) => silenceButtons(state, ref);

/** action_id of the Show logs button (src/slack/logs-action.ts). */
export const LOGS_ACTION_ID = 'logs';

/** Show logs while firing, when enrichment found the one pod or workload the alerts are about. */
const logsButtons: AlertButtonContributor = ({ state, enrichment, ref }) => {
  if (!isFiring(state) || groupLogTarget(state, enrichment) === undefined) return [];
  return [{ type: 'button', action_id: LOGS_ACTION_ID, text: { type: 'plain_text', text: 'Show logs' }, value: ref }];
};



/** action_ids of the Scale and Restart buttons (src/slack/workload-actions.ts). */
export const SCALE_ACTION_ID = 'workload:scale';
export const RESTART_ACTION_ID = 'workload:restart';

/** "shop/cart", or "shop/statefulset/db": how /ops commands name the workload. */
export function workloadName(workload: GroupWorkload): string {
  return workload.kind === 'Deployment' ? `${workload.namespace}/${workload.name}` : `${workload.namespace}/${workload.kind.toLowerCase()}/${workload.name}`;
}

/** Scale (a form) and Restart (a confirm dialog), while firing, when enrichment found one Deployment or StatefulSet. */
const workloadButtons: AlertButtonContributor = ({ state, workload, ref }) => {
  if (!isFiring(state) || workload === undefined || (workload.kind !== 'Deployment' && workload.kind !== 'StatefulSet')) return [];
  const name = workloadName(workload);
  return [
    { type: 'button', action_id: SCALE_ACTION_ID, text: { type: 'plain_text', text: 'Scale' }, value: ref },
    {
      type: 'button',
      action_id: RESTART_ACTION_ID,
      text: { type: 'plain_text', text: 'Restart' },
      value: ref,
      confirm: {
        title: { type: 'plain_text', text: 'Restart?' },
        // Slack allows 300 characters here; a workload name is at most 253, so cut the name, not the sense.
        text: { type: 'plain_text', text: `Rolling restart of ${name.slice(0, 200)}: its pods are replaced one by one.` },
        confirm: { type: 'plain_text', text: 'Restart' },
        deny: { type: 'plain_text', text: 'Cancel' },
        style: 'danger',
      },
    },
  ];
};

/** A cert-manager Certificate an alert group is about. */
export interface GroupCertificate {
  namespace: string;
  name: string;
}

/**
 * The cert-manager Certificate every enriched alert of the group is about (alerts/enrichers/certificate-target.ts):
 * named by the alert, or managing the TLS Secret the alert names. Undefined when none, or when alerts disagree.
 */
export function groupCertificate(state: GroupState, enrichment: GroupEnrichment): GroupCertificate | undefined {
  let found: GroupCertificate | undefined;
  for (const alert of state.alerts) {
    const target = Object.hasOwn(enrichment, alert.fingerprint) ? enrichment[alert.fingerprint]?.target : undefined;
    const certificate = target?.certificate;
    const name = certificate?.kind === 'Certificate' ? certificate.name : certificate?.managedBy;
    if (name === undefined || target?.namespace === undefined) continue;
    if (found !== undefined && (found.namespace !== target.namespace || found.name !== name)) return undefined;
    found = { namespace: target.namespace, name };
  }
  return found;
}

/**
 * Renew, while firing, when the group is about one cert-manager Certificate. Unlike the other
 * buttons its value names the Certificate: it runs `/ops certs renew <namespace>/<name>` for the
 * clicker exactly as if typed (reviewed, written as them, audited; commands/certs-renew.ts), so a
 * forged value gets no further than typing would.
 */
const certificateButtons: AlertButtonContributor = ({ state, enrichment }) => {
  if (!isFiring(state)) return [];
  const certificate = groupCertificate(state, enrichment);
  return certificate === undefined ? [] : [renewButton(certificate.namespace, certificate.name)];
};

/** Contributors in the order their buttons appear; add yours here. */
export const ALERT_BUTTONS: readonly AlertButtonContributor[] = [acknowledgeButtons, silenceButtonsOf, logsButtons, workloadButtons, certificateButtons];

/** Every contributed button for the group, in contributor order. */
export function alertButtons(group: AlertButtonGroup): Button[] {
  return ALERT_BUTTONS.flatMap((contribute) => contribute(group));
}
