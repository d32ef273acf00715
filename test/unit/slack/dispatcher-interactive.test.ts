import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnyCommand, CommandReply } from '../../../commands/command.ts';
import { NotFound } from '../../../src/errors.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import {
  CANCEL_ACTION_ID,
  CONFIRMATION_GONE,
  CONFIRM_ACTION_ID,
  createConfirmationButtons,
  createSlashCommandHandler,
  type CommandInteractivity,
  CONFIRMATION_UNREADABLE,
  type DispatcherDeps,
} from '../../../src/slack/dispatcher.ts';
import type { ButtonClick } from '../../../src/slack/interaction-payloads.ts';
import { pendingConfirmationSchema } from '../../../src/slack/pending-confirmation.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import type { Store } from '../../../src/state/store.ts';
import { FakeGate, FakeKubeHttp, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, recordingLogger } from '../../helpers/fakes.ts';
import { RecordingInteractionSlack, storedInteractions } from '../../helpers/interaction-fakes.ts';

const alice: KubeIdentity = { username: 'slack:alice', groups: ['slack:sre'], derivation: [] };
const bob: KubeIdentity = { username: 'slack:bob', groups: [], derivation: [] };
const SCALE = { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' };

/** What the fake command plans against: the workload's replicas, or none (deleted). */
interface World {
  replicas: number | undefined;
}

/**
 * A command that asks first when told to (`risky`: its question shows the replicas it would
 * remove), and acts at once otherwise, with progress. Planning again (`replanning`), a workload
 * already at 0 leaves nothing to ask and nothing to do.
 */
function command(acted: string[], world: World): AnyCommand {
  return {
    name: 'scale',
    summary: 'Scale',
    usage: '<mode>',
    args: z.array(z.string()).length(1).transform(([mode = '']) => ({ mode })),
    access: () => SCALE,
    target: () => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' }),
    auditReason: 'ScaledBySlackUser',
    async run({ args, replanning }): Promise<CommandReply> {
      if (world.replicas === undefined) throw new NotFound('Deployment shop/cart does not exist.');
      if (replanning === true && world.replicas === 0) return { text: 'shop/cart already has 0 replicas; nothing was changed.', auditDetail: 'already 0 replicas' };
      const act = async (): Promise<CommandReply> => {
        acted.push(args.mode);
        return {
          text: 'shop/cart: 2 → 0 replicas',
          auditDetail: 'replicas 2 → 0',
          followUp: async (progress) => {
            progress.update({ text: 'rolling out: 1/2 terminated' });
            return { text: 'shop/cart: 0 replicas, rollout complete' };
          },
        };
      };
      if (args.mode === 'risky') return { text: `Scale shop/cart from ${world.replicas} to 0?`, confirm: { title: 'Scale to 0', question: 'This stops every pod of shop/cart.', confirmLabel: 'Scale to 0', style: 'danger', run: act } };
      return act();
    },
  };
}

/** A store whose pending interactions fail while `down` is set (a database that cannot be reached). */
function faultyStore(): { store: Store; down: { value: boolean } } {
  const base = inProcessStore(new SqliteStore(':memory:'));
  const down = { value: false };
  const guard = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (down.value) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return call(...args);
  };
  return {
    down,
    store: {
      ...base,
      addPendingInteraction: guard(base.addPendingInteraction),
      peekPendingInteraction: guard(base.peekPendingInteraction),
      claimPendingInteraction: guard(base.claimPendingInteraction),
    },
  };
}

/** One Lookout's dispatcher; two over one store are two replicas. */
function setup(shared?: { store: Store; down: { value: boolean } }) {
  const acted: string[] = [];
  const world: World = { replicas: 2 };
  const { store, down } = shared ?? faultyStore();
  const gate = new FakeGate({ identities: { UALICE: alice, UBOB: bob } });
  const audit = new RecordingAuditTrail();
  const slack = new RecordingInteractionSlack();
  const { interactions: pending, live } = storedInteractions('confirmation', pendingConfirmationSchema, { store });
  const interactive: CommandInteractivity = { pending, slack, followUpIntervalMs: 0, signal: new AbortController().signal };
  const deps: DispatcherDeps & { interactive: CommandInteractivity } = {
    commands: [command(acted, world)],
    slashCommand: '/ops',
    log: recordingLogger().log,
    metrics: freshMetrics(),
    gate,
    audit,
    kube: new FakeKubeHttp(),
    interactive,
  };
  const handler = createSlashCommandHandler(deps);
  const [confirm, cancel] = createConfirmationButtons(deps);
  const replies: Array<{ text: string; blocks?: unknown[] }> = [];
  const type = (text: string, user = 'UALICE', channel = 'C1') =>
    handler({
      command: { command: '/ops', text, user_id: user, user_name: user.toLowerCase(), channel_id: channel, response_url: 'https://hooks.slack.com/commands/T/1/typed' },
      ack: async () => undefined,
      respond: async (reply) => void replies.push(reply),
    });
  const click = (actionId: string, value: string | undefined, overrides: Partial<ButtonClick> = {}): ButtonClick => ({
    actor: { slackUserId: 'UALICE', slackUserName: 'ualice' },
    actionId,
    value,
    channelId: 'C1',
    messageTs: '1700000000.000100',
    ephemeral: true,
    triggerId: undefined,
    responseUrl: 'https://hooks.slack.com/actions/T/1/click',
    ...overrides,
  });
  /** The pending id the question's Confirm button carries. */
  const questionId = (): string => {
    const actions = replies.at(-1)?.blocks?.find((block) => (block as { type: string }).type === 'actions') as { elements: Array<{ action_id: string; value: string }> };
    return actions.elements.find((element) => element.action_id === CONFIRM_ACTION_ID)!.value;
  };
  /** The pending id of the Confirm button in the last answer to a click (a question asked again). */
  const clickAnswerId = (): string => {
    const blocks = slack.responses.at(-1)?.body.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }> | undefined;
    return blocks?.find((block) => block.type === 'actions')?.elements?.find((element) => element.action_id === CONFIRM_ACTION_ID)?.value ?? '';
  };
  return { acted, world, gate, audit, slack, pending, live, store, down, type, click, confirm: confirm!, cancel: cancel!, replies, questionId, clickAnswerId };
}

describe('command replies with a confirmation', () => {
  it('asks first: Confirm (danger, with a confirm dialog) and Cancel carry only an id; nothing acts, nothing is audited yet', async () => {
    const { type, replies, acted, audit, gate, questionId } = setup();
    await type('scale risky');
    expect(acted).toEqual([]);
    expect(audit.entries).toEqual([]);
    // The access is reviewed when the command is typed, so a refusal comes before the question.
    expect(gate.reviews).toHaveLength(1);
    expect(replies[0]?.text).toBe('Scale shop/cart from 2 to 0?');
    const actions = replies[0]?.blocks?.at(-1);
    expect(actions).toMatchObject({
      type: 'actions',
      elements: [
        { action_id: CONFIRM_ACTION_ID, style: 'danger', confirm: { title: { text: 'Scale to 0' }, text: { text: 'This stops every pod of shop/cart.' }, confirm: { text: 'Scale to 0' }, deny: { text: 'Cancel' }, style: 'danger' } },
        { action_id: CANCEL_ACTION_ID },
      ],
    });
    expect(questionId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(replies[0])).not.toContain('risky');
  });

  it('Confirm by the same person reviews the access again, acts, audits, and replaces the question with the result and its progress', async () => {
    const { type, confirm, click, questionId, acted, gate, audit, slack } = setup();
    await type('scale risky');
    await confirm.handle(click(CONFIRM_ACTION_ID, questionId()));
    expect(acted).toEqual(['risky']);
    expect(gate.reviews).toHaveLength(2);
    expect(gate.reviews[1]?.attributes).toEqual(SCALE);
    expect(audit.entries).toEqual([expect.objectContaining({ action: 'scale', outcome: 'allowed', detail: 'replicas 2 → 0', reason: 'ScaledBySlackUser', identity: alice })]);
    expect(slack.responses.map((response) => [response.url, response.body.text, response.body.replace_original])).toEqual([
      ['https://hooks.slack.com/actions/T/1/click', 'shop/cart: 2 → 0 replicas', true],
      ['https://hooks.slack.com/actions/T/1/click', 'rolling out: 1/2 terminated', true],
      ['https://hooks.slack.com/actions/T/1/click', 'shop/cart: 0 replicas, rollout complete', true],
    ]);
  });

  it('a second Confirm click does nothing', async () => {
    const { type, confirm, click, questionId, acted } = setup();
    await type('scale risky');
    const id = questionId();
    await confirm.handle(click(CONFIRM_ACTION_ID, id));
    await confirm.handle(click(CONFIRM_ACTION_ID, id));
    expect(acted).toEqual(['risky']);
  });

  it.each([
    ['a forged id', { value: 'AAAAAAAAAAAAAAAAAAAAAA' }],
    ['another person', { actor: { slackUserId: 'UBOB', slackUserName: 'ubob' } }],
    ['another channel', { channelId: 'C2' }],
  ])('Confirm by %s is refused with no side effect, and leaves the question to its owner', async (_case, overrides) => {
    const { type, confirm, click, questionId, acted, audit, slack, pending } = setup();
    await type('scale risky');
    const id = questionId();
    await confirm.handle(click(CONFIRM_ACTION_ID, id, overrides as Partial<ButtonClick>));
    expect(acted).toEqual([]);
    expect(audit.entries).toEqual([]);
    expect(slack.responses).toEqual([{ url: 'https://hooks.slack.com/actions/T/1/click', body: { response_type: 'ephemeral', replace_original: false, text: CONFIRMATION_GONE } }]);
    expect(await pending.peek(id)).toBeDefined();
  });

  it('a permission revoked between the question and the click is refused at the click, audited, nothing done', async () => {
    const { type, confirm, click, questionId, acted, gate, audit, slack } = setup();
    await type('scale risky');
    gate.allow = () => false;
    await confirm.handle(click(CONFIRM_ACTION_ID, questionId()));
    expect(acted).toEqual([]);
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'denied', detail: expect.stringContaining('`update` on `deployments/scale.apps`') })]);
    expect(slack.responses[0]?.body.text).toContain('Not allowed');
  });

  it('Cancel forgets the question and says nothing changed; Confirm afterwards does nothing', async () => {
    const { type, confirm, cancel, click, questionId, acted, slack } = setup();
    await type('scale risky');
    const id = questionId();
    await cancel.handle(click(CANCEL_ACTION_ID, id));
    await confirm.handle(click(CONFIRM_ACTION_ID, id));
    expect(acted).toEqual([]);
    expect(slack.responses.map((response) => response.body.text)).toEqual(['Cancelled; nothing was changed.', CONFIRMATION_GONE]);
  });
});

describe('Confirm plans the command again and acts only on what the person saw', () => {
  it('the world changed (replicas moved): nothing is done, the new question is asked with new buttons, and its Confirm acts', async () => {
    const { type, confirm, click, questionId, clickAnswerId, acted, audit, slack, world } = setup();
    await type('scale risky');
    const asked = questionId();
    world.replicas = 5;
    await confirm.handle(click(CONFIRM_ACTION_ID, asked));
    expect(acted).toEqual([]);
    expect(audit.entries).toEqual([]);
    const answer = slack.responses.at(-1)!.body;
    expect(answer.text).toBe('What `scale risky` would do changed since you asked, so nothing was done. Now:\nScale shop/cart from 5 to 0?');
    expect(answer.replace_original).toBe(true);
    const again = clickAnswerId();
    expect(again).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(again).not.toBe(asked);
    // The old question is used up; the new one acts while the world stays as it now shows.
    await confirm.handle(click(CONFIRM_ACTION_ID, asked));
    expect(slack.responses.at(-1)?.body.text).toBe(CONFIRMATION_GONE);
    await confirm.handle(click(CONFIRM_ACTION_ID, again));
    expect(acted).toEqual(['risky']);
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'allowed', detail: 'replicas 2 → 0' })]);
  });

  it('the same person mapped to other Kubernetes groups since: asked again, nothing done', async () => {
    const { type, confirm, click, questionId, gate, acted, slack } = setup();
    await type('scale risky');
    gate.identities.UALICE = { ...alice, groups: ['slack:sre', 'slack:admins'] };
    await confirm.handle(click(CONFIRM_ACTION_ID, questionId()));
    expect(acted).toEqual([]);
    expect(slack.responses.at(-1)?.body.text).toContain('changed since you asked, so nothing was done');
  });

  it('the target is gone: the refusal is the answer, audited as failed, nothing done, no new question', async () => {
    const { type, confirm, click, questionId, acted, audit, slack, world } = setup();
    await type('scale risky');
    world.replicas = undefined;
    await confirm.handle(click(CONFIRM_ACTION_ID, questionId()));
    expect(acted).toEqual([]);
    expect(slack.responses.map((response) => response.body.text)).toEqual(['Deployment shop/cart does not exist.']);
    expect(slack.responses[0]?.body.blocks).toBeUndefined();
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'failed', detail: 'Deployment shop/cart does not exist.' })]);
  });

  it('nothing left to do now: says so and does nothing', async () => {
    const { type, confirm, click, questionId, acted, slack, world } = setup();
    await type('scale risky');
    world.replicas = 0;
    await confirm.handle(click(CONFIRM_ACTION_ID, questionId()));
    expect(acted).toEqual([]);
    expect(slack.responses.map((response) => response.body.text)).toEqual(['shop/cart already has 0 replicas; nothing was changed.']);
  });

  it('a question asked on one Lookout is confirmed on another sharing the store, once', async () => {
    const first = setup();
    const second = setup({ store: first.store, down: first.down });
    await first.type('scale risky');
    const id = first.questionId();
    await second.confirm.handle(second.click(CONFIRM_ACTION_ID, id));
    await first.confirm.handle(first.click(CONFIRM_ACTION_ID, id));
    expect(second.acted).toEqual(['risky']);
    expect(first.acted).toEqual([]);
    expect(second.audit.entries).toEqual([expect.objectContaining({ outcome: 'allowed', identity: alice })]);
    expect(first.slack.responses.map((response) => response.body.text)).toEqual([CONFIRMATION_GONE]);
  });

  it('a store that cannot be reached: the question says it cannot be confirmed; a click says nothing was done and can be retried', async () => {
    const { type, confirm, click, questionId, replies, acted, down, slack } = setup();
    down.value = true;
    await type('scale risky');
    expect(replies.at(-1)?.text).toMatch(/^Lookout could not keep this question in its store, so nothing will happen \(ref [0-9a-f]{8}\)/);
    expect(replies.at(-1)?.blocks).toBeUndefined();
    down.value = false;
    await type('scale risky');
    const id = questionId();
    down.value = true;
    await confirm.handle(click(CONFIRM_ACTION_ID, id));
    expect(slack.responses.at(-1)?.body.text).toBe(CONFIRMATION_UNREADABLE);
    down.value = false;
    await confirm.handle(click(CONFIRM_ACTION_ID, id));
    expect(acted).toEqual(['risky']);
  });
});

describe('command replies with a follow-up', () => {
  it('replies first, then edits the reply through its response_url, ending with the final state', async () => {
    const { type, replies, slack, audit } = setup();
    await type('scale now');
    expect(replies.map((reply) => reply.text)).toEqual(['shop/cart: 2 → 0 replicas']);
    expect(slack.responses.map((response) => [response.url, response.body.text, response.body.replace_original])).toEqual([
      ['https://hooks.slack.com/commands/T/1/typed', 'rolling out: 1/2 terminated', true],
      ['https://hooks.slack.com/commands/T/1/typed', 'shop/cart: 0 replicas, rollout complete', true],
    ]);
    expect(audit.entries).toHaveLength(1);
  });
});
