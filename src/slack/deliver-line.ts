import type { DeliveryDeps, DeliveryOf, Flight } from './delivery.ts';
import { fallbackLine } from './fallback-lines.ts';
import { noticeMarker } from './find-marked-message.ts';

/** A thread reply saying what changed: posted under the group's message, then removed from the queue. */
export async function deliverReply({ record, target }: DeliveryOf<'reply'>, flight: Flight, { store, calls }: DeliveryDeps): Promise<void> {
  if (record.messageTs === null) return;
  await calls.postLine({ channel: target, text: record.text, threadTs: record.messageTs }, flight);
  await store.removeReply(record.id);
}

/**
 * A notice (an audit line, a certificate digest); in the default channel, with the line naming its
 * own channel. Posted once: the intent is recorded first and the post carries a marker, so a post
 * whose outcome is unknown (a timeout, a crash before the row was removed) is looked up, not repeated.
 */
export async function deliverNotice({ record, target, fallbackFrom }: DeliveryOf<'notice'>, flight: Flight, { store, calls, fallback, now }: DeliveryDeps): Promise<void> {
  const marker = noticeMarker(record.id);
  if (record.postStartedAt !== null) {
    const found = await calls.lookUp({ kind: 'notice', where: { channel: target }, marker, intentAt: record.postStartedAt, groupKey: `notice ${record.id}` }, flight);
    if (flight.abandoned) return;
    if (found !== undefined) {
      await store.removeNotice(record.id);
      return;
    }
  }
  const text = fallbackFrom === undefined ? record.text : `${fallbackLine(fallbackFrom, fallback.reasonFor(fallbackFrom))}\n${record.text}`;
  await calls.post({ channel: target, text, marker }, () => store.startNoticePost(record.id, target, now()), { kind: 'notice', groupKey: `notice ${record.id}` }, flight);
  if (flight.abandoned) return;
  await store.removeNotice(record.id);
}
