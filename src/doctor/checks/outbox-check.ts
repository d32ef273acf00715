import type { Store } from '../../state/store.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

export interface OutboxCheckOptions {
  store: Pick<Store, 'outboxDepth'>;
  /** An alert message waiting longer than this for Slack is a ✗. */
  maxWaitMs: number;
  now: () => number;
}

/** The outbox: how many posts wait for Slack, and how long the oldest has waited. */
export function outboxCheck({ store, maxWaitMs, now }: OutboxCheckOptions): DoctorCheck {
  return {
    name: 'Outbox',
    async run() {
      const depth = await store.outboxDepth();
      const backlog = `${depth.messages} alert messages and ${depth.replies} thread replies waiting`;
      if (depth.oldestMessageAt === null) return passed(`${backlog}; Slack shows every alert group as it is`);
      const waitedMs = Math.max(0, now() - depth.oldestMessageAt);
      const waited = `the oldest for ${Math.round(waitedMs / 1000)} s`;
      if (waitedMs > maxWaitMs) return failed(`${backlog}, ${waited}`, "Slack is not taking Lookout's posts: look for `slack` warnings in Lookout's log (rate limits, a revoked token, a channel Lookout is not in) and at `lookout_slack_requests_total`.");
      return passed(`${backlog}, ${waited}`);
    },
  };
}
