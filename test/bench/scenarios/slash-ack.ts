import { waitFor } from '../../support/free-port.ts';
import { signedSlackForm, slashCommandBody } from '../../support/sign-slack-request.ts';
import { latencySummary, ms, runPool, startBenchLookout, type Scenario } from '../bench-support.ts';

/*
 * DESIGN.md: a slash command is acknowledged within 100 ms p99 (Slack allows 3 s). Signed
 * `/ops help` and `/ops whoami` requests to /slack/events, as Slack sends them; the time is from
 * sending to Lookout's HTTP 200 (the ack). The replies themselves go to the response_url.
 */

const BUDGET_MS = 100;
const USER = 'U024BE7LH';

export const slashAck: Scenario = {
  id: 'slash',
  needsKube: false,
  async run(context) {
    const sequential = context.option('slash-sequential', context.quick ? 100 : 400);
    const concurrentTotal = context.option('slash-concurrent', context.quick ? 100 : 400);
    const inFlight = context.option('slash-in-flight', 8);
    const bench = await startBenchLookout({
      slack: { users: [{ id: USER, name: 'alice', realName: 'Alice Example', email: 'alice@example.com' }] },
      config: { identities: { prefix: 'slack:', users: [{ slack: USER, user: 'alice', groups: ['sre'] }] } },
      // whoami also asks the real kube-apiserver when the run has one (as in production).
      ...(context.kube ? { extraEnv: { KUBECONFIG: context.kube.bot } } : {}),
    });
    try {
      const url = `${bench.lookout.url}/slack/events`;
      let non200 = 0;
      const send = async (text: string): Promise<number> => {
        const signed = signedSlackForm(bench.bed.signingSecret, slashCommandBody({ text, user_id: USER, response_url: bench.slack.responseUrl() }), Date.now() / 1000);
        const started = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
        await res.arrayBuffer();
        if (res.status !== 200) non200 += 1;
        return performance.now() - started;
      };
      for (let i = 0; i < 10; i++) await send(i % 2 === 0 ? 'help' : 'whoami');
      const warmReplies = 10;
      const help: number[] = [];
      const whoami: number[] = [];
      context.log(`slash: ${sequential} sequential, ${concurrentTotal} with ${inFlight} in flight`);
      for (let i = 0; i < sequential; i++) (i % 2 === 0 ? help : whoami).push(await send(i % 2 === 0 ? 'help' : 'whoami'));
      const concurrent: number[] = [];
      await runPool(concurrentTotal, inFlight, async (i) => void concurrent.push(await send(i % 2 === 0 ? 'help' : 'whoami')));
      const expected = warmReplies + sequential + concurrentTotal;
      await waitFor('every reply at its response_url', () => (bench.slack.responseUrlPosts.length >= expected ? true : undefined), 30_000, 100).catch(() => undefined);
      const replies = bench.slack.responseUrlPosts.length;
      const all = [...help, ...whoami];
      const allSummary = latencySummary(all);
      const concurrentSummary = latencySummary(concurrent);
      return {
        title: 'Slash command acknowledgement (POST /slack/events)',
        figures: [
          ['/ops help, sequential', latencySummary(help).text],
          ['/ops whoami, sequential', latencySummary(whoami).text],
          [`help + whoami, ${inFlight} in flight`, concurrentSummary.text],
          ['non-200 acks', String(non200)],
          ['replies at the response_url / commands sent', `${replies} / ${expected}`],
        ],
        budgets: [
          { what: 'slash command ack p99, sequential', limit: `< ${BUDGET_MS} ms`, measured: ms(allSummary.p99), pass: allSummary.p99 < BUDGET_MS && non200 === 0 },
          { what: `slash command ack p99, ${inFlight} in flight`, limit: `< ${BUDGET_MS} ms`, measured: ms(concurrentSummary.p99), pass: concurrentSummary.p99 < BUDGET_MS && non200 === 0 },
        ],
        notes: [
          'Each request is signed as Slack signs it (test/support/sign-slack-request.ts) with a fresh response_url, so none is a replay. Time from sending to the HTTP 200 on the client.',
          `The user is mapped to Kubernetes user slack:alice (group slack:sre); ${context.kube ? 'Lookout has the real kube-apiserver, so whoami also asks it' : 'no Kubernetes in this run'}. Replies go to the fake Slack's response_url and are counted, to show the commands really ran.`,
        ],
      };
    } finally {
      await bench.stop();
    }
  },
};
