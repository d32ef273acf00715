import type { DeliveryDeps, DeliveryOf, Flight } from './delivery.ts';
import { DETAIL_MESSAGE_EVENT, markerFor } from './find-marked-message.ts';

/** Posted once in the group's thread, then edited in place: never a second detail message. */
export async function deliverDetail(delivery: DeliveryOf<'detail'>, flight: Flight, { store, calls, renderDetail, now }: DeliveryDeps): Promise<void> {
  const { record, target } = delivery;
  const message = renderDetail(record);
  if (message === undefined && record.messageTs === null) {
    // Nothing to show and nothing shown: this version needs no call.
    await store.abandonDetail(record.groupId, record.version);
    return;
  }
  const body = message ?? { text: 'No details.', blocks: [] };
  const blocksOf = (withBlocks: boolean) => (withBlocks && body.blocks.length > 0 ? { blocks: body.blocks } : {});
  if (record.messageTs !== null) {
    const messageTs = record.messageTs;
    await calls.update((withBlocks) => ({ channel: target, ts: messageTs, text: body.text, ...blocksOf(withBlocks) }), { kind: 'detail', groupKey: record.groupKey }, flight);
    if (flight.abandoned) return;
    await store.markDetailDelivered(record.groupId, messageTs, record.version);
    return;
  }
  const marker = markerFor(DETAIL_MESSAGE_EVENT, record.groupKey, record.groupId);
  if (record.postStartedAt !== null) {
    const found = await calls.lookUp(
      { kind: 'detail', where: { channel: target, threadTs: record.parentTs }, marker, intentAt: record.postStartedAt, groupKey: record.groupKey },
      flight,
    );
    if (flight.abandoned) return;
    if (found !== undefined) {
      // Version 0: it shows something older, so the next delivery edits it.
      await store.markDetailDelivered(record.groupId, found, 0);
      return;
    }
  }
  const ts = await calls.post(
    { channel: target, text: body.text, blocks: body.blocks, threadTs: record.parentTs, marker },
    () => store.startDetailPost(record.groupId, now()),
    { kind: 'detail', groupKey: record.groupKey },
    flight,
  );
  if (flight.abandoned) return;
  await store.markDetailDelivered(record.groupId, ts, record.version);
}
