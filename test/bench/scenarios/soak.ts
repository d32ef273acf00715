import { statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { waitFor } from '../../support/free-port.ts';
import { benchChannels, channelRoutes, firingPayload, okCalls, runPool, runtimeEnvText, sleep, startBenchLookout, type Scenario } from '../bench-support.ts';

/*
 * Issue 9: RSS went 142 → 288 MB over 8 storms and the state file grew forever (resolved groups
 * were never deleted). This runs several storms back to back against one Lookout with a short
 * retention: each storm fires G new groups, resolves them all, and waits for retention to delete
 * them. After each storm it records RSS, the V8 heap, the state file and its rows, so a plateau
 * (or a leak) shows as a series, not one number.
 */

const groupKey = (storm: number, g: number) => `{}:{alertname="SoakAlert", service="soak-${storm}-${g}"}`;

function payload(storm: number, g: number, alerts: number, channel: string, status: 'firing' | 'resolved'): string {
  const service = `soak-${storm}-${g}`;
  const common = { alertname: 'SoakAlert', namespace: `team-${g % 13}`, service, severity: 'warning', bench_channel: channel };
  const body = JSON.parse(
    firingPayload({
      groupKey: groupKey(storm, g),
      groupLabels: { alertname: 'SoakAlert', service },
      commonLabels: common,
      alerts: Array.from({ length: alerts }, (_, a) => ({
        labels: { ...common, pod: `${service}-pod-${a}` },
        annotations: { summary: `Pod ${service}-pod-${a} is not ready.`, description: `Pod ${service}-pod-${a} has been not ready for 15 minutes.` },
        fingerprint: `${storm.toString(16)}-${g.toString(16)}-${a.toString(16)}`,
        startsAt: '2026-01-01T00:00:00Z',
      })),
    }),
  ) as { status: string; alerts: Array<{ status: string; endsAt: string }> };
  if (status === 'resolved') {
    body.status = 'resolved';
    for (const alert of body.alerts) {
      alert.status = 'resolved';
      alert.endsAt = '2026-01-01T00:10:00Z';
    }
  }
  return JSON.stringify(body);
}

export const soak: Scenario = {
  id: 'soak',
  needsKube: false,
  async run(context) {
    const storms = context.option('soak-storms', context.quick ? 3 : 8);
    const groups = context.option('soak-groups', context.quick ? 100 : 300);
    const alerts = context.option('soak-alerts-per-group', 10);
    const channelCount = context.option('soak-channels', 50);
    // 0: the default retention (30 days), so nothing is deleted during the run: the comparison.
    const retentionSeconds = context.option('soak-retention-seconds', 3);
    const pruning = retentionSeconds > 0;
    const channels = benchChannels(channelCount);
    // Edits are paced per channel by the outbox; the fake's workspace-wide chat.update limit
    // (Tier 3, 50/min) would make each storm's resolve take minutes and measure nothing more.
    const bench = await startBenchLookout({
      slack: { channels, updatesPerMinute: 1_000_000 },
      config: { routes: channelRoutes(channels), ...(pruning ? { retention: { resolvedGroups: `${retentionSeconds}s` } } : {}) },
    });
    const statePath = bench.bed.env.LOOKOUT_STATE!;
    const rows = () => {
      const db = new DatabaseSync(statePath, { readOnly: true });
      try {
        return db
          .prepare(
            `SELECT (SELECT COUNT(*) FROM groups) AS groups, (SELECT COUNT(*) FROM replies) AS replies,
                    (SELECT page_count FROM pragma_page_count()) AS pages, (SELECT freelist_count FROM pragma_freelist_count()) AS free`,
          )
          .get() as { groups: number; replies: number; pages: number; free: number };
      } finally {
        db.close();
      }
    };
    const fileMiB = () => (statSync(statePath).size + (statSync(`${statePath}-wal`, { throwIfNoEntry: false })?.size ?? 0)) / 2 ** 20;
    const series: Array<{ storm: number; rssMiB: number; peakMiB: number; heapMiB: number; fileMiB: number; pages: number; groupsLeft: number; seconds: number }> = [];
    const startRss = bench.memory()?.rssMiB ?? Number.NaN;
    let non2xx = 0;
    try {
      context.log(`soak: ${storms} storms × ${groups} groups × ${alerts} alerts over ${channelCount} channels, retention ${pruning ? `${retentionSeconds} s` : '30 days (nothing deleted)'}`);
      for (let storm = 0; storm < storms; storm++) {
        const began = Date.now();
        const channelOf = (g: number) => channels[g % channels.length]!;
        for (const status of ['firing', 'resolved'] as const) {
          await runPool(groups, 16, async (g) => {
            const { status: code } = await bench.postWebhook(payload(storm, g, alerts, channelOf(g), status));
            if (code < 200 || code > 299) non2xx += 1;
          });
          // Each group posted (firing) or edited to RESOLVED before the next step.
          const want = status === 'firing' ? (storm + 1) * groups : 0;
          await waitFor(
            `storm ${storm}: ${status} delivered`,
            async () => {
              if (status === 'firing') return okCalls(bench.slack, 'chat.postMessage', true).length >= want && (await bench.metric('lookout_outbox_depth')) === 0 ? true : undefined;
              return (await bench.metric('lookout_outbox_depth')) === 0 ? true : undefined;
            },
            Math.ceil(groups / channelCount) * 2000 + 60_000,
            250,
          );
        }
        // Retention deletes them once they are older than the retention (passes every retention/4, at least 1 s).
        if (pruning) await waitFor(`storm ${storm}: resolved groups pruned`, () => (rows().groups === 0 ? true : undefined), retentionSeconds * 1000 + 30_000, 250);
        await sleep(1000);
        const state = rows();
        const entry = {
          storm: storm + 1,
          rssMiB: bench.memory()?.rssMiB ?? Number.NaN,
          peakMiB: bench.memory()?.peakMiB ?? Number.NaN,
          heapMiB: (await bench.metric('nodejs_heap_size_used_bytes')) / 2 ** 20,
          fileMiB: fileMiB(),
          pages: state.pages,
          groupsLeft: state.groups,
          seconds: (Date.now() - began) / 1000,
        };
        series.push(entry);
        context.log(`soak: storm ${entry.storm}: RSS ${entry.rssMiB.toFixed(0)} MiB, heap ${entry.heapMiB.toFixed(0)} MiB, state ${entry.fileMiB.toFixed(1)} MiB (${entry.pages} pages), ${entry.seconds.toFixed(0)} s`);
      }
      const posted = okCalls(bench.slack, 'chat.postMessage', true).length;
      const duplicates = posted - storms * groups;
      // Plateau: from the second storm on (the first one warms V8 and SQLite's page cache up), nothing grows by more than 10%.
      const afterWarmUp = series.slice(1);
      const grows = (pick: (entry: (typeof series)[number]) => number) => {
        const first = afterWarmUp[0];
        const last = afterWarmUp.at(-1);
        return first === undefined || last === undefined ? 0 : pick(last) / pick(first) - 1;
      };
      const rssGrowth = grows((entry) => entry.rssMiB);
      const pagesGrowth = grows((entry) => entry.pages);
      return {
        title: 'Soak: storms back to back with a short retention',
        figures: [
          ['storms × groups × alerts (channels)', `${storms} × ${groups} × ${alerts} (${channelCount})`],
          ['retention.resolvedGroups', pruning ? `${retentionSeconds}s` : '30d (the default: nothing is deleted during the run)'],
          ['webhooks non-2xx / top-level posts beyond one per group', `${non2xx} / ${duplicates}`],
          ['RSS at start', `${startRss.toFixed(0)} MiB`],
          ['after each storm: RSS (MiB)', series.map((entry) => entry.rssMiB.toFixed(0)).join(', ')],
          ['after each storm: peak RSS so far, VmHWM (MiB)', series.map((entry) => entry.peakMiB.toFixed(0)).join(', ')],
          ['after each storm: V8 heap used (MiB)', series.map((entry) => entry.heapMiB.toFixed(0)).join(', ')],
          ['after each storm: state file + WAL (MiB)', series.map((entry) => entry.fileMiB.toFixed(1)).join(', ')],
          ['after each storm: database pages', series.map((entry) => String(entry.pages)).join(', ')],
          ['after each storm: groups left', series.map((entry) => String(entry.groupsLeft)).join(', ')],
          ['growth from storm 2 to the last: RSS / pages', `${(rssGrowth * 100).toFixed(1)}% / ${(pagesGrowth * 100).toFixed(1)}%`],
        ],
        budgets: [
          { what: `soak ${storms} storms: RSS plateaus`, limit: '≤ 10% growth after storm 2', measured: `${(rssGrowth * 100).toFixed(1)}%`, pass: rssGrowth <= 0.1 },
          { what: 'soak: state file plateaus', limit: '≤ 10% more pages after storm 2, 0 groups left', measured: `${(pagesGrowth * 100).toFixed(1)}%, ${series.at(-1)?.groupsLeft ?? '?'} left`, pass: pruning && pagesGrowth <= 0.1 && series.every((entry) => entry.groupsLeft === 0) },
          { what: 'soak: nothing refused or duplicated', limit: '0 / 0', measured: `${non2xx} / ${duplicates}`, pass: non2xx === 0 && duplicates === 0 },
        ],
        notes: [
          `Each storm fires ${groups} new groups (new group keys each storm, as new incidents bring), waits until each is posted, resolves them all, waits until each message is edited, then waits until retention has deleted them; the figures are read 1 s after that.`,
          'The fake Slack\'s workspace-wide chat.update limit is lifted here (the outbox still paces each channel at 1 call/s): the scenario measures memory and state, not Slack pacing.',
          `RSS is VmRSS from /proc/<pid>/status; heap is nodejs_heap_size_used_bytes from /metrics (not forced through a GC). Lookout ran with ${runtimeEnvText()}.`,
          'Database pages are PRAGMA page_count read beside Lookout (the file\'s size once checkpointed): deleted rows free pages that later storms reuse, so it stays flat while the rows come and go.',
        ],
      };
    } finally {
      await bench.stop();
    }
  },
};
