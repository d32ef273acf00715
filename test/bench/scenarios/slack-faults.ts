import type { FakeSlack, FakeSlackOptions } from '../../support/fake-slack.ts';
import { countOutcome, sendChanges, sendStorm, stormRoutes, waitForOutcome, type StormOutcome, type StormSpec } from '../../support/fault-storm.ts';
import { waitFor } from '../../support/free-port.ts';
import { benchChannels, startBenchLookout, type BudgetCheck, type Scenario } from '../bench-support.ts';

/*
 * Issue 9: a storm of alert groups over many channels while the fake Slack misbehaves, one
 * fault per run of Lookout. Reported per fault: groups lost, duplicated, showing the wrong final
 * state, still in the default channel, and how much longer than Slack's pacing (1/s per channel)
 * unaffected channels waited for their first posts.
 */

const DEFAULT_CHANNEL = 'C0ALERTS';

interface FaultCase {
  id: string;
  what: string;
  /** Channels the fault touches (their first-post delay is not compared). */
  affected: (channels: readonly string[]) => string[];
  slack?: (channels: readonly string[]) => FakeSlackOptions;
  /** Applied right after Lookout started. */
  apply: (slack: FakeSlack, channels: readonly string[]) => void;
  /** While the storm is being delivered (e.g. invite Lookout after a while). */
  during?: (slack: FakeSlack, channels: readonly string[]) => Promise<void>;
}

const CASES: readonly FaultCase[] = [
  { id: 'hang', what: 'one channel: chat.postMessage hangs for 15 s', affected: (c) => [c[0]!], apply: (s, c) => void s.fault({ mode: 'hang', channel: c[0]!, method: 'chat.postMessage', forMs: 15_000 }) },
  { id: 'slow', what: 'one channel: every answer takes 5 s, for 20 s', affected: (c) => [c[0]!], apply: (s, c) => void s.fault({ mode: 'slow', channel: c[0]!, delayMs: 5000, forMs: 20_000 }) },
  {
    id: 'slow-accept',
    what: 'one channel: posts stored at once, answered after 11 s (client timeout 10 s), for 25 s',
    affected: (c) => [c[1]!],
    apply: (s, c) => void s.fault({ mode: 'slowAccept', channel: c[1]!, method: 'chat.postMessage', delayMs: 11_000, forMs: 25_000 }),
  },
  { id: 'invalid-auth', what: 'every call: invalid_auth for 20 s (a rotated token)', affected: (c) => [...c], apply: (s) => void s.fault({ mode: 'error', error: 'invalid_auth', forMs: 20_000 }) },
  {
    id: 'not-in-channel',
    what: 'one channel not_in_channel, one channel_not_found, until Lookout is invited / the channel exists',
    affected: (c) => [c[2]!, c[3]!],
    slack: (c) => ({ channels: [DEFAULT_CHANNEL, ...c.filter((x) => x !== c[3])], uninvitedChannels: [c[2]!] }),
    apply: () => undefined,
    during: async (s, c) => {
      await waitFor('the alerts of the uninvited channels in the default channel', () => (s.messages(DEFAULT_CHANNEL).length >= 2 ? true : undefined), 60_000, 250).catch(() => undefined);
      s.invite(c[2]!);
      s.addChannel(c[3]!);
    },
  },
  {
    id: 'http500-429',
    what: 'one channel HTTP 500, another 429 (Retry-After 3 s), for 8 s',
    affected: (c) => [c[4]!, c[5]!],
    apply: (s, c) => {
      s.fault({ mode: 'http500', channel: c[4]!, forMs: 8000 });
      s.fault({ mode: 'ratelimited', channel: c[5]!, retryAfterSeconds: 3, forMs: 8000 });
    },
  },
];

export const slackFaults: Scenario = {
  id: 'faults',
  needsKube: false,
  async run(context) {
    const groups = context.option('faults-groups', context.quick ? 100 : 200);
    const channelCount = context.option('faults-channels', 20);
    const channels = benchChannels(channelCount);
    const spec: StormSpec = { groups, channels, changed: Math.min(groups, channelCount) };
    const only = process.env.BENCH_FAULTS?.split(',');
    const rows: Array<[FaultCase, StormOutcome, number, number]> = [];
    for (const fault of CASES.filter((c) => only === undefined || only.includes(c.id))) {
      context.log(`faults: ${fault.id}: ${groups} groups over ${channelCount} channels`);
      const bench = await startBenchLookout({
        slack: fault.slack?.(channels) ?? { channels: [DEFAULT_CHANNEL, ...channels] },
        channel: DEFAULT_CHANNEL,
        config: { routes: stormRoutes(channels), outbox: { channelRetryMs: 3000, authProbeMaxMs: 2000 } },
      });
      try {
        const began = Date.now();
        fault.apply(bench.slack, channels);
        const sentAt = await sendStorm(bench.lookout.url, bench.bed.webhookToken, spec);
        await fault.during?.(bench.slack, channels);
        const firstPosted = () => countOutcome(bench.slack, { ...spec, groups: spec.changed, changed: 0 }, sentAt, [], DEFAULT_CHANNEL).lost === 0;
        await waitFor('the changed groups posted', () => (firstPosted() ? true : undefined), 90_000, 250).catch(() => undefined);
        await sendChanges(bench.lookout.url, bench.bed.webhookToken, spec);
        const outcome = await waitForOutcome(bench.slack, spec, sentAt, fault.affected(channels), DEFAULT_CHANNEL, 120_000);
        // 429s the fake answered by its own rules (not injected): Lookout's pacing was not enough.
        const provoked = bench.slack.calls.filter((c) => c.status === 429 && !c.injected).length;
        rows.push([fault, outcome, Date.now() - began, provoked]);
      } finally {
        await bench.stop();
      }
    }
    const everyChannel = (fault: FaultCase) => fault.affected(channels).length >= channels.length;
    const excess = (fault: FaultCase, o: StormOutcome) => (everyChannel(fault) ? 'n/a (every channel affected)' : `${(o.unaffectedFirstPostExcessMs / 1000).toFixed(1)} s`);
    const budgets: BudgetCheck[] = rows.map(([fault, o]) => ({
      what: `faults ${fault.id}: lost / duplicated / wrong final state`,
      limit: '0 / 0 / 0, unaffected first posts < 5 s late',
      measured: `${o.lost} / ${o.duplicated} / ${o.wrongFinal}, ${excess(fault, o)}`,
      pass: o.lost === 0 && o.duplicated === 0 && o.wrongFinal === 0 && o.awayFromChannel === 0 && (everyChannel(fault) || o.unaffectedFirstPostExcessMs < 5000),
    }));
    return {
      title: 'Slack faults: a storm while Slack misbehaves',
      figures: rows.map(([fault, o, ms, provoked]) => [
        `${fault.id} (${fault.what})`,
        `lost ${o.lost}, duplicated ${o.duplicated}, wrong final ${o.wrongFinal}, in default channel ${o.awayFromChannel}; unaffected first posts beyond pacing: ${excess(fault, o)}; 429s provoked (not injected) ${provoked}; ${(ms / 1000).toFixed(0)} s`,
      ]),
      budgets,
      notes: [
        `Each fault is a fresh Lookout (compiled, with the Deployment's NODE_OPTIONS) and fake Slack: ${groups} groups of one alert over ${channelCount} channels (1 msg/s each), then a second notification for ${spec.changed} of them (a second alert, or resolved) once they are posted.`,
        '"Beyond pacing": the k-th group of a channel may wait k seconds; the figure is the largest wait beyond that in channels the fault does not touch. For invalid-auth every channel is touched (all deliveries pause), so only the counts are judged.',
        'Lookout ran with outbox.channelRetryMs 3000 and authProbeMaxMs 2000 (defaults 60 s), so recovery shows within a run. BENCH_FAULTS=hang,slow selects faults.',
      ],
    };
  },
};
