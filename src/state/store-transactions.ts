import { changeAcknowledgement } from '../../alerts/acknowledge-group.ts';
import { foldNotificationBatch, type ProcessorDeps } from '../../alerts/process-notifications.ts';
import { resolveVanishedAlerts } from '../../alerts/resolve-vanished-alerts.ts';
import { compileRoute, type RouteSpec } from '../../alerts/route-channel.ts';
import { releaseEnrichment, saveEnrichmentResults } from '../../alerts/save-enrichment-results.ts';
import { clearGroupSilence, extendGroupSilence, markGroupSilenced } from '../../alerts/silence-group.ts';
import { queueCertificateDigest } from '../certificates/certificate-digest.ts';
import type { Logger } from '../log.ts';
import { createSecretRedactor } from '../redact-secrets.ts';
import { claimSlackDelivery } from '../slack/socket-deliveries.ts';
import type { AsyncEngine, StoreEngine, StoreTransactions } from './store.ts';

/*
 * The store's named transactions: each a plain async function over the engine (AsyncEngine, the
 * same on SQLite and PostgreSQL), run in one transaction where the connection lives (the store
 * worker in production, in-process in unit tests). They are the only places where Lookout reads
 * and then writes depending on what it read.
 */

/** What the inbox fold needs besides the store, as plain data (it crosses to the worker thread). */
export interface FoldSettings {
  routes: RouteSpec[];
  /** Where groups no route matches go. */
  defaultChannel: string;
  /** Set when enrichment sources exist: a new group's first post waits at most this long (ms). */
  enrichmentBudgetMs?: number | undefined;
  /** The configured redaction patterns (enrichment.redact) for thread replies; the default ones when absent. */
  redactPatterns?: string[] | undefined;
}

/** What a transaction may use besides the engine; built once where the engine lives. */
export interface TransactionContext {
  fold: Omit<ProcessorDeps, 'store'>;
}

export function transactionContext(settings: FoldSettings, log: Logger): TransactionContext {
  return {
    fold: {
      routes: settings.routes.map(compileRoute),
      defaultChannel: settings.defaultChannel,
      log,
      redactor: createSecretRedactor(settings.redactPatterns),
      ...(settings.enrichmentBudgetMs !== undefined ? { enrichment: { budgetMs: settings.enrichmentBudgetMs } } : {}),
    },
  };
}

type Transaction<K extends keyof StoreTransactions> = (
  engine: AsyncEngine,
  context: TransactionContext,
  ...args: Parameters<StoreTransactions[K]>
) => ReturnType<StoreTransactions[K]>;

/** Each named transaction of the Store interface, by name. */
export const STORE_TRANSACTIONS: { [K in keyof StoreTransactions]: Transaction<K> } = {
  addNotifications: (engine, _context, entries) =>
    engine.transaction(async () => {
      for (const { payload, receivedAt } of entries) await engine.addNotification(payload, receivedAt);
    }),
  foldInbox: (engine, context, limit) => foldNotificationBatch({ store: engine, ...context.fold }, limit),
  saveEnrichmentResults: (engine, _context, groupId, results, handled) => saveEnrichmentResults(engine, groupId, results, handled),
  releaseEnrichment: (engine, _context, groupId, pending) => releaseEnrichment(engine, groupId, pending),
  changeAcknowledgement: (engine, _context, change) => changeAcknowledgement(engine, change),
  markGroupSilenced: (engine, _context, request) => markGroupSilenced(engine, request),
  clearGroupSilence: (engine, _context, request) => clearGroupSilence(engine, request),
  extendGroupSilence: (engine, _context, request) => extendGroupSilence(engine, request),
  resolveVanishedAlerts: (engine, _context, request) => resolveVanishedAlerts(engine, request),
  queueCertificateDigest: (engine, _context, request) => queueCertificateDigest(engine, request),
  claimSlackDelivery: (engine, _context, claim) => claimSlackDelivery(engine, claim),
};

/** The engine's own methods the Store offers asynchronously, one call each (see StoreCalls). */
export const STORE_CALLS = [
  'addNotification',
  'pendingNotifications',
  'deleteNotification',
  'quarantineNotification',
  'quarantinedNotifications',
  'latestGroup',
  'addGroup',
  'updateGroupState',
  'addReply',
  'nextMessagePerChannel',
  'nextReplyPerChannel',
  'nextDueAt',
  'markMessageDelivered',
  'startMessagePost',
  'clearMessagePost',
  'recordMessagePosted',
  'groupsAwayFromChannel',
  'channelsWithMessagesAway',
  'abandonMessage',
  'forgetMessage',
  'deferMessage',
  'removeReply',
  'deferReply',
  'outboxDepth',
  'groupByMessage',
  'addNotice',
  'nextNoticePerChannel',
  'removeNotice',
  'deferNotice',
  'pendingNotices',
  'startNoticePost',
  'clearNoticePost',
  'reportedCertificates',
  'recordCertificatesReported',
  'forgetCertificateReports',
  'slackDeliverySeen',
  'recordSlackDelivery',
  'forgetSlackDeliveries',
  'claimLeases',
  'releaseLeases',
  'leaseHolder',
  'addPendingInteraction',
  'peekPendingInteraction',
  'claimPendingInteraction',
  'groupById',
  'requestEnrichment',
  'groupsAwaitingEnrichment',
  'saveEnrichment',
  'nextDetailPerChannel',
  'markDetailDelivered',
  'startDetailPost',
  'clearDetailPost',
  'abandonDetail',
  'forgetDetail',
  'deferDetail',
  'pruneResolvedGroups',
  'storedRows',
  'silencedGroups',
  'alertMessages',
  'firingGroups',
] as const satisfies ReadonlyArray<keyof StoreEngine>;

export type StoreCallName = (typeof STORE_CALLS)[number];
export type StoreTransactionName = keyof StoreTransactions;

// A method added to StoreEngine must be listed above (or be one the Store does not forward).
type Unlisted = Exclude<keyof StoreEngine, StoreCallName | 'transaction' | 'ping' | 'onRecovered' | 'close'>;
const everyCallListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyCallListed;

const CALL_NAMES: ReadonlySet<string> = new Set(STORE_CALLS);

/** Runs one call or named transaction on the engine, by name. */
export async function runOnEngine(engine: AsyncEngine, context: TransactionContext, name: StoreCallName | StoreTransactionName, args: unknown[]): Promise<unknown> {
  if (Object.hasOwn(STORE_TRANSACTIONS, name)) {
    const transaction = STORE_TRANSACTIONS[name as StoreTransactionName] as (engine: AsyncEngine, context: TransactionContext, ...args: unknown[]) => Promise<unknown>;
    return transaction(engine, context, ...args);
  }
  if (!CALL_NAMES.has(name)) throw new Error(`unknown store call: ${name}`);
  const calls = engine as unknown as Record<StoreCallName, (...args: unknown[]) => Promise<unknown>>;
  return calls[name as StoreCallName](...args);
}
