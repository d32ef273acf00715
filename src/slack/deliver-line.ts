import type { DeliveryDeps, DeliveryOf, Flight } from './delivery.ts';
import { fallbackLine } from './fallback-lines.ts';

/** A thread reply saying what changed: posted under the group's message, then removed from the queue. */
export async function deliverReply({ record, target }: DeliveryOf<'reply'>, flight: Flight, { store, calls }: DeliveryDeps): Promise<void> {
  if (record.messageTs === null) return;
  await calls.postLine({ channel: target, text: record.text, threadTs: record.messageTs }, flight);
  await store.removeReply(record.id);
}

/** A notice (an audit line); in the default channel, with the line naming its own channel. */
export async function deliverNotice({ record, target, fallbackFrom }: DeliveryOf<'notice'>, flight: Flight, { store, calls, fallback }: DeliveryDeps): Promise<void> {
  const text = fallbackFrom === undefined ? record.text : `${fallbackLine(fallbackFrom, fallback.reasonFor(fallbackFrom))}\n${record.text}`;
  await calls.postLine({ channel: target, text }, flight);
  await store.removeNotice(record.id);
}
