import { createHash } from 'node:crypto';
import type { MessageMarker, SlackApi } from './slack-api.ts';

/** `event_type` of a group's top-level message and of its thread detail message. */
export const GROUP_MESSAGE_EVENT = 'lookout_alert_group';
export const DETAIL_MESSAGE_EVENT = 'lookout_alert_detail';
/** `event_type` of a notice (an audit line, a certificate digest). */
export const NOTICE_EVENT = 'lookout_notice';

/** Messages read per page, and pages at most, when looking for a marker: bounded, whatever the channel's traffic. */
const PAGE_SIZE = 200;
const MAX_PAGES = 5;

/**
 * The marker a post carries in Slack message metadata: which group episode it is for. The group
 * key is a digest (it can be long and holds label values); the episode is the store's group id,
 * unique per episode.
 */
export function markerFor(eventType: string, groupKey: string, episode: number): MessageMarker {
  return { eventType, payload: { group: createHash('sha256').update(groupKey).digest('hex').slice(0, 16), episode } };
}

/** A notice's marker: the store's notice id, unique for the life of the state file. */
export function noticeMarker(id: number): MessageMarker {
  return { eventType: NOTICE_EVENT, payload: { notice: id } };
}

export type LookupResult = { found: string } | { notFound: true; complete: boolean };

/**
 * Looks for a message carrying `marker` posted since `oldestMs` (in the channel, or in the thread
 * `threadTs`): at most MAX_PAGES pages of history, newest first. `complete: false` when the pages
 * ran out before `oldestMs` was reached: a very busy channel; the caller posts all the same.
 * Throws SlackCallError like any Slack call.
 */
export async function findMarkedMessage(
  slack: SlackApi,
  where: { channel: string; threadTs?: string },
  marker: MessageMarker,
  oldestMs: number,
  onPage: () => void = () => undefined,
): Promise<LookupResult> {
  const oldest = (Math.max(0, oldestMs) / 1000).toFixed(6);
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    onPage();
    const result = await slack.history({ ...where, oldest, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
    const hit = result.messages.find((message) => sameMarker(message.marker, marker));
    if (hit) return { found: hit.ts };
    if (result.nextCursor === undefined) return { notFound: true, complete: true };
    cursor = result.nextCursor;
  }
  return { notFound: true, complete: false };
}

function sameMarker(found: MessageMarker | undefined, wanted: MessageMarker): boolean {
  if (found === undefined || found.eventType !== wanted.eventType) return false;
  return Object.entries(wanted.payload).every(([key, value]) => String(found.payload[key]) === String(value));
}
