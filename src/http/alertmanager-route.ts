import type { IncomingMessage, ServerResponse } from 'node:http';
import { alertmanagerPayloadSchema, describeIssues } from '../../alerts/payload.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../state/store.ts';
import { hasBearerToken } from './bearer-token.ts';
import { NotificationIntake } from './notification-intake.ts';
import { BodyTooLarge, readBody } from './read-body.ts';
import { sendJson } from './respond.ts';

export interface AlertmanagerRouteDeps {
  store: Store;
  webhookToken: string;
  maxBodyBytes: number;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Called after a notification is stored, to fold it in and deliver it. */
  onAccepted: () => void;
}

/** Seconds a client is told to wait while the store cannot write (Alertmanager uses its own backoff). */
const STORE_RETRY_AFTER_SECONDS = '10';

/**
 * POST /alertmanager. Alertmanager drops a notification on any 4xx and retries on 5xx, so:
 * 4xx only for requests that can never succeed (auth, size, shape), 5xx only when a valid
 * payload could not be stored, and 200 only once it is on disk. Processing happens after.
 * While the store cannot write (disk full, damaged file: store.ping()) every valid payload gets
 * 503 with Retry-After without trying the write: one failing write per webhook would only repeat
 * the error the store already logged, and a 2xx now would be a promise Lookout cannot keep.
 */
export function createAlertmanagerHandler(deps: AlertmanagerRouteDeps) {
  const { store, webhookToken, maxBodyBytes, metrics, log, now, onAccepted } = deps;
  const intake = new NotificationIntake({ store, now });
  const refuse = (res: ServerResponse, status: number, outcome: string, body: object, headers?: Record<string, string>): void => {
    metrics.webhookRequests.inc({ outcome });
    sendJson(res, status, body, headers);
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hasBearerToken(req.headers.authorization, webhookToken)) {
      log.warn({ remoteAddress: req.socket.remoteAddress }, 'webhook refused: missing or wrong bearer token');
      // Drain nothing: an unauthenticated body is not worth reading.
      res.setHeader('connection', 'close');
      refuse(res, 401, 'unauthorized', { error: 'missing or wrong bearer token (Authorization: Bearer <LOOKOUT_WEBHOOK_TOKEN>)' }, {
        'www-authenticate': 'Bearer',
      });
      return;
    }

    let raw: Buffer;
    try {
      raw = await readBody(req, maxBodyBytes);
    } catch (error) {
      res.setHeader('connection', 'close');
      if (error instanceof BodyTooLarge) refuse(res, 413, 'too_large', { error: error.message });
      else refuse(res, 400, 'invalid', { error: 'could not read the request body' });
      return;
    }

    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      refuse(res, 400, 'invalid', { error: 'body is not valid JSON' });
      return;
    }
    const parsed = alertmanagerPayloadSchema.safeParse(json);
    if (!parsed.success) {
      const problems = describeIssues(parsed.error);
      log.warn({ problems }, 'webhook refused: not an Alertmanager version 4 payload');
      refuse(res, 400, 'invalid', { error: 'not an Alertmanager webhook payload (version 4)', problems });
      return;
    }

    const payload = parsed.data;
    const storeProblem = store.ping();
    if (storeProblem !== undefined) {
      // The store logged the problem once when it started; one line per refused webhook would flood.
      log.debug({ groupKey: payload.groupKey, storeProblem }, 'webhook refused 503: the state store cannot write');
      refuse(res, 503, 'store_unavailable', { error: `cannot store notifications now: ${storeProblem}; retry later` }, { 'retry-after': STORE_RETRY_AFTER_SECONDS });
      return;
    }
    try {
      await intake.add(payload);
    } catch (error) {
      log.error({ err: error, groupKey: payload.groupKey }, 'could not store a webhook payload; Alertmanager will retry');
      // A storage failure (disk full…) has now marked the store: 503 like the ones that follow.
      const marked = store.ping() !== undefined;
      refuse(res, marked ? 503 : 500, 'store_failed', { error: 'could not store the notification; retry' }, marked ? { 'retry-after': STORE_RETRY_AFTER_SECONDS } : {});
      return;
    }
    metrics.webhookRequests.inc({ outcome: 'accepted' });
    for (const alert of payload.alerts) metrics.alertsReceived.inc({ status: alert.status });
    sendJson(res, 200, { status: 'accepted' });
    onAccepted();
  };
}
