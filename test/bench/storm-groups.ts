import type { FakeSlack } from '../support/fake-slack.ts';
import { firingPayload } from './bench-support.ts';

/*
 * The storm's alert groups (what Alertmanager sends for 1,000 KubePodNotReady groups) and the count
 * of what Slack ends up showing for them: shared by the storm scenario (one Lookout on SQLite) and
 * storm-ha (two replicas on PostgreSQL, one SIGKILLed), so the two measure the same load.
 */

const serviceOf = (g: number) => `svc-${String(g).padStart(4, '0')}`;
const podOf = (g: number, a: number) => `${serviceOf(g)}-7d9f8b6c5-${String(a).padStart(2, '0')}x${g}`;

/** Group g's notification: `alertsPerGroup` firing alerts with realistic labels, routed to `channel` (bench_channel). */
export function stormGroupPayload(g: number, alertsPerGroup: number, channel: string): string {
  const service = serviceOf(g);
  const namespace = `team-${g % 17}`;
  const common = { alertname: 'KubePodNotReady', severity: g % 5 === 0 ? 'critical' : 'warning', namespace, service, job: 'kube-state-metrics', prometheus: 'monitoring/k8s', bench_channel: channel };
  return firingPayload({
    groupKey: `{}/{severity=~"warning|critical"}:{alertname="KubePodNotReady", namespace="${namespace}", service="${service}"}`,
    groupLabels: { alertname: 'KubePodNotReady', namespace, service },
    commonLabels: common,
    alerts: Array.from({ length: alertsPerGroup }, (_, a) => ({
      labels: { ...common, pod: podOf(g, a), instance: `10.${g % 250}.${Math.floor(g / 250)}.${a}:8080`, container: 'app' },
      annotations: {
        summary: `Pod ${namespace}/${service}-${a} has been in a non-ready state for longer than 15 minutes.`,
        description: `Pod ${namespace}/${service}-${a} has been in a non-ready state for longer than 15 minutes on cluster prod-eu-1.`,
        runbook_url: 'https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodnotready',
      },
      fingerprint: `${g.toString(16).padStart(8, '0')}${a.toString(16).padStart(8, '0')}`,
    })),
  });
}

/** The groups sent a second time, identical (Alertmanager's retries), in a shuffled-looking order: they go out after their original. */
export function repeatedGroups(groups: number, duplicatePercent: number): number[] {
  return Array.from({ length: Math.round((groups * duplicatePercent) / 100) }, (_, i) => (i * 7919) % groups);
}

/** What Slack shows for the storm's groups. */
export interface StormMessages {
  lost: number;
  duplicated: number;
  /** Messages not saying [FIRING:n] or not showing each of their n alerts. */
  incomplete: number;
  /** Replies in the groups' threads: an unchanged group that is repeated must cause none. */
  threadReplies: number;
}

/** Nothing lost, nothing duplicated: each group exactly one message, in its channel, holding its alerts. */
export function countStormMessages(slack: FakeSlack, groups: number, alertsPerGroup: number, channelOf: (g: number) => string): StormMessages {
  const counts: StormMessages = { lost: 0, duplicated: 0, incomplete: 0, threadReplies: 0 };
  for (let g = 0; g < groups; g++) {
    // The service label's field shows it in backticks; a pod name only contains it.
    const mine = slack.messages(channelOf(g)).filter((m) => JSON.stringify([m.text, m.blocks]).includes(`\`${serviceOf(g)}\``));
    if (mine.length === 0) counts.lost += 1;
    if (mine.length > 1) counts.duplicated += mine.length - 1;
    for (const m of mine) {
      counts.threadReplies += m.replyCount;
      const content = JSON.stringify([m.text, m.blocks]);
      const allAlerts = Array.from({ length: alertsPerGroup }, (_, a) => podOf(g, a)).every((pod) => content.includes(pod));
      if (!m.text.startsWith(`[FIRING:${alertsPerGroup}]`) || !allAlerts) counts.incomplete += 1;
    }
  }
  return counts;
}
