import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { findMarkedMessage } from './find-marked-message.ts';
import { SlackCallError, type MessageMarker, type SlackApi } from './slack-api.ts';

/** Look for a marked post from this long before the intent was recorded: clocks of Slack and Lookout differ. */
const LOOKUP_MARGIN_MS = 60_000;

export interface UnknownPost {
  kind: 'message' | 'detail' | 'notice';
  /** Where the post went: the channel, or the thread of the group's message. */
  where: { channel: string; threadTs?: string };
  marker: MessageMarker;
  /** When the intent to post was recorded. */
  intentAt: number;
  groupKey: string;
}

/**
 * Looks for a marked post from an attempt whose outcome is unknown: its ts when Slack has it.
 * A history read Slack refuses for good (a missing scope, say) cannot be allowed to hold the
 * alert forever: it is logged and the caller posts. `onPage` runs before each page is read
 * (pacing; it may throw to stop the lookup).
 */
export async function lookUpUnknownPost(
  { slack, metrics, log }: { slack: SlackApi; metrics: Metrics; log: Logger },
  { kind, where, marker, intentAt, groupKey }: UnknownPost,
  onPage: () => void,
): Promise<string | undefined> {
  try {
    const result = await findMarkedMessage(slack, where, marker, intentAt - LOOKUP_MARGIN_MS, onPage);
    if ('found' in result) {
      metrics.outboxLookups.inc({ kind, outcome: 'found' });
      log.warn({ kind, groupKey, channel: where.channel }, 'a post whose outcome was unknown is in Slack: adopting it instead of posting again');
      return result.found;
    }
    metrics.outboxLookups.inc({ kind, outcome: 'not_found' });
    if (!result.complete) log.warn({ kind, groupKey, channel: where.channel }, 'a post whose outcome was unknown was not found in the pages read (a very busy channel); posting');
    return undefined;
  } catch (error) {
    if (!(error instanceof SlackCallError) || (error.failure.kind !== 'permanent' && error.failure.kind !== 'channel')) throw error;
    metrics.outboxLookups.inc({ kind, outcome: 'error' });
    log.error(
      { kind, groupKey, channel: where.channel, reason: error.failure.reason },
      'cannot read the channel history to look for a post whose outcome is unknown (is the channels:history / groups:history scope granted?); posting, which may duplicate it',
    );
    return undefined;
  }
}
