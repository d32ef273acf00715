import { interactivityBody, signedSlackForm } from './sign-slack-request.ts';

/**
 * Interactivity payloads (button clicks, modal submissions) shaped like the examples in Slack's
 * interactivity documentation, and one way to send them signed. Tests and bench scenarios build
 * every click with these, so a change in what Lookout reads from a payload is made once.
 */

/** A Slack person as the payloads name them. */
export interface SlackPerson {
  id: string;
  name: string;
}

export interface ButtonClick {
  user: SlackPerson;
  /**
   * The message that holds the button. An ephemeral reply (`ephemeral: true`) has no message Slack
   * keeps, so only its `ts` is sent; a channel message also goes along whole, as Slack sends it.
   */
  message: { channel: string; ts: string; ephemeral?: boolean; text?: string; blocks?: unknown };
  button: { actionId: string; value: string; label?: string };
  /** From FakeSlack.issueTriggerId() when the click may open a modal; a dummy is used otherwise. */
  triggerId?: string;
  /** From FakeSlack.responseUrl(): where Lookout's respond() goes. */
  responseUrl: string;
  /** Channel name in the payload; Lookout reads only the id. */
  channelName?: string;
}

export interface ViewSubmission {
  user: SlackPerson;
  /** The modal as Lookout opened it: its callback_id and private_metadata come back unchanged. */
  view: { callbackId: string; privateMetadata: string; blocks?: unknown[]; title?: string };
  /** `state.values`: block_id → action_id → the input's state, e.g. `{ type: 'plain_text_input', value: '3' }`. */
  values: Record<string, Record<string, unknown>>;
  triggerId?: string;
}

const TEAM = { id: 'T0LOOKOUT', domain: 'lookout-test' } as const;
// Makes block_ids, action_ts and dummy trigger_ids unique within a test process, as Slack's are.
let sequence = 0;

function slackUser(user: SlackPerson) {
  return { id: user.id, username: user.name, name: user.name, team_id: TEAM.id };
}

function dummyTriggerId(n: number): string {
  return `${1_000_000_000 + n}.1000000000.0123456789abcdef0123456789abcdef`;
}

/** A `block_actions` payload: one button clicked. */
export function blockActionsPayload(click: ButtonClick): Record<string, unknown> {
  const n = ++sequence;
  const { message, button } = click;
  const ephemeral = message.ephemeral === true;
  return {
    type: 'block_actions',
    user: slackUser(click.user),
    api_app_id: 'A0LOOKOUT',
    // The deprecated verification token: still sent by Slack, never to be trusted by Lookout.
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: ephemeral },
    trigger_id: click.triggerId ?? dummyTriggerId(n),
    team: TEAM,
    channel: { id: message.channel, name: click.channelName ?? 'alerts' },
    ...(ephemeral ? {} : { message: { type: 'message', ts: message.ts, text: message.text ?? '', blocks: message.blocks ?? [] } }),
    response_url: click.responseUrl,
    actions: [
      {
        action_id: button.actionId,
        block_id: `b${n}`,
        text: { type: 'plain_text', text: button.label ?? button.actionId },
        value: button.value,
        type: 'button',
        action_ts: `${Math.floor(Date.now() / 1000)}.${String(n).padStart(6, '0')}`,
      },
    ],
  };
}

/** A `view_submission` payload: a modal's Submit. */
export function viewSubmissionPayload(submission: ViewSubmission): Record<string, unknown> {
  const n = ++sequence;
  const { view } = submission;
  return {
    type: 'view_submission',
    team: TEAM,
    user: slackUser(submission.user),
    api_app_id: 'A0LOOKOUT',
    token: 'deprecated-verification-token',
    trigger_id: submission.triggerId ?? dummyTriggerId(n),
    view: {
      id: `V${String(n).padStart(8, '0')}`,
      team_id: TEAM.id,
      type: 'modal',
      blocks: view.blocks ?? [],
      private_metadata: view.privateMetadata,
      callback_id: view.callbackId,
      state: { values: submission.values },
      hash: `156772938.${n}`,
      title: { type: 'plain_text', text: view.title ?? 'Lookout' },
    },
    response_urls: [],
  };
}

/** POSTs an interactivity payload to Lookout's `/slack/events`, signed as Slack signs it now. */
export async function postSignedInteraction(lookoutUrl: string, signingSecret: string, payload: unknown): Promise<Response> {
  const request = signedSlackForm(signingSecret, interactivityBody(payload), Date.now() / 1000);
  return fetch(`${lookoutUrl}/slack/events`, { method: 'POST', headers: { ...request.headers }, body: request.body });
}
