import type { AcknowledgementChange, AsyncEngine, GroupRecord } from '../src/state/store.ts';

/** The click's group is not (or no longer) the message's: deleted by retention since, say. */
export const NOT_THIS_MESSAGE = 'This button does not belong to this message, so Lookout did nothing.';

/** Why there is nothing to acknowledge, or undefined when there is. */
export function notAcknowledgeable(record: GroupRecord): string | undefined {
  const { acknowledged } = record.state;
  if (acknowledged !== undefined) return `Already acknowledged by <@${acknowledged.by}>.`;
  if (!record.state.alerts.some((alert) => alert.status === 'firing')) return 'Every alert of this group has resolved; there is nothing to acknowledge.';
  return undefined;
}

/** Why there is no acknowledgement to withdraw, or undefined when there is. */
export function notUnacknowledgeable(record: GroupRecord): string | undefined {
  if (record.state.acknowledged === undefined) return 'This group is not acknowledged (someone may have withdrawn it already).';
  if (!record.state.alerts.some((alert) => alert.status === 'firing')) return 'Every alert of this group has resolved; the acknowledgement stays as it was.';
  return undefined;
}

/**
 * Acknowledge (or withdraw it) if the group is still as the click saw it, a named transaction
 * (src/state/store-transactions.ts): the check and the write in one transaction, so two people
 * clicking at once cannot both change it. Queues the message edit (a new version) and the thread reply.
 * @returns undefined when changed, else why not (a text for the person who clicked).
 */
export function changeAcknowledgement(store: AsyncEngine, { groupId, acknowledge, by, at }: AcknowledgementChange): Promise<string | undefined> {
  return store.transaction(async () => {
    const current = await store.groupById(groupId);
    if (current === undefined) return NOT_THIS_MESSAGE;
    const reason = acknowledge ? notAcknowledgeable(current) : notUnacknowledgeable(current);
    if (reason !== undefined) return reason;
    const { acknowledged: _withdrawn, ...rest } = current.state;
    const state = acknowledge ? { ...current.state, acknowledged: { by, at: new Date(at).toISOString() } } : rest;
    await store.updateGroupState(current.id, state, at);
    await store.addReply(current.id, acknowledge ? `✋ Acknowledged by <@${by}>` : `↩️ Acknowledgement withdrawn by <@${by}>`, at);
    return undefined;
  });
}
