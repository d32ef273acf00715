import { waitFor } from '../../support/free-port.ts';
import { slashCommandBody } from '../../support/sign-slack-request.ts';
import { latencySummary, loopDelayProbe, loopDelayReport, ROUNDS, runPool, spread, spreadText, startBenchLookout, type BudgetCheck, type LoopDelay, type Scenario } from '../bench-support.ts';

/*
 * The slash scenario's budget (a command acknowledged within 100 ms p99; Slack allows 3 s) in
 * Socket Mode: `/ops help` envelopes sent over the fake Slack's WebSocket, timed from sending to
 * the fake receiving Lookout's ack. Each ack waits for the delivery's claim in the store
 * (src/slack/socket-deliveries.ts), a committed transaction, which HTTP requests do not pay.
 */

const BUDGET_MS = 100;
const USER = 'U024BE7LH';

export const socketAck: Scenario = {
  id: 'socket',
  needsKube: false,
  async run(context) {
    const sequential = context.option('socket-sequential', context.quick ? 100 : 200);
    const concurrentTotal = context.option('socket-concurrent', context.quick ? 100 : 400);
    const inFlight = context.option('socket-in-flight', 8);
    const bench = await startBenchLookout({ socketMode: true, slack: { users: [{ id: USER, name: 'alice' }] } });
    try {
      const socket = bench.slack.socketMode;
      let sent = 0;
      const send = async (): Promise<number> => {
        sent += 1;
        const form = slashCommandBody({ text: 'help', user_id: USER, response_url: bench.slack.responseUrl(), trigger_id: `${3_000_000_000 + sent}.1000000000.0123456789abcdef` });
        const started = Date.now();
        const envelopeId = socket.send('slash_commands', Object.fromEntries(new URLSearchParams(form)), { retry: false });
        const ack = await socket.ackOf(envelopeId);
        return ack.at - started;
      };
      for (let i = 0; i < 10; i++) await send();
      const probe = loopDelayProbe(`${bench.lookout.url}/metrics`);
      const phases = [
        { name: 'sequential', inFlight: 1, requests: sequential, rounds: [] as Array<{ samples: number[]; loop: LoopDelay }> },
        { name: `${inFlight} in flight`, inFlight, requests: concurrentTotal, rounds: [] as Array<{ samples: number[]; loop: LoopDelay }> },
      ];
      for (let round = 0; round < ROUNDS; round++) {
        for (const phase of phases) {
          context.log(`socket: round ${round + 1}/${ROUNDS}, ${phase.requests} /ops help over Socket Mode, ${phase.name}`);
          const samples: number[] = [];
          await probe.begin();
          await runPool(phase.requests, phase.inFlight, async () => void samples.push(await send()));
          phase.rounds.push({ samples, loop: await probe.end() });
        }
      }
      await waitFor('every reply at its response_url', () => (bench.slack.responseUrlPosts.length >= sent ? true : undefined), 30_000, 100).catch(() => undefined);
      const figures: Array<[string, string]> = [];
      const budgets: BudgetCheck[] = [];
      for (const phase of phases) {
        const p99 = spread(phase.rounds.map((r) => latencySummary(r.samples).p99));
        const loop = loopDelayReport(`socket, ${phase.name}`, phase.rounds.map((r) => r.loop));
        figures.push([`ack p99, /ops help over Socket Mode, ${phase.name} (${phase.requests} a round)`, spreadText(p99)]);
        for (const [i, r] of phase.rounds.entries()) figures.push([`  round ${i + 1}`, latencySummary(r.samples).text]);
        figures.push(loop.figure);
        budgets.push({ what: `Socket Mode ack p99, ${phase.name}`, limit: `< ${BUDGET_MS} ms`, measured: spreadText(p99), pass: p99.median < BUDGET_MS }, ...loop.budgets);
      }
      return {
        title: 'Slash command acknowledgement over Socket Mode',
        figures: [...figures, ['replies at the response_url / commands sent', `${bench.slack.responseUrlPosts.length} / ${sent}`], ['Socket Mode connections opened', String(socket.connectionsOpened)]],
        budgets,
        notes: [
          'Lookout runs with SLACK_BOT_TOKEN and SLACK_APP_TOKEN only; the fake Slack (test/support/fake-slack-socket-mode.ts) sends each envelope and records the ack with Date.now() (1 ms resolution).',
          `Each phase runs ${ROUNDS} times, interleaved; a budget passes on the median round. Envelopes are sent without the fake's 3 s retry, so a slow ack is measured, not repeated.`,
        ],
      };
    } finally {
      await bench.stop();
    }
  },
};
