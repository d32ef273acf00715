import { monitorEventLoopDelay } from 'node:perf_hooks';
import { benchChannels, channelRoutes, firingPayload, latencySummary, ms, runPool, startBenchLookout, type Scenario } from '../bench-support.ts';

/*
 * Issue 2: answer POST /alertmanager fast (the store write, then 2xx; target under 50 ms). N
 * sequential requests, then M with C in flight at once; every payload valid and its own group,
 * so each one is a real store write and a Slack message queued behind it.
 */

const BUDGET_MS = 50;

function payload(run: string, i: number, channel: string): string {
  const group = `${run}-${String(i).padStart(5, '0')}`;
  const labels = { alertname: 'BenchWebhookLatency', severity: 'warning', namespace: 'shop', service: `svc-${group}`, bench_channel: channel };
  return firingPayload({
    groupKey: `{}:{alertname="BenchWebhookLatency",service="svc-${group}"}`,
    groupLabels: { alertname: 'BenchWebhookLatency', service: `svc-${group}` },
    commonLabels: labels,
    alerts: [
      { labels: { ...labels, instance: `10.0.0.1:8080` }, annotations: { summary: `Latency probe ${group}` }, fingerprint: `${group}-a` },
      { labels: { ...labels, instance: `10.0.0.2:8080` }, annotations: { summary: `Latency probe ${group}` }, fingerprint: `${group}-b` },
    ],
  });
}

export const webhookLatency: Scenario = {
  id: 'webhook',
  needsKube: false,
  async run(context) {
    const sequential = context.option('webhook-sequential', context.quick ? 200 : 1000);
    const concurrentTotal = context.option('webhook-concurrent', context.quick ? 200 : 1000);
    // Two levels: a few groups flushing at once, and a storm's worth (Alertmanager sends each group on its own).
    const levels = [context.option('webhook-in-flight-low', 8), context.option('webhook-in-flight', 32)];
    const channels = benchChannels(20);
    const bench = await startBenchLookout({ slack: { channels }, config: { routes: channelRoutes(channels) } });
    try {
      // A few requests first so the measured ones do not include JIT and connection warm-up.
      for (let i = 0; i < 20; i++) await bench.postWebhook(payload('warm', i, channels[i % channels.length]!));

      // The client shares its process (and event loop) with the fake Slack: its own stalls show in the times too.
      const clientLoop = monitorEventLoopDelay({ resolution: 10 });
      clientLoop.enable();
      context.log(`webhook: ${sequential} sequential`);
      const seq: number[] = [];
      const statuses = new Map<number, number>();
      const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
      for (let i = 0; i < sequential; i++) {
        const { status, ms: took } = await bench.postWebhook(payload('seq', i, channels[i % channels.length]!));
        count(status);
        seq.push(took);
      }
      const concurrent: Array<{ inFlight: number; summary: ReturnType<typeof latencySummary>; perSecond: number }> = [];
      for (const [level, inFlight] of levels.entries()) {
        context.log(`webhook: ${concurrentTotal} with ${inFlight} in flight`);
        const samples: number[] = [];
        const began = performance.now();
        await runPool(concurrentTotal, inFlight, async (i) => {
          const { status, ms: took } = await bench.postWebhook(payload(`conc${level}`, i, channels[i % channels.length]!));
          count(status);
          samples.push(took);
        });
        concurrent.push({ inFlight, summary: latencySummary(samples), perSecond: concurrentTotal / ((performance.now() - began) / 1000) });
      }
      // Whether Lookout's own event loop stalled (GC, its own work, or no CPU for it) during the run.
      const loopLagMaxMs = (await bench.metric('nodejs_eventloop_lag_max_seconds')) * 1000;
      clientLoop.disable();
      const clientLagMaxMs = clientLoop.max / 1e6;
      const seqSummary = latencySummary(seq);
      const non2xx = [...statuses].filter(([status]) => status < 200 || status > 299).reduce((sum, [, n]) => sum + n, 0);
      return {
        title: 'Webhook answer latency (POST /alertmanager)',
        figures: [
          [`sequential (${sequential})`, seqSummary.text],
          ...concurrent.map(({ inFlight, summary, perSecond }): [string, string] => [`concurrent (${concurrentTotal}, ${inFlight} in flight, back to back)`, `${summary.text}; ${perSecond.toFixed(0)} requests/s`]),
          ['non-2xx answers', String(non2xx)],
          ["event-loop delay, max over the run: Lookout (nodejs_eventloop_lag_max_seconds) / the bench client + fake Slack", `${ms(loopLagMaxMs)} / ${ms(clientLagMaxMs)}`],
        ],
        budgets: [
          { what: 'webhook answer p99, sequential', limit: `< ${BUDGET_MS} ms`, measured: ms(seqSummary.p99), pass: seqSummary.p99 < BUDGET_MS && non2xx === 0 },
          ...concurrent.map(({ inFlight, summary }) => ({ what: `webhook answer p99, ${inFlight} in flight`, limit: `< ${BUDGET_MS} ms`, measured: ms(summary.p99), pass: summary.p99 < BUDGET_MS && non2xx === 0 })),
        ],
        notes: [
          'Time from sending the request to the whole answer on the client (fetch, keep-alive), so it includes loopback HTTP and the client; every payload is a valid version-4 group of 2 alerts with its own groupKey, so each is a store write.',
          'The concurrent phases are closed loops (each of the N clients sends its next request as soon as the previous is answered), so they run Lookout at its maximum intake rate, far above what Alertmanager sends; the storm scenario shows the answer times at a storm\'s paced rate. For comparison, a bare Node HTTP server that only parses the JSON answers the same client at 32 in flight with p99 ≈ 15–18 ms on this machine.',
          'The outbox drains the queued messages into the fake Slack (20 channels, 1 msg/s each) in the background while the requests run, as in production.',
        ],
      };
    } finally {
      await bench.stop();
    }
  },
};
