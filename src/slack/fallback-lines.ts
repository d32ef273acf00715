import type { RenderedMessage } from './delivery.ts';

/** Why Lookout cannot post in a channel, as the people in the default channel need to read it. */
const REASONS: Record<string, string> = {
  not_in_channel: 'Lookout is not a member of it',
  channel_not_found: 'it does not exist, or it is private and Lookout was not invited',
  is_archived: 'it is archived',
};

/** The line on an alert shown in the default channel instead of its own. */
export function fallbackLine(channel: string, reason: string | undefined): string {
  const why = (reason !== undefined ? REASONS[reason] : undefined) ?? 'Lookout cannot post there';
  return `:warning: This alert is meant for <#${channel}>, but ${why}. Invite Lookout there (\`/invite @Lookout\` in that channel); its alerts move there once Lookout can post.`;
}

/** The line on the default channel's copy once the alert is posted in its own channel. */
export function movedLine(channel: string): string {
  return `:arrow_right: Lookout can post in <#${channel}> now: this alert continues there, and this copy is no longer updated.`;
}

/** The message with `line` first, in the text and as a context block (within Slack's 50 blocks). */
export function withLine(message: RenderedMessage, line: string): RenderedMessage {
  return {
    text: `${line}\n${message.text}`,
    blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: line }] }, ...message.blocks.slice(0, 49)],
  };
}
