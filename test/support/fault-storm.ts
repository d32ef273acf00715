import type { FakeSlack } from './fake-slack.ts';
import { waitFor } from './free-port.ts';

/*
 * A storm of alert groups over many channels, sent to a running Lookout while the fake Slack
 * misbehaves, and the count of what Slack ends up showing: groups lost, duplicated, or showing
 * the wrong final state, and how long unaffected channels waited for their first posts. Shared by
 * the integration tests (test/integration/slack-faults.test.ts) and `npm run bench` (faults).
 */

export interface StormSpec {
  /** Alert groups, each routed to channels[i % channels.length]. */
  groups: number;
  channels: readonly string[];
  /** The first `changed` groups get a second notification: odd ones a second alert, even ones resolved. */
  changed: number;
}

export interface StormOutcome {
  lost: number;
  duplicated: number;
  wrongFinal: number;
  /** Thread replies that repeat another reply in the same thread (each storm change earns one reply). */
  doubledReplies: number;
  /** Groups whose message is in the default channel instead of their own. */
  awayFromChannel: number;
  /**
   * For channels not in `affected`: the largest wait for a group's first post beyond what the
   * 1 message/s/channel pacing requires (the k-th group of a channel may wait k seconds).
   */
  unaffectedFirstPostExcessMs: number;
}

/**
 * Where the notifications go: one Lookout, or several replicas that each get every notification at
 * the same moment, as from an Alertmanager HA pair (both members notify every receiver).
 */
export type StormTargets = string | readonly string[];

/** Called with each answer a target gave (an HTTP status, or `refused`: nothing listening). */
export type OnStormAnswer = (target: string, answer: number | 'refused') => void;

/** How long a notification answered 5xx is retried, as Alertmanager keeps retrying a failing receiver. */
const RETRY_5XX_FOR_MS = 60_000;

/** Routes sending each storm group to its channel (by the `fault_channel` label). */
export function stormRoutes(channels: readonly string[]): Array<{ match: Record<string, string>; channel: string }> {
  return channels.map((channel) => ({ match: { fault_channel: channel }, channel }));
}

const nameOf = (i: number) => `FaultStorm${String(i).padStart(4, '0')}`;
const channelOf = (spec: StormSpec, i: number) => spec.channels[i % spec.channels.length]!;

function payload(spec: StormSpec, i: number, phase: 'first' | 'change'): string {
  const alertname = nameOf(i);
  const labels = { alertname, fault_channel: channelOf(spec, i) };
  const startsAt = '2026-01-01T00:00:00Z';
  const alert = (fingerprint: string, status: 'firing' | 'resolved') => ({
    status,
    labels: { ...labels, instance: fingerprint },
    annotations: { summary: `storm group ${i}` },
    startsAt,
    endsAt: status === 'resolved' ? '2026-01-01T00:10:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.invalid/graph',
    fingerprint: `${alertname}-${fingerprint}`,
  });
  const alerts =
    phase === 'first' ? [alert('a', 'firing')] : i % 2 === 1 ? [alert('a', 'firing'), alert('b', 'firing')] : [alert('a', 'resolved')];
  return JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'lookout',
    groupLabels: { alertname },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.invalid',
    alerts,
  });
}

/** The status a group's message must end with. */
function expectedStatus(spec: StormSpec, i: number): string {
  if (i >= spec.changed) return '[FIRING:1]';
  return i % 2 === 1 ? '[FIRING:2]' : '[RESOLVED]';
}

/** Sends every group's first notification (8 at a time); returns when each was answered 200. */
export async function sendStorm(targets: StormTargets, token: string, spec: StormSpec, onAnswer?: OnStormAnswer): Promise<Map<number, number>> {
  const sentAt = new Map<number, number>();
  await pool(spec.groups, 8, async (i) => {
    sentAt.set(i, Date.now());
    await notify(targets, token, payload(spec, i, 'first'), onAnswer);
  });
  return sentAt;
}

/** Sends the second notification of the first `spec.changed` groups. */
export async function sendChanges(targets: StormTargets, token: string, spec: StormSpec, onAnswer?: OnStormAnswer): Promise<void> {
  await pool(spec.changed, 8, (i) => notify(targets, token, payload(spec, i, 'change'), onAnswer));
}

/** What Slack shows now, counted against what the storm sent. */
export function countOutcome(slack: FakeSlack, spec: StormSpec, sentAt: ReadonlyMap<number, number>, affected: readonly string[], defaultChannel: string): StormOutcome {
  let lost = 0;
  let duplicated = 0;
  let wrongFinal = 0;
  let doubledReplies = 0;
  let awayFromChannel = 0;
  let excess = 0;
  const rankInChannel = new Map<string, number>();
  const defaultMessages = slack.messages(defaultChannel);
  for (let i = 0; i < spec.groups; i++) {
    const name = nameOf(i);
    const channel = channelOf(spec, i);
    const rank = rankInChannel.get(channel) ?? 0;
    rankInChannel.set(channel, rank + 1);
    const mine = slack.messages(channel).filter((m) => JSON.stringify([m.text, m.blocks]).includes(name));
    if (mine.length === 0) {
      lost += 1;
      if (channel !== defaultChannel && defaultMessages.some((m) => m.text.includes(name))) awayFromChannel += 1;
      continue;
    }
    duplicated += mine.length - 1;
    for (const message of mine) {
      const replies = slack.replies(channel, message.ts).map((reply) => reply.text);
      doubledReplies += replies.length - new Set(replies).size;
    }
    if (!mine.every((m) => m.text.startsWith(expectedStatus(spec, i)))) wrongFinal += 1;
    if (affected.includes(channel)) continue;
    const first = slack.calls.find(
      (c) => c.method === 'chat.postMessage' && c.status === 200 && c.params['channel'] === channel && c.params['thread_ts'] === undefined && String(c.params['text']).includes(name),
    );
    const sent = sentAt.get(i);
    if (first !== undefined && sent !== undefined) excess = Math.max(excess, first.at - sent - rank * 1000);
  }
  return { lost, duplicated, wrongFinal, doubledReplies, awayFromChannel, unaffectedFirstPostExcessMs: excess };
}

/** Waits until nothing is lost and every final state is right (or the time is up), then a little longer for late duplicates. */
export async function waitForOutcome(
  slack: FakeSlack,
  spec: StormSpec,
  sentAt: ReadonlyMap<number, number>,
  affected: readonly string[],
  defaultChannel: string,
  timeoutMs: number,
): Promise<StormOutcome> {
  await waitFor(
    'every storm group shown once with its final state',
    async () => {
      const outcome = countOutcome(slack, spec, sentAt, affected, defaultChannel);
      return outcome.lost === 0 && outcome.wrongFinal === 0 ? true : undefined;
    },
    timeoutMs,
    250,
  ).catch(() => undefined);
  // A duplicate from a late retry would show within a few seconds.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return countOutcome(slack, spec, sentAt, affected, defaultChannel);
}

/**
 * One notification to every target at once. Each answering 5xx is retried (Alertmanager does);
 * one that refuses the connection is down, which a replica pair tolerates as long as another
 * target took the notification. Resolves once some target answered 2xx.
 */
async function notify(targets: StormTargets, token: string, body: string, onAnswer?: OnStormAnswer): Promise<void> {
  const urls = typeof targets === 'string' ? [targets] : targets;
  const outcomes = await Promise.allSettled(urls.map((url) => post(url, token, body, onAnswer)));
  if (outcomes.some((outcome) => outcome.status === 'fulfilled')) return;
  const reasons = outcomes.map((outcome, i) => `${urls[i]}: ${outcome.status === 'rejected' ? String(outcome.reason) : ''}`);
  throw new Error(`no Lookout took the notification: ${reasons.join('; ')}`);
}

async function post(lookoutUrl: string, token: string, body: string, onAnswer?: OnStormAnswer): Promise<void> {
  const deadline = Date.now() + RETRY_5XX_FOR_MS;
  for (;;) {
    let res: Response;
    try {
      res = await fetch(`${lookoutUrl}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    } catch (error) {
      onAnswer?.(lookoutUrl, 'refused');
      throw error;
    }
    await res.arrayBuffer();
    onAnswer?.(lookoutUrl, res.status);
    if (res.ok) return;
    if (res.status < 500 || Date.now() > deadline) throw new Error(`POST ${lookoutUrl}/alertmanager answered ${res.status}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
