import { isFiring, type SilenceMark } from './group-state.ts';
import type { AsyncEngine } from '../src/state/store.ts';

/*
 * The writes of a silence made from Slack, each checked and written in one transaction: the
 * group's message starts or stops saying "silenced by … until …", with a thread reply. Named
 * transactions of the store (src/state/store-transactions.ts), run where the connection lives.
 */

type GroupWrites = Pick<AsyncEngine, 'transaction' | 'groupById' | 'updateGroupState' | 'addReply'>;

export interface MarkSilencedRequest {
  /** The group the click was checked against before the access review. */
  groupId: number;
  mark: SilenceMark;
  at: number;
  /** Only if the group shows no silence yet (the reconciler: one made from Slack meanwhile is kept). */
  unlessSilenced?: boolean;
}

/**
 * Shows the silence on the group while it still fires (the action's own thread reply says who
 * silenced what). A group episode keeps its message, so its id is enough to find it.
 * @returns whether it did (a message edit is queued).
 */
export function markGroupSilenced(store: GroupWrites, { groupId, mark, at, unlessSilenced = false }: MarkSilencedRequest): Promise<boolean> {
  return store.transaction(async () => {
    const current = await store.groupById(groupId);
    if (current === undefined || !isFiring(current.state)) return false;
    if (unlessSilenced && current.state.silenced !== undefined) return false;
    await store.updateGroupState(current.id, { ...current.state, silenced: mark }, at);
    return true;
  });
}

export interface ClearSilenceRequest {
  groupId: number;
  /** Only this silence is cleared: a newer one on the same group stays. */
  silenceId: string;
  reply: string;
  at: number;
}

/** Stops showing the silence. @returns whether the group still showed it. */
export function clearGroupSilence(store: GroupWrites, { groupId, silenceId, reply, at }: ClearSilenceRequest): Promise<boolean> {
  return store.transaction(async () => {
    const current = await store.groupById(groupId);
    if (current?.state.silenced?.silenceId !== silenceId) return false;
    const { silenced: _ended, ...state } = current.state;
    await store.updateGroupState(current.id, state, at);
    await store.addReply(current.id, reply, at);
    return true;
  });
}

export interface ExtendSilenceRequest {
  groupId: number;
  silenceId: string;
  /** The silence's new end (ISO 8601). */
  until: string;
  at: number;
}

/** Shows a later end of the same silence (extended in Alertmanager's UI). */
export function extendGroupSilence(store: GroupWrites, { groupId, silenceId, until, at }: ExtendSilenceRequest): Promise<boolean> {
  return store.transaction(async () => {
    const current = await store.groupById(groupId);
    const mark = current?.state.silenced;
    if (current === undefined || mark?.silenceId !== silenceId || mark.until === until) return false;
    await store.updateGroupState(current.id, { ...current.state, silenced: { ...mark, until } }, at);
    return true;
  });
}
