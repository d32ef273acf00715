import { z } from 'zod';
import type { Actor } from '../access/authorization.ts';

/**
 * The fields of Slack's interactivity payloads (block_actions, view_submission) that Lookout
 * uses, read from the signed request. Values, block ids and private_metadata come from the
 * person's Slack client and can be forged: handlers use them to find server-side state, never
 * as the state.
 */

/** A click on a button in a message (an alert message or an ephemeral reply). */
export interface ButtonClick {
  actor: Actor;
  actionId: string;
  /** The button's value, as sent: a reference to check, never the thing to act on. */
  value: string | undefined;
  /** Where the clicked message is (container.channel_id, container.message_ts). */
  channelId: string;
  messageTs: string;
  /** The clicked message is an ephemeral reply shown only to the clicker. */
  ephemeral: boolean;
  /** Valid for 3 s and once: views.open must come before anything slow. */
  triggerId: string | undefined;
  /** For replies to the clicker; edits an ephemeral message the click came from. */
  responseUrl: string | undefined;
}

/** A modal's submit button. */
export interface ViewSubmission {
  actor: Actor;
  callbackId: string;
  /** Lookout's reference to its server-side state for this modal. */
  privateMetadata: string;
  /** view.state.values: block_id → action_id → the input's state. */
  values: ViewValues;
}

export type ViewValues = Record<string, Record<string, ViewInputState>>;

export interface ViewInputState {
  type: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  /** Checkboxes. */
  selected_options?: Array<{ value: string }> | null;
}

const slackUserId = /^[UW][A-Z0-9]{2,}$/;

// user.team_id is the clicker's own team (on Enterprise Grid, the organisation's E… id);
// team is where the click happened, read only when Slack leaves user.team_id out.
const person = {
  user: z.object({ id: z.string().regex(slackUserId), username: z.string().optional(), name: z.string().optional(), team_id: z.string().min(1).optional() }),
  team: z.object({ id: z.string().min(1), enterprise_id: z.string().min(1).optional() }).nullish(),
  enterprise: z.object({ id: z.string().min(1) }).nullish(),
};

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  ...person,
  container: z.object({ type: z.literal('message'), channel_id: z.string().min(1), message_ts: z.string().min(1), is_ephemeral: z.boolean().optional() }),
  trigger_id: z.string().min(1).optional(),
  response_url: z.string().url().optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

const inputState = z.object({
  type: z.string(),
  value: z.string().nullish(),
  selected_option: z.object({ value: z.string() }).nullish(),
  selected_options: z.array(z.object({ value: z.string() })).nullish(),
});

const viewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  ...person,
  view: z.object({
    callback_id: z.string(),
    private_metadata: z.string(),
    state: z.object({ values: z.record(z.string(), z.record(z.string(), inputState)) }),
  }),
});

function actorOf({ user, team, enterprise }: z.infer<typeof blockActionsSchema> | z.infer<typeof viewSubmissionSchema>): Actor {
  const teamId = user.team_id ?? team?.id;
  const enterpriseId = team?.enterprise_id ?? enterprise?.id;
  return {
    slackUserId: user.id,
    slackUserName: user.username ?? user.name ?? user.id,
    ...(teamId !== undefined ? { teamId } : {}),
    ...(enterpriseId !== undefined ? { enterpriseId } : {}),
  };
}

/**
 * A click on the button `actionId` in a message.
 * @returns undefined when the payload is not a click on that button in a message.
 */
export function parseButtonClick(payload: unknown, actionId: string | RegExp): ButtonClick | undefined {
  const parsed = blockActionsSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  const action = parsed.data.actions.find((candidate) => (typeof actionId === 'string' ? candidate.action_id === actionId : actionId.test(candidate.action_id)));
  if (action === undefined) return undefined;
  const { container, trigger_id: triggerId, response_url: responseUrl } = parsed.data;
  return {
    actor: actorOf(parsed.data),
    actionId: action.action_id,
    value: action.value,
    channelId: container.channel_id,
    messageTs: container.message_ts,
    ephemeral: container.is_ephemeral === true,
    triggerId,
    responseUrl,
  };
}

/** @returns undefined when the payload is not a view_submission. */
export function parseViewSubmission(payload: unknown): ViewSubmission | undefined {
  const parsed = viewSubmissionSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  const { view } = parsed.data;
  return { actor: actorOf(parsed.data), callbackId: view.callback_id, privateMetadata: view.private_metadata, values: view.state.values as ViewValues };
}
