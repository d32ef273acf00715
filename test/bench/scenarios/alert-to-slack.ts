import { startAlertmanager, type AlertmanagerProcess } from '../../support/alertmanager-process.ts';
import { waitFor } from '../../support/free-port.ts';
import { benchChannels, callContent, channelRoutes, latencySummary, ms, okCalls, sleep, startBenchLookout, type Scenario } from '../bench-support.ts';

/*
 * Alert → first Slack post through a real Alertmanager, against Alertmanager's own Slack notifier
 * in the same run: one receiver holds both Lookout's webhook_configs and a slack_configs whose
 * api_url is a fake-Slack URL that records each post (fake-slack.ts responseUrl(): the same kind
 * of JSON POST as an incoming webhook), so both leave Alertmanager from the same flush. Budget
 * (DESIGN.md): p99 under 200 ms beyond the baseline.
 */

const BUDGET_MS = 200;

export const alertToSlack: Scenario = {
  id: 'alertmanager',
  needsKube: false,
  async run(context) {
    const groups = context.option('am-groups', context.quick ? 30 : 100);
    const spacingMs = context.option('am-spacing-ms', 250);
    const channels = benchChannels(context.option('am-channels', 10));
    const bench = await startBenchLookout({ slack: { channels }, config: { routes: channelRoutes(channels) } });
    let alertmanager: AlertmanagerProcess | undefined;
    try {
      const amSlackUrl = bench.slack.responseUrl();
      alertmanager = await startAlertmanager({
        webhookUrl: `${bench.lookout.url}/alertmanager`,
        webhookToken: bench.bed.webhookToken,
        groupBy: ['alertname', 'bench_group'],
        groupWait: '0s',
        groupInterval: '5m',
        repeatInterval: '4h',
        slackApiUrl: amSlackUrl,
      });
      const am = alertmanager;
      const id = (i: number) => `G${String(i).padStart(4, '0')}Z`;
      const sentAt = new Map<string, number>();
      context.log(`alertmanager: ${groups} groups, one every ${spacingMs} ms, over ${channels.length} channels`);
      for (let i = 0; i < groups; i++) {
        const group = id(i);
        const labels = { alertname: 'BenchAlertToSlack', bench_group: group, bench_channel: channels[i % channels.length]!, severity: 'critical', namespace: 'shop', job: 'checkout' };
        sentAt.set(group, Date.now());
        await am.postAlerts([
          { labels: { ...labels, instance: '10.1.0.1:8080' }, annotations: { summary: `Checkout is down (${group})` } },
          { labels: { ...labels, instance: '10.1.0.2:8080' }, annotations: { summary: `Checkout is down (${group})` } },
        ]);
        await sleep(spacingMs);
      }
      const arrivals = () => {
        const lookoutAt = new Map<string, number>();
        for (const call of okCalls(bench.slack, 'chat.postMessage', true)) {
          const group = /G\d{4}Z/.exec(callContent(call))?.[0];
          if (group !== undefined && !lookoutAt.has(group)) lookoutAt.set(group, call.at);
        }
        const baselineAt = new Map<string, number>();
        for (const post of bench.slack.responseUrlPosts) {
          const group = /G\d{4}Z/.exec(JSON.stringify(post.body))?.[0];
          if (group !== undefined && !baselineAt.has(group)) baselineAt.set(group, post.at);
        }
        return { lookoutAt, baselineAt };
      };
      await waitFor('every group in Slack by both paths', () => {
        const { lookoutAt, baselineAt } = arrivals();
        return lookoutAt.size >= groups && baselineAt.size >= groups ? true : undefined;
      }, 30_000, 200).catch(() => undefined);
      const { lookoutAt, baselineAt } = arrivals();
      const lookout: number[] = [];
      const baseline: number[] = [];
      const beyond: number[] = [];
      for (const [group, sent] of sentAt) {
        const viaLookout = lookoutAt.get(group);
        const viaAlertmanager = baselineAt.get(group);
        if (viaLookout !== undefined) lookout.push(viaLookout - sent);
        if (viaAlertmanager !== undefined) baseline.push(viaAlertmanager - sent);
        if (viaLookout !== undefined && viaAlertmanager !== undefined) beyond.push(viaLookout - viaAlertmanager);
      }
      const lookoutSummary = latencySummary(lookout);
      const baselineSummary = latencySummary(baseline);
      const beyondSummary = latencySummary(beyond);
      const missing = groups - lookoutAt.size;
      return {
        title: 'Alert → first Slack post through a real Alertmanager',
        figures: [
          ['groups (2 alerts each)', `${groups}, one every ${spacingMs} ms, ${channels.length} channels`],
          ['via Lookout (POST to Alertmanager → chat.postMessage)', lookoutSummary.text],
          ["via Alertmanager's own Slack notifier (baseline)", baselineSummary.text],
          ['Lookout minus baseline, per group', beyondSummary.text],
          ['groups missing in Slack via Lookout / via baseline', `${missing} / ${groups - baselineAt.size}`],
        ],
        budgets: [
          { what: 'alert → first Slack post, p99 beyond Alertmanager’s Slack notifier', limit: `< ${BUDGET_MS} ms`, measured: ms(beyondSummary.p99), pass: beyondSummary.p99 < BUDGET_MS && missing === 0 },
        ],
        notes: [
          `Alertmanager from Debian (test/support/alertmanager-process.ts), group_wait 0s, one receiver with both webhook_configs (Lookout) and slack_configs (api_url: a recording endpoint of the fake Slack), so both notifications come from the same flush.`,
          'Times are from just before the POST to /api/v2/alerts to the arrival of the post at the fake Slack; "beyond" is Lookout\'s arrival minus the baseline\'s for the same group, which removes Alertmanager\'s own dispatch time.',
          "Groups are spread over channels and paced so the outbox's 1 msg/s/channel spacing does not queue them: this measures the path, not Slack's rate limit (the storm scenario measures that).",
          'No Kubernetes credentials and no LOKI_URL: nothing to enrich, so the first post does not wait for enrichment (the kube scenario measures that).',
        ],
      };
    } finally {
      await alertmanager?.stop();
      await bench.stop();
    }
  },
};
