import type { AlertmanagerPayload } from '../../alerts/payload.ts';
import type { GroupState } from '../../alerts/group-state.ts';
import type { GroupEnrichment } from '../../alerts/enrichers/enrichment.ts';

/**
 * Lookout's durable state behind one small interface. The default is embedded SQLite
 * (sqlite-store.ts); the SQL stays portable so a PostgreSQL store can implement the same
 * interface when Lookout runs as several replicas.
 */

/** A webhook payload accepted (answered 2xx) but not yet folded into its group. */
export interface StoredNotification {
  id: number;
  receivedAt: number;
  payload: AlertmanagerPayload;
}

/** One episode of one Alertmanager group in one channel, and its Slack message. */
export interface GroupRecord {
  id: number;
  groupKey: string;
  channel: string;
  state: GroupState;
  /** Bumped on every change of state; Slack is in sync when postedVersion === version. */
  version: number;
  postedVersion: number;
  /** Slack's ts of the group's message, once posted. */
  messageTs: string | null;
  /**
   * Where the message actually lives when that is not `channel`: the default channel, while
   * Lookout cannot post in `channel` (not invited, archived…). null: in `channel`.
   */
  messageChannel: string | null;
  /**
   * A post of this group's message was started (durably, before chat.postMessage) and its outcome
   * is not recorded: before posting again, the outbox looks for it in `postChannel`'s history.
   */
  postStartedAt: number | null;
  postChannel: string | null;
  /** When the notification behind the current version arrived (for delivery latency). */
  changedAt: number;
  delivery: DeliveryAttempts;
  /** What the enrichment sources found, by alert fingerprint; {} until something is found. */
  enrichment: GroupEnrichment;
  /**
   * The first post waits for enrichment until this time (ms) at the latest; null once enrichment
   * released it (or when nothing is enriched). Durable, so a crash mid-enrichment delays nothing.
   */
  enrichUntil: number | null;
}

/** Alerts of a group waiting to be enriched: fingerprint → the startsAt of the occurrence. */
export type PendingEnrichment = Record<string, string>;

/** A group with alerts to enrich (see Store.groupsAwaitingEnrichment). */
export interface EnrichmentWork {
  group: GroupRecord;
  pending: PendingEnrichment;
}

/** What the enrichment pipeline writes back about a group, in one transaction. */
export interface EnrichmentUpdate {
  enrichment: GroupEnrichment;
  /**
   * Queued alerts this write completes; removed from the queue unless a newer occurrence
   * (another startsAt) was queued meanwhile. {} for an interim write.
   */
  handled: PendingEnrichment;
  /** Let the first post go now (enrichment finished, or its budget ran out). */
  releaseFirstPost: boolean;
  /** The main message shows something new: bump the version so the outbox edits it. */
  messageChanged: boolean;
  /** The thread detail message shows something new: post it, or edit it. */
  detailChanged: boolean;
}

/**
 * The group's one thread "detail" message (events, log excerpts), rendered from the group's
 * enrichment at send time: posted once under the group's message, then edited, never re-posted.
 */
export interface DetailRecord {
  /** The same as groupId: a group has at most one detail message. */
  id: number;
  groupId: number;
  groupKey: string;
  channel: string;
  /** The group message it is threaded under. */
  parentTs: string;
  /** Slack's ts of the detail message once posted. */
  messageTs: string | null;
  /** A post of the detail message started and its outcome is unknown (see GroupRecord.postStartedAt). */
  postStartedAt: number | null;
  version: number;
  postedVersion: number;
  state: GroupState;
  enrichment: GroupEnrichment;
  delivery: DeliveryAttempts;
}

/** A thread reply under a group's message saying what changed. */
export interface ReplyRecord {
  id: number;
  groupId: number;
  channel: string;
  messageTs: string | null;
  text: string;
  createdAt: number;
  delivery: DeliveryAttempts;
}

/**
 * A standalone message for a channel, not tied to an alert group: the audit channel's lines.
 * Delivered by the outbox under the same per-channel rate, 429 and backoff rules as alerts.
 */
export interface NoticeRecord {
  id: number;
  channel: string;
  text: string;
  createdAt: number;
  delivery: DeliveryAttempts;
}

export interface DeliveryAttempts {
  attempts: number;
  nextAttemptAt: number;
  /** When the first failure of the current run of failures happened; null while healthy. */
  failingSince: number | null;
}

export interface OutboxDepth {
  messages: number;
  replies: number;
}

export interface Store {
  /** Runs fn in one transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;

  addNotification(payload: AlertmanagerPayload, receivedAt: number): number;
  /** Oldest first. */
  pendingNotifications(limit: number): StoredNotification[];
  deleteNotification(id: number): void;

  /** The newest episode of a group, whatever its channel. */
  latestGroup(groupKey: string): GroupRecord | undefined;
  addGroup(groupKey: string, channel: string, state: GroupState, changedAt: number): number;
  updateGroupState(id: number, state: GroupState, changedAt: number): void;
  addReply(groupId: number, text: string, createdAt: number): void;

  /**
   * For each channel, the message to deliver next: due now, Slack copy behind, new posts
   * before edits, oldest first. At most one per channel, so a storm costs one row a channel.
   */
  nextMessagePerChannel(now: number): GroupRecord[];
  /** For each channel, the oldest due reply whose parent message exists in Slack. */
  nextReplyPerChannel(now: number): ReplyRecord[];
  /** Earliest time anything pending becomes due, or null when the outbox is empty. */
  nextDueAt(): number | null;
  markMessageDelivered(id: number, messageTs: string, version: number): void;
  /**
   * Before chat.postMessage: record that a post to `channel` starts now, so that an unknown outcome
   * (timeout, crash, a failed write of the answer) is looked up rather than posted again.
   * A failure of this write must stop the post.
   */
  startMessagePost(id: number, channel: string, at: number): void;
  /** The post is known not to have happened (Slack answered ok:false or 429): no lookup needed. */
  clearMessagePost(id: number): void;
  /**
   * The group's message was posted (or found by its marker) in `channel`: record where it lives.
   * `version` is what it shows, or 0 when found (unknown: the next delivery edits it).
   */
  recordMessagePosted(id: number, messageTs: string, channel: string, version: number): void;
  /** Groups whose message lives outside its own channel (see GroupRecord.messageChannel), oldest first. */
  groupsAwayFromChannel(channel: string, limit: number): GroupRecord[];
  /** Channels with group messages living elsewhere. */
  channelsWithMessagesAway(): string[];
  /** Stop trying to deliver this version (after a permanent error). */
  abandonMessage(id: number, version: number): void;
  /** Forget the Slack message (deleted by someone) so the next delivery posts afresh. */
  forgetMessage(id: number): void;
  deferMessage(id: number, delivery: DeliveryAttempts): void;
  /** Delivered, or abandoned. */
  removeReply(id: number): void;
  deferReply(id: number, delivery: DeliveryAttempts): void;
  outboxDepth(): OutboxDepth;

  /** The Slack message of this record, for buttons: found from where the click came from. */
  groupByMessage(channel: string, messageTs: string): GroupRecord | undefined;

  /** Queue a standalone message (the notices lane); durable like every other delivery. */
  addNotice(channel: string, text: string, createdAt: number): number;
  /** For each channel, the oldest due notice. */
  nextNoticePerChannel(now: number): NoticeRecord[];
  /** Delivered, or abandoned. */
  removeNotice(id: number): void;
  deferNotice(id: number, delivery: DeliveryAttempts): void;
  /** Notices waiting to be delivered. */
  pendingNotices(): number;

  /** The group episode with this id. */
  groupById(id: number): GroupRecord | undefined;
  /**
   * Firing group episodes whose message shows a silence made from Slack (state.silenced), so the
   * silence watcher (src/silence-expiry.ts) can clear them when it ends. Read once at start.
   */
  silencedGroups(): GroupRecord[];
  /**
   * Queue alerts of a group for enrichment (merged with what is already queued). When the group
   * is not posted yet and holds no deadline, its first post waits until `holdFirstPostUntil`.
   */
  requestEnrichment(groupId: number, alerts: PendingEnrichment, holdFirstPostUntil: number | null): void;
  /** Groups with alerts queued for enrichment, oldest first. */
  groupsAwaitingEnrichment(limit: number): EnrichmentWork[];
  saveEnrichment(groupId: number, update: EnrichmentUpdate): void;
  /** For each channel, the detail message to deliver next, once its parent message exists. */
  nextDetailPerChannel(now: number): DetailRecord[];
  markDetailDelivered(groupId: number, messageTs: string, version: number): void;
  /** Like startMessagePost, for the group's thread detail message. */
  startDetailPost(groupId: number, at: number): void;
  clearDetailPost(groupId: number): void;
  abandonDetail(groupId: number, version: number): void;
  /** The detail message was deleted in Slack: post it afresh. */
  forgetDetail(groupId: number): void;
  deferDetail(groupId: number, delivery: DeliveryAttempts): void;

  /**
   * Retention: deletes at most `limit` group episodes that resolved before `resolvedBefore` (ms)
   * and that Slack is in sync with, with their replies and detail messages, in one transaction.
   * @returns how many episodes it deleted; fewer than `limit` means none are left to delete.
   */
  pruneResolvedGroups(resolvedBefore: number, limit: number): number;
  /** Row counts, for tests and the soak benchmark: what retention keeps bounded. */
  storedRows(): { groups: number; replies: number; details: number; notifications: number; notices: number };

  /**
   * A problem that stops the store from doing its job (it cannot write: disk full, I/O error;
   * or the file is damaged), or undefined while it works. Nothing that needs a write should
   * start while this names a problem: webhooks are refused 503, the outbox makes no Slack call
   * whose result it could not record.
   */
  ping(): string | undefined;
  /** Called each time writes work again after ping() named a problem (not for a damaged file). */
  onRecovered(listener: () => void): void;
  close(): void;
}
