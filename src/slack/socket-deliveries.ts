import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { AsyncEngine, SlackDeliveryClaim, Store } from '../state/store.ts';

/**
 * Over Socket Mode Slack gives each request (an "envelope") to one of the app's connections and
 * sends it again when no ack came within 3 s (`retry_attempt`), or when a connection was being
 * replaced; with several replicas the two deliveries can reach different processes. So before a
 * request runs, every key that names it is claimed in the store (the store is what the replicas
 * share): the envelope's id, and what the request itself carries, because a redelivery is not
 * promised to keep its envelope_id: the Events API's event_id, a click's action_ts with the
 * person who clicked, a command's or a modal's trigger_id.
 */

/** How long a delivery is remembered. Slack redelivers within seconds; an hour leaves room. */
export const DELIVERY_MEMORY_MS = 60 * 60_000;

/** A key longer than this is cut: the values come from the payload, whatever its size. */
const KEY_MAX = 200;

/** What Socket Mode hands over with each envelope (the fields the keys use). */
export interface SocketEnvelope {
  envelopeId: string | undefined;
  /** The envelope's payload: a slash command, an interaction or an Events API body. */
  body: unknown;
}

/** Every key naming this request; empty when it carries nothing to recognise it by. */
export function deliveryKeys({ envelopeId, body }: SocketEnvelope): string[] {
  const keys: string[] = [];
  const add = (kind: string, ...parts: unknown[]): void => {
    if (parts.every((part) => typeof part === 'string' && part !== '')) keys.push(`${kind}:${parts.join(':')}`.slice(0, KEY_MAX));
  };
  add('envelope', envelopeId);
  if (!isObject(body)) return keys;
  add('event', body['event_id']);
  if (body['type'] === 'block_actions') {
    const first = Array.isArray(body['actions']) ? (body['actions'] as unknown[])[0] : undefined;
    const user = isObject(body['user']) ? body['user']['id'] : undefined;
    add('action', user, isObject(first) ? first['action_ts'] : undefined);
  } else {
    add('trigger', body['trigger_id']);
  }
  return keys;
}

/**
 * The store transaction (StoreTransactions.claimSlackDelivery): forget old deliveries, then record
 * this one unless one of its keys is known. Plain reads and inserts, so a PostgreSQL store can run
 * it as is; there a concurrent claim of the same key fails on the primary key, which must count
 * as "already delivered" too.
 */
export function claimSlackDelivery(engine: AsyncEngine, { keys, at, forgetBefore }: SlackDeliveryClaim): Promise<boolean> {
  return engine.transaction(async () => {
    await engine.forgetSlackDeliveries(forgetBefore);
    const unique = [...new Set(keys)];
    for (const key of unique) if (await engine.slackDeliverySeen(key)) return false;
    for (const key of unique) await engine.recordSlackDelivery(key, at);
    return true;
  });
}

/** Where the Socket Mode receiver puts the envelope's id in Bolt's context (its customPropertiesExtractor). */
export const ENVELOPE_ID_CONTEXT_KEY = 'socketEnvelopeId';

export interface DeliveryFilterOptions {
  store: Pick<Store, 'claimSlackDelivery'>;
  metrics: Pick<Metrics, 'slackSocketDeliveries'>;
  log: Logger;
  now?: () => number;
}

/** What a command's sender sees when Lookout could not record the request and so ran nothing. */
export const UNRECORDED_REPLY = 'Lookout could not record this request (its state store is not working), so it did nothing. Try again in a minute.';

/**
 * Bolt global middleware, first in line in Socket Mode: a request runs only when its claim in the
 * store is the first. A duplicate is acknowledged (Slack stops redelivering) and dropped. When
 * the store cannot record the claim, the request is acknowledged and not run, since running it
 * could run it twice; a command's sender is told so in the acknowledgement.
 */
export function createDeliveryFilter({ store, metrics, log, now = Date.now }: DeliveryFilterOptions): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const { body, context, next } = args;
    // Commands, clicks and modals carry ack(); Bolt has already acknowledged Events API envelopes.
    const ack = (args as { ack?: (response?: { text: string; response_type: 'ephemeral' }) => Promise<void> }).ack;
    const envelopeId = context[ENVELOPE_ID_CONTEXT_KEY];
    const keys = deliveryKeys({ envelopeId: typeof envelopeId === 'string' ? envelopeId : undefined, body });
    if (keys.length === 0) {
      await next();
      return;
    }
    const at = now();
    let first: boolean;
    try {
      first = await store.claimSlackDelivery({ keys, at, forgetBefore: at - DELIVERY_MEMORY_MS });
    } catch (error) {
      metrics.slackSocketDeliveries.inc({ outcome: 'unrecorded' });
      log.error({ err: error }, 'could not record a request from Slack in the state store; acknowledged it and did not run it');
      await ack?.(isObject(body) && typeof body['command'] === 'string' ? { response_type: 'ephemeral', text: UNRECORDED_REPLY } : undefined);
      return;
    }
    if (!first) {
      metrics.slackSocketDeliveries.inc({ outcome: 'duplicate' });
      // The key kinds only: a trigger_id opens modals for 3 s, so it is not logged.
      log.info({ keys: keys.map((key) => key.split(':')[0]), retryNum: context.retryNum, retryReason: context.retryReason }, 'Slack delivered a request again; acknowledged and dropped it');
      await ack?.();
      return;
    }
    metrics.slackSocketDeliveries.inc({ outcome: 'first' });
    await next();
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
