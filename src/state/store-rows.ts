import type { GroupEnrichment } from '../../alerts/enrichers/enrichment.ts';
import type { GroupState } from '../../alerts/group-state.ts';
import type { DeliveryAttempts, DetailRecord, FiringGroup, GroupRecord, NoticeRecord, PendingEnrichment, PendingInteraction, ReplyRecord } from './store.ts';

/*
 * The store's rows as both engines read them (sqlite-store.ts, postgres-engine.ts): the same
 * columns under the same names, JSON kept as text, times as numbers (ms), turned into records here.
 */

/**
 * A delivery lane: a table whose rows the outbox delivers to Slack, each row with its own
 * retry columns (attempts, next_attempt_at, failing_since). Group messages and details are
 * versioned (posted_version catches up with version); replies and notices are deleted once sent.
 */
export interface Lane {
  table: 'groups' | 'replies' | 'notices' | 'details';
  /** The column the outbox names a row by: a detail row is keyed by its group's id. */
  key: 'id' | 'group_id';
}
export const MESSAGES: Lane = { table: 'groups', key: 'id' };
export const REPLIES: Lane = { table: 'replies', key: 'id' };
export const NOTICES: Lane = { table: 'notices', key: 'id' };
export const DETAILS: Lane = { table: 'details', key: 'group_id' };

export interface PendingRow {
  id: string;
  kind: string;
  owner: string;
  value: string;
  expires_at: number;
}

export function toPendingInteraction(row: PendingRow): PendingInteraction {
  return { id: row.id, kind: row.kind, owner: row.owner, value: JSON.parse(row.value) as unknown, expiresAt: row.expires_at };
}

export interface DetailRow {
  group_id: number;
  group_key: string;
  channel: string;
  parent_ts: string;
  message_ts: string | null;
  post_started_at: number | null;
  version: number;
  posted_version: number;
  state: string;
  enrichment: string | null;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
}

export interface GroupRow {
  id: number;
  group_key: string;
  channel: string;
  state: string;
  version: number;
  posted_version: number;
  message_ts: string | null;
  message_channel: string | null;
  post_started_at: number | null;
  post_channel: string | null;
  changed_at: number;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
  enrichment: string | null;
  enrich_pending: string | null;
  enrich_until: number | null;
}

export interface ReplyRow {
  id: number;
  group_id: number;
  channel: string;
  message_ts: string | null;
  text: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
}

export interface NoticeRow {
  id: number;
  channel: string;
  text: string;
  created_at: number;
  post_started_at: number | null;
  post_channel: string | null;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
}

export function attemptsOf(row: { attempts: number; next_attempt_at: number; failing_since: number | null }): DeliveryAttempts {
  return { attempts: row.attempts, nextAttemptAt: row.next_attempt_at, failingSince: row.failing_since };
}

/** Oldest first, across channels. */
export function byId(a: { id: number }, b: { id: number }): number {
  return a.id - b.id;
}

export function toGroup(row: GroupRow): GroupRecord {
  return {
    id: row.id,
    groupKey: row.group_key,
    channel: row.channel,
    state: JSON.parse(row.state) as GroupState,
    version: row.version,
    postedVersion: row.posted_version,
    messageTs: row.message_ts,
    messageChannel: row.message_channel ?? null,
    postStartedAt: row.post_started_at ?? null,
    postChannel: row.post_channel ?? null,
    changedAt: row.changed_at,
    delivery: attemptsOf(row),
    enrichment: parseEnrichment(row.enrichment),
    enrichUntil: row.enrich_until ?? null,
  };
}

export function parseEnrichment(json: string | null): GroupEnrichment {
  return json === null ? {} : (JSON.parse(json) as GroupEnrichment);
}

export function parsePending(json: string | null): PendingEnrichment {
  return json === null ? {} : (JSON.parse(json) as PendingEnrichment);
}

export function toDetail(row: DetailRow): DetailRecord {
  return {
    id: row.group_id,
    groupId: row.group_id,
    groupKey: row.group_key,
    channel: row.channel,
    parentTs: row.parent_ts,
    messageTs: row.message_ts,
    postStartedAt: row.post_started_at ?? null,
    version: row.version,
    postedVersion: row.posted_version,
    state: JSON.parse(row.state) as GroupState,
    enrichment: parseEnrichment(row.enrichment),
    delivery: attemptsOf(row),
  };
}

export function toReply(row: ReplyRow): ReplyRecord {
  return {
    id: row.id,
    groupId: row.group_id,
    channel: row.channel,
    messageTs: row.message_ts,
    text: row.text,
    createdAt: row.created_at,
    delivery: attemptsOf(row),
  };
}

export function toNotice(row: NoticeRow): NoticeRecord {
  return {
    id: row.id,
    channel: row.channel,
    text: row.text,
    createdAt: row.created_at,
    postStartedAt: row.post_started_at ?? null,
    postChannel: row.post_channel ?? null,
    delivery: attemptsOf(row),
  };
}

/** A group episode as the reconciler compares it (StoreEngine.firingGroups); undefined when none of its alerts fires. */
export function toFiringGroup(group: GroupRecord): FiringGroup | undefined {
  const alerts = group.state.alerts.filter((alert) => alert.status === 'firing').map(({ fingerprint, startsAt }) => ({ fingerprint, startsAt }));
  if (alerts.length === 0) return undefined;
  return { groupId: group.id, groupKey: group.groupKey, alerts, changedAt: group.changedAt, silenced: group.state.silenced !== undefined };
}
