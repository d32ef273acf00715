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

/**
 * POST /alertmanager. Alertmanager drops a notification on any 4xx and retries on 5xx, so:
 * 4xx only for requests that can never succeed (auth, size, shape), 5xx only when a valid
 * payload could not be stored, and 200 only once it is on disk. Processing happens after.
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
    try {
      await intake.add(payload);
    } catch (error) {
      log.error({ err: error, groupKey: payload.groupKey }, 'could not store a webhook payload; Alertmanager will retry');
      refuse(res, 500, 'store_failed', { error: 'could not store the notification; retry' });
      return;
    }
    metrics.webhookRequests.inc({ outcome: 'accepted' });
    for (const alert of payload.alerts) metrics.alertsReceived.inc({ status: alert.status });
    sendJson(res, 200, { status: 'accepted' });
    onAccepted();
  };
}
