import type { GroupRecord } from '../state/store.ts';
import type { DeliveryDeps, DeliveryOf, Flight, RenderedMessage } from './delivery.ts';
import { fallbackLine, movedLine, withLine } from './fallback-lines.ts';
import { GROUP_MESSAGE_EVENT, markerFor } from './find-marked-message.ts';

/**
 * Posts a group's message (after looking for an earlier post whose outcome is unknown) or edits
 * it where it lives; in the default channel it carries the line naming its own channel.
 */
export async function deliverGroupMessage(delivery: DeliveryOf<'message'>, flight: Flight, deps: DeliveryDeps): Promise<void> {
  const { store, calls, fallback, render, metrics, now, onMessageShown } = deps;
  const { record, target } = delivery;
  const rendered = render(record.state, record);
  const awayFrom = delivery.fallbackFrom ?? (record.messageChannel !== null && record.messageTs !== null ? record.channel : undefined);
  const message = awayFrom === undefined ? rendered : withLine(rendered, fallbackLine(awayFrom, fallback.reasonFor(awayFrom)));

  if (record.messageTs !== null) {
    const messageTs = record.messageTs;
    await calls.update(
      (withBlocks) => ({ channel: target, ts: messageTs, text: message.text, ...(withBlocks ? { blocks: message.blocks } : {}) }),
      { kind: 'message', groupKey: record.groupKey },
      flight,
    );
    if (flight.abandoned) return;
    await store.markMessageDelivered(record.id, messageTs, record.version);
    metrics.deliveryLatency.observe(Math.max(0, now() - record.changedAt) / 1000);
    onMessageShown(record, target);
    return;
  }

  const posted = await findOrPost(record, target, message, record.postStartedAt !== null, flight, deps);
  if (posted === undefined) return;
  // A found post shows some earlier version: recorded as showing none, so the next delivery edits it to the latest.
  await store.recordMessagePosted(record.id, posted.ts, target, posted.found ? 0 : record.version);
  if (!posted.found) {
    metrics.deliveryLatency.observe(Math.max(0, now() - record.changedAt) / 1000);
    onMessageShown(record, target);
  }
}

/** Posts a message that lives in the default channel in its own channel, then marks the old copy. */
export async function moveGroupMessage(delivery: DeliveryOf<'move'>, flight: Flight, deps: DeliveryDeps): Promise<void> {
  const { store, calls, render, log } = deps;
  const { record, target } = delivery;
  const rendered = render(record.state, record);
  const posted = await findOrPost(record, target, rendered, record.postStartedAt !== null && record.postChannel === target, flight, deps);
  if (posted === undefined) return;
  await store.recordMessagePosted(record.id, posted.ts, target, posted.found ? 0 : record.version);
  log.info({ groupKey: record.groupKey, channel: target }, 'Lookout can post in the channel again: the alert message moved there from the default channel');
  if (record.messageTs === null || record.messageChannel === null) return;
  // The copy in the default channel says where the alert went; if this fails, it only stays stale.
  try {
    const moved = withLine(rendered, movedLine(target));
    await calls.updateOnce({ channel: record.messageChannel, ts: record.messageTs, text: moved.text, blocks: moved.blocks }, flight);
  } catch (error) {
    log.warn({ err: error, groupKey: record.groupKey, channel: record.messageChannel }, 'could not mark the default channel\'s copy of a moved alert message');
  }
}

/**
 * The group's message in `target`: the post an earlier attempt with an unknown outcome left there
 * (looked for when `lookUpFirst`), or else a new post, its intent recorded first. undefined when
 * the delivery was abandoned at its deadline meanwhile: nothing may be recorded then.
 */
async function findOrPost(
  record: GroupRecord,
  target: string,
  message: RenderedMessage,
  lookUpFirst: boolean,
  flight: Flight,
  { store, calls, now }: DeliveryDeps,
): Promise<{ ts: string; found: boolean } | undefined> {
  const marker = markerFor(GROUP_MESSAGE_EVENT, record.groupKey, record.id);
  if (lookUpFirst && record.postStartedAt !== null) {
    const found = await calls.lookUp({ kind: 'message', where: { channel: target }, marker, intentAt: record.postStartedAt, groupKey: record.groupKey }, flight);
    if (flight.abandoned) return undefined;
    if (found !== undefined) return { ts: found, found: true };
  }
  const ts = await calls.post(
    { channel: target, text: message.text, blocks: message.blocks, marker },
    () => store.startMessagePost(record.id, target, now()),
    { kind: 'message', groupKey: record.groupKey },
    flight,
  );
  return flight.abandoned ? undefined : { ts, found: false };
}
