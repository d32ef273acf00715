import type { AlertmanagerPayload } from '../../alerts/payload.ts';
import type { GroupState } from '../../alerts/group-state.ts';
import type { ClearSilenceRequest, ExtendSilenceRequest, MarkSilencedRequest } from '../../alerts/silence-group.ts';
import type { AlertEnrichment, GroupEnrichment } from '../../alerts/enrichers/enrichment.ts';
import type { ResolveVanishedRequest } from '../../alerts/resolve-vanished-alerts.ts';
import type { CertificateDigestRequest } from '../certificates/certificate-digest.ts';

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
  /** A post started (durably, before chat.postMessage) with no recorded outcome: look it up in `postChannel` first. */
  postStartedAt: number | null;
  postChannel: string | null;
  delivery: DeliveryAttempts;
}

/**
 * A group episode Lookout shows as FIRING, as the reconciler compares it with Alertmanager
 * (src/alertmanager-reconciler.ts): only what the comparison needs, the same from every backend.
 */
export interface FiringGroup {
  groupId: number;
  groupKey: string;
  /** The alerts the message shows as firing: Alertmanager's fingerprint and the occurrence's startsAt (RFC 3339). */
  alerts: Array<{ fingerprint: string; startsAt: string }>;
  /** When a notification last changed the group (ms): a young group may have a resolve on its way. */
  changedAt: number;
  /** The message shows a silence (state.silenced). */
  silenced: boolean;
}

/** The Slack message that shows a firing alert (see StoreEngine.alertMessages). */
export interface AlertMessage {
  fingerprint: string;
  channel: string;
  messageTs: string;
}

/** A lease as claimLeases left it (see StoreEngine.claimLeases). */
export interface Lease {
  name: string;
  owner: string;
  expiresAt: number;
}

/**
 * A click's or a modal's server-side state (see StoreEngine.addPendingInteraction). `value` is
 * plain JSON (it is stored as text): the id is the only thing that travels through Slack.
 */
export interface PendingInteraction {
  /** Unguessable: 128 random bits, base64url. */
  id: string;
  /** What it is for, e.g. `confirmation`, `modal`: a click of one kind cannot use another kind's entry. */
  kind: string;
  /** Who may claim it, e.g. `<slack user>:<channel>`. */
  owner: string;
  value: unknown;
  expiresAt: number;
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
  /**
   * When the group message that has waited longest for Slack last changed (ms since the epoch),
   * or null when Slack shows every group as it is. A group that keeps changing restarts its wait.
   */
  oldestMessageAt: number | null;
}

/**
 * The synchronous engine under the store (SqliteStore): the connection lives where this runs.
 * Everything else reaches it through `Store`, the asynchronous interface, whose named
 * transactions (store-transactions.ts) are plain functions over this one.
 */
export interface StoreEngine {
  /** Runs fn in one transaction: all of its writes land, or none. Nested: a savepoint. */
  transaction<T>(fn: () => T): T;

  addNotification(payload: AlertmanagerPayload, receivedAt: number): number;
  /** Oldest first. */
  pendingNotifications(limit: number): StoredNotification[];
  deleteNotification(id: number): void;
  /**
   * Moves a notification whose fold fails on its own out of the inbox, in one transaction, into
   * quarantined_notifications with the error's message (docs/architecture.md says how to replay it).
   * @returns the quarantined row's id, or undefined when the notification was no longer in the inbox.
   */
  quarantineNotification(id: number, error: string, at: number): number | undefined;
  /** How many notifications are quarantined, and when the oldest of them was received (ms; null when none). */
  quarantinedNotifications(): { count: number; oldestReceivedAt: number | null };

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
  /** Like startMessagePost, for a notice: before chat.postMessage, so an unknown outcome is looked up. */
  startNoticePost(id: number, channel: string, at: number): void;
  /** The notice's post is known not to have happened. */
  clearNoticePost(id: number): void;

  /** The certificates (digest keys) listed in a digest and not yet forgotten (see forgetCertificateReports). */
  reportedCertificates(): string[];
  /** Records certificates not reported before (their keys) as listed in a digest at `at`. */
  recordCertificatesReported(certificates: readonly string[], at: number): void;
  /** Forgets reports made at or before `before` (ms): older than a day, they no longer hold anything back. */
  forgetCertificateReports(before: number): void;

  /** Whether a Slack delivery with this key was recorded (and not yet forgotten): see claimSlackDelivery. */
  slackDeliverySeen(key: string): boolean;
  recordSlackDelivery(key: string, at: number): void;
  /** Forgets deliveries recorded before `before` (ms): Slack redelivers within seconds, not hours. */
  forgetSlackDeliveries(before: number): void;

  /**
   * Leases (issue 16): exclusive, expiring rights, each held by one replica (`owner`) at a time,
   * by name: `channel:<id>` to deliver to a Slack channel, `job:<name>` to run a background job.
   * Takes each named lease that is free, expired (expiresAt <= now) or already `owner`'s, and sets
   * its expiry to now + ttlMs; leaves those another owner holds unexpired alone. One call is atomic.
   * Times are the replicas' own clocks (ms since the epoch): their skew must stay well under ttlMs.
   * @returns the names `owner` holds after the call (a subset of `names`, in no particular order).
   */
  claimLeases(names: readonly string[], owner: string, now: number, ttlMs: number): string[];
  /**
   * Gives up the leases `owner` holds: those named, or all of them when `names` is absent (a
   * replica shutting down, so another takes over at once rather than after the expiry).
   */
  releaseLeases(owner: string, names?: readonly string[]): void;
  /** The unexpired lease of this name, if any: who holds it and until when. For /readyz, doctor and tests. */
  leaseHolder(name: string, now: number): Lease | undefined;

  /**
   * Pending interactions (issue 16): what a click or a modal submission will act on, kept in the
   * store so that any replica can take the click. Expired rows are deleted by this call; when
   * more than `maxEntries` remain, the oldest go (a flood of typed commands cannot grow the store).
   */
  addPendingInteraction(entry: PendingInteraction, now: number, maxEntries: number): void;
  /** The entry of this id and kind, unexpired at `now`, without using it up. */
  peekPendingInteraction(id: string, kind: string, now: number): PendingInteraction | undefined;
  /**
   * Deletes and returns the entry of this id and kind if it is unexpired at `now` and `owner`'s:
   * each id is used once, so two clicks (on two replicas) act once. Another owner's entry stays.
   */
  claimPendingInteraction(id: string, kind: string, owner: string, now: number): PendingInteraction | undefined;

  /**
   * Where Lookout posted these alerts (by Alertmanager fingerprint): the message of each firing
   * episode that shows one of them, in the channel it lives in. For `/ops status`'s links.
   */
  alertMessages(fingerprints: readonly string[]): AlertMessage[];
  /** The group episode with this id. */
  groupById(id: number): GroupRecord | undefined;
  /**
   * Firing group episodes whose message shows a silence made from Slack (state.silenced), so the
   * silence watcher (src/silence-expiry.ts) can clear them when it ends. Read once at start.
   */
  silencedGroups(): GroupRecord[];
  /** Every group episode Lookout shows as firing, oldest first (see FiringGroup). */
  firingGroups(): FiringGroup[];
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

/** A method of the engine as the asynchronous store offers it. */
type Answered<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;

/** The engine's reads and single writes, each answered asynchronously (same names, same meaning). */
export type StoreCalls = { [K in keyof Omit<StoreEngine, 'transaction' | 'ping' | 'onRecovered' | 'close'>]: Answered<StoreEngine[K]> };

/**
 * The engine as the named transactions (store-transactions.ts) use it, whatever the backend:
 * every call answered asynchronously (PostgreSQL answers over the network), and transaction(fn)
 * running every call fn makes in one database transaction (nested: a savepoint). SQLite: the
 * synchronous SqliteStore behind asyncEngine(), in the store worker; PostgreSQL: PostgresEngine,
 * where the calls inside fn go to fn's connection and a serialization failure re-runs fn.
 * A named transaction must not do anything but store calls inside fn (it may run again).
 */
export type AsyncEngine = StoreCalls & {
  transaction<T>(fn: () => Promise<T>): Promise<T>;
};

/** One accepted webhook payload for the inbox. */
export interface InboxEntry {
  payload: AlertmanagerPayload;
  receivedAt: number;
}

/** One alert's enrichment result, as the runner found it for the occurrence it looked up. */
export interface AlertEnrichmentResult {
  fingerprint: string;
  startsAt: string;
  result: AlertEnrichment;
}

/** A click on Acknowledge or Unacknowledge, authorised: applied only if the group still allows it. */
export interface AcknowledgementChange {
  /** The group the click was checked against before the access review. */
  groupId: number;
  /** true: acknowledge; false: withdraw the acknowledgement. */
  acknowledge: boolean;
  /** Slack user id of who clicked. */
  by: string;
  at: number;
}

/** A request from Slack over Socket Mode, named by every key that identifies it (src/slack/socket-deliveries.ts). */
export interface SlackDeliveryClaim {
  /** e.g. `envelope:<envelope_id>`, `event:<event_id>`, `action:<user>:<action_ts>`. */
  keys: string[];
  at: number;
  /** Deliveries recorded before this (ms) are forgotten in the same transaction. */
  forgetBefore: number;
}

/**
 * Work that must read and write in one transaction, run where the connection lives
 * (store-transactions.ts): a transaction cannot cross a thread.
 */
export interface StoreTransactions {
  /** Puts payloads in the inbox in one transaction: resolves once committed (on disk). */
  addNotifications(entries: InboxEntry[]): Promise<void>;
  /**
   * Folds at most `limit` notifications of the inbox into their groups in one transaction.
   * @returns how many changed something Slack will show, and whether more are waiting.
   */
  foldInbox(limit: number): Promise<{ changed: number; more: boolean }>;
  /**
   * Writes enrichment results into the group's current enrichment (results for an older
   * occurrence are dropped), releases its first post, and removes `handled` from the queue.
   * @returns whether the outbox has something new to deliver.
   */
  saveEnrichmentResults(groupId: number, results: AlertEnrichmentResult[], handled: PendingEnrichment): Promise<boolean>;
  /** After an enrichment that failed: release the first post and drop `pending` from the queue. */
  releaseEnrichment(groupId: number, pending: PendingEnrichment): Promise<void>;
  /**
   * Acknowledges the group (or withdraws it) if it still allows that: still firing, and not
   * (or still) acknowledged. Two people clicking at once cannot both change it.
   * @returns undefined when changed, else why not (a text for the person who clicked).
   */
  changeAcknowledgement(change: AcknowledgementChange): Promise<string | undefined>;
  /** The group shows the silence while it still fires (alerts/silence-group.ts). @returns whether it does. */
  markGroupSilenced(request: MarkSilencedRequest): Promise<boolean>;
  /** The group stops showing this silence, with a thread reply. @returns whether it still showed it. */
  clearGroupSilence(request: ClearSilenceRequest): Promise<boolean>;
  /** The group shows a later end of the same silence. @returns whether that changed the group. */
  extendGroupSilence(request: ExtendSilenceRequest): Promise<boolean>;
  /**
   * Marks alerts Alertmanager no longer has as resolved, with a thread reply, if the group still
   * shows exactly those occurrences firing (alerts/resolve-vanished-alerts.ts). @returns whether it did.
   */
  resolveVanishedAlerts(request: ResolveVanishedRequest): Promise<boolean>;
  /**
   * Decides which certificates of the request a digest lists now (those not listed in the last
   * day), records that, and queues the digest as a notice, in one transaction
   * (src/certificates/certificate-digest.ts). @returns how many certificates it lists (0: no digest).
   */
  queueCertificateDigest(request: CertificateDigestRequest): Promise<number>;
  /**
   * Records a delivery from Slack unless any of its keys was recorded before, so a request Slack
   * delivers twice (a retry, a reconnect, two replicas' connections) runs once.
   * @returns true for the first delivery, false for a duplicate.
   */
  claimSlackDelivery(claim: SlackDeliveryClaim): Promise<boolean>;
}

/** What a commit can queue for a replica's background work: Slack deliveries (the outbox), or enrichment. */
export const QUEUED_WORK = ['slack', 'enrichment'] as const;
export type QueuedWork = (typeof QUEUED_WORK)[number];

/**
 * Lookout's store as the rest of Lookout uses it: every call answered asynchronously, so the
 * event loop never waits for SQLite or an fsync (the production store runs the engine in a
 * worker thread: worker-store.ts).
 */
export type Store = StoreCalls &
  StoreTransactions & {
    /** As StoreEngine.ping, from the last health the engine reported: cheap, no round trip. */
    ping(): string | undefined;
    onRecovered(listener: () => void): void;
    /**
     * Called when another replica committed work of this kind (issue 16), so the replica that holds
     * the channel's or the job's lease starts on it at once instead of at its next lease renewal.
     * Also called for every kind after a gap in which some may have been missed. Never called on
     * SQLite (one process: whoever queues work wakes its own outbox).
     */
    onRemoteChange(listener: (work: QueuedWork) => void): void;
    /** Resolves once the engine closed the connection; every later call rejects. */
    close(): Promise<void>;
  };
