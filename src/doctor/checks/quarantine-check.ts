import type { Store } from '../../state/store.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

export interface QuarantineCheckOptions {
  store: Pick<Store, 'quarantinedNotifications'>;
  now: () => number;
}

/**
 * Alert notifications set aside because their fold failed on its own (src/fold-inbox.ts): each is
 * an alert change Slack never showed, so any is a ✗ until an operator replays or drops it.
 */
export function quarantineCheck({ store, now }: QuarantineCheckOptions): DoctorCheck {
  return {
    name: 'Quarantined notifications',
    async run() {
      const { count, oldestReceivedAt } = await store.quarantinedNotifications();
      if (count === 0 || oldestReceivedAt === null) return passed('none: every accepted alert notification was folded into its group');
      const ageHours = Math.max(0, now() - oldestReceivedAt) / 3_600_000;
      return failed(
        `${count} alert notification${count === 1 ? '' : 's'} could not be folded and ${count === 1 ? 'was' : 'were'} set aside, the oldest received ${ageHours.toFixed(1)} h ago (${new Date(oldestReceivedAt).toISOString()})`,
        'Their alerts are missing from Slack. Read the `quarantined_notifications` table and the error logged for each, then replay or drop them (docs/runbooks/lookout-notifications-quarantined.md).',
      );
    },
  };
}
