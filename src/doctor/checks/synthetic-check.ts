import { randomUUID } from 'node:crypto';
import { SYNTHETIC_CHANNEL_LABEL, SYNTHETIC_LABEL } from '../../../alerts/route-channel.ts';
import type { AlertmanagerClient } from '../../integrations/alertmanager.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';
import type { SyntheticWatch } from '../synthetic-watch.ts';

export interface SyntheticCheckOptions {
  alertmanager: Pick<AlertmanagerClient, 'postAlerts'>;
  watch: Pick<SyntheticWatch, 'wait'>;
  /** Where doctor was run: the synthetic message goes there. */
  channel: string;
  /** How long the alert may take to reach Slack; also how long it fires before it resolves by itself. */
  timeoutMs: number;
  now: () => number;
}

/** Time for the post to Alertmanager on top of the wait, so the check's own deadline never cuts the wait short. */
const POST_MARGIN_MS = 5000;

/**
 * The synthetic end-to-end test: posts an alert with a unique `lookout_synthetic` label to
 * Alertmanager's API, as Prometheus would, and waits until Lookout's message for it is in Slack
 * (the outbox tells the watch the moment the post is made). Measured: Alertmanager → Lookout
 * (from the post to the webhook's arrival, Alertmanager's group_wait included) and Lookout → Slack.
 * The alert's endsAt is the end of the wait, so Alertmanager resolves it by itself soon after and
 * Lookout edits the message to resolved.
 */
export function syntheticCheck({ alertmanager, watch, channel, timeoutMs, now }: SyntheticCheckOptions): DoctorCheck {
  return {
    name: 'Synthetic alert',
    timeoutMs: timeoutMs + POST_MARGIN_MS,
    async run(signal) {
      const id = randomUUID().slice(0, 8);
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      const arrival = watch.wait(id, true, deadline);
      // Rejections of an unawaited wait (a failed post) must not go unhandled.
      arrival.catch(() => undefined);
      const sentAt = now();
      try {
        await alertmanager.postAlerts([
          {
            labels: { alertname: 'LookoutSyntheticCheck', severity: 'info', [SYNTHETIC_LABEL]: id, [SYNTHETIC_CHANNEL_LABEL]: channel },
            annotations: { summary: `Synthetic alert from /ops doctor (${id}): it checks that alerts reach this channel, and resolves by itself.` },
            startsAt: new Date(sentAt).toISOString(),
            endsAt: new Date(sentAt + timeoutMs).toISOString(),
          },
        ]);
      } catch (error) {
        return failed(`could not post the synthetic alert to Alertmanager (${error instanceof Error ? error.message : 'unknown error'})`, "Check ALERTMANAGER_URL and Lookout's Alertmanager credentials: posting alerts needs the same access as silences.");
      }
      try {
        const shown = await arrival;
        const toLookout = shown.receivedAt - sentAt;
        const toSlack = shown.shownAt - shown.receivedAt;
        const where = shown.channel === channel ? '' : ` (posted in <#${shown.channel}>: Lookout cannot post in this channel)`;
        return passed(`\`${SYNTHETIC_LABEL}="${id}"\` went Alertmanager → Lookout in ${seconds(toLookout)} (group_wait included), Lookout → Slack in ${seconds(toSlack)}: *${seconds(shown.shownAt - sentAt)}* end to end${where}; it resolves by itself within ${seconds(timeoutMs)}`);
      } catch {
        if (signal.aborted) return failed('stopped before the alert came back', 'Run `/ops doctor` again once Lookout is up.');
        return failed(`\`${SYNTHETIC_LABEL}="${id}"\` did not reach Slack through Lookout within ${seconds(timeoutMs)}`, "Check that Alertmanager's route sends every alert (this one is `alertname=LookoutSyntheticCheck`) to the receiver whose webhook is Lookout's `/alertmanager` with `send_resolved: true`, that its bearer token is LOOKOUT_WEBHOOK_TOKEN, and that group_wait is shorter than the wait (config `doctor.syntheticTimeout`).");
      }
    },
  };
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(2)} s`;
}
