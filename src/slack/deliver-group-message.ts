import type { DeliveryDeps, DeliveryOf, Flight } from './delivery.ts';
import { fallbackLine, movedLine, withLine } from './fallback-lines.ts';
import { GROUP_MESSAGE_EVENT, markerFor } from './find-marked-message.ts';

/**
 * Posts a group's message (after looking for an earlier post whose outcome is unknown) or edits
 * it where it lives; in the default channel it carries the line naming its own channel.
 */
export async function deliverGroupMessage(delivery: DeliveryOf<'message'>, flight: Flight, deps: DeliveryDeps): Promise<void> {
  const { store, calls, fallback, render, metrics, now } = deps;
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
    store.markMessageDelivered(record.id, messageTs, record.version);
    metrics.deliveryLatency.observe(Math.max(0, now() - record.changedAt) / 1000);
    return;
  }

  const marker = markerFor(GROUP_MESSAGE_EVENT, record.groupKey, record.id);
  if (record.postStartedAt !== null) {
    const found = await calls.lookUp({ kind: 'message', where: { channel: target }, marker, intentAt: record.postStartedAt, groupKey: record.groupKey }, flight);
    if (flight.abandoned) return;
    if (found !== undefined) {
      // Shows some earlier version: recorded as showing none, so the next delivery edits it to the latest.
      store.recordMessagePosted(record.id, found, target, 0);
      return;
    }
  }
  const ts = await calls.post(
    { channel: target, text: message.text, blocks: message.blocks, marker },
    () => store.startMessagePost(record.id, target, now()),
    { kind: 'message', groupKey: record.groupKey },
    flight,
  );
  if (flight.abandoned) return;
  store.recordMessagePosted(record.id, ts, target, record.version);
  metrics.deliveryLatency.observe(Math.max(0, now() - record.changedAt) / 1000);
}

/** Posts a message that lives in the default channel in its own channel, then marks the old copy. */
export async function moveGroupMessage(delivery: DeliveryOf<'move'>, flight: Flight, deps: DeliveryDeps): Promise<void> {
  const { store, calls, render, log, now } = deps;
  const { record, target } = delivery;
  const marker = markerFor(GROUP_MESSAGE_EVENT, record.groupKey, record.id);
  let ts: string | undefined;
  let version = record.version;
  if (record.postStartedAt !== null && record.postChannel === target) {
    ts = await calls.lookUp({ kind: 'message', where: { channel: target }, marker, intentAt: record.postStartedAt, groupKey: record.groupKey }, flight);
    if (flight.abandoned) return;
    // Found: it shows some earlier version, so the next delivery edits it.
    if (ts !== undefined) version = 0;
  }
  const rendered = render(record.state, record);
  if (ts === undefined) {
    ts = await calls.post(
      { channel: target, text: rendered.text, blocks: rendered.blocks, marker },
      () => store.startMessagePost(record.id, target, now()),
      { kind: 'message', groupKey: record.groupKey },
      flight,
    );
    if (flight.abandoned) return;
  }
  store.recordMessagePosted(record.id, ts, target, version);
  log.info({ groupKey: record.groupKey, channel: target }, 'Lookout can post in the channel again: the alert message moved there from the default channel');
  if (record.messageTs === null || record.messageChannel === null) return;
  // The copy in the default channel says where the alert went; if this fails, it only stays stale.
  try {
    const moved = withLine(rendered, movedLine(target));
    await calls.updateOnce({ channel: record.messageChannel, ts: record.messageTs, text: moved.text, blocks: moved.blocks });
  } catch (error) {
    log.warn({ err: error, groupKey: record.groupKey, channel: record.messageChannel }, 'could not mark the default channel\'s copy of a moved alert message');
  }
}
