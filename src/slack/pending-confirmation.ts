import { z } from 'zod';
import type { CommandReply, Confirmation } from '../../commands/command.ts';
import type { KubeIdentity } from '../identity/resolve-identity.ts';

/**
 * A typed command whose question was shown and not yet answered, as the store keeps it: data
 * only (a closure cannot be stored), so that any replica can take the Confirm click. At the click
 * the command is planned again from these words for this person, and acts only if it would ask
 * exactly what the person saw (src/slack/dispatcher.ts, docs/architecture.md "Confirmations").
 */
export const pendingConfirmationSchema = z.object({
  /** The command's name and its words as typed. */
  command: z.string(),
  words: z.array(z.string()),
  actor: z.object({ slackUserId: z.string(), slackUserName: z.string(), teamId: z.string().optional(), enterpriseId: z.string().optional() }),
  channelId: z.string(),
  /** Who the person was in Kubernetes when asked (gated commands): acting as someone else is a change too. */
  identity: z.object({ username: z.string(), groups: z.array(z.string()) }).optional(),
  /** The reply text and the confirm dialog the person saw: what their click confirms. */
  shown: z.object({
    text: z.string(),
    title: z.string(),
    question: z.string(),
    confirmLabel: z.string(),
    style: z.enum(['danger', 'primary']).optional(),
  }),
});

export type PendingConfirmation = z.infer<typeof pendingConfirmationSchema>;
type Shown = PendingConfirmation['shown'];
type StoredIdentity = NonNullable<PendingConfirmation['identity']>;

/** Who may answer a confirmation: the person who typed the command, in the channel they typed it in. */
export function confirmationOwner(slackUserId: string, channelId: string): string {
  return `${slackUserId}:${channelId}`;
}

/**
 * What the person sees of a question. The reply text is part of it: a confirm dialog holds 300
 * characters and is clipped (a rotation's list of consumers), while the text shows everything
 * the command will do, so two different actions cannot look the same.
 */
export function shownOf(reply: CommandReply & { confirm: Confirmation }): Shown {
  const { title, question, confirmLabel, style } = reply.confirm;
  return { text: reply.text, title, question, confirmLabel, ...(style !== undefined ? { style } : {}) };
}

/** The identity as stored: groups in a fixed order, so the same groups compare equal. */
export function storedIdentity(identity: KubeIdentity | undefined): StoredIdentity | undefined {
  return identity === undefined ? undefined : { username: identity.username, groups: [...identity.groups].sort() };
}

/** Whether planning again asks exactly what the person saw, as the same Kubernetes identity. */
export function sameConfirmation(asked: PendingConfirmation, now: { shown: Shown; identity: StoredIdentity | undefined }): boolean {
  return sameShown(asked.shown, now.shown) && sameIdentity(asked.identity, now.identity);
}

function sameShown(a: Shown, b: Shown): boolean {
  return a.text === b.text && a.title === b.title && a.question === b.question && a.confirmLabel === b.confirmLabel && a.style === b.style;
}

function sameIdentity(a: StoredIdentity | undefined, b: StoredIdentity | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.username === b.username && a.groups.length === b.groups.length && a.groups.every((group, index) => group === b.groups[index]);
}
