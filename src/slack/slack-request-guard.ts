import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import { BodyTooLarge, readBody } from '../http/read-body.ts';
import { sendText } from '../http/respond.ts';
import { checkSlackBody } from './check-slack-body.ts';
import { DEFAULT_MAX_SKEW_SECONDS, verifySlackSignature } from './verify-slack-signature.ts';

export interface SlackRequestGuardOptions {
  signingSecret: string;
  log: Logger;
  now: () => number;
  maxBodyBytes?: number;
}

/**
 * Runs in front of Bolt for POST /slack/events, and is the only signature check (Bolt's is off:
 * see slack-app.ts). Bolt's check would accept timestamps from the future and the same signed
 * request any number of times within its window; this guard refuses both. It leaves the body
 * where Bolt looks for it (`rawBody`). A signed body Bolt could not read safely
 * (checkSlackBody: a JSON `null`, an array, no `type`…) gets 400 here: Bolt would throw on it
 * where nothing catches, ending the process.
 * @returns whether the request may go on to Bolt; if not, the 400/401/413 is already sent.
 */
export function createSlackRequestGuard({ signingSecret, log, now, maxBodyBytes = 1024 * 1024 }: SlackRequestGuardOptions) {
  const seen = new Map<string, number>();
  const windowMs = DEFAULT_MAX_SKEW_SECONDS * 1000;

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      sendText(res, error instanceof BodyTooLarge ? 413 : 400, 'bad request\n');
      return false;
    }
    const signature = req.headers['x-slack-signature'];
    const verdict = verifySlackSignature({
      signingSecret,
      rawBody: body,
      timestampHeader: req.headers['x-slack-request-timestamp'],
      signatureHeader: signature,
      nowMs: now(),
    });
    if (!verdict.ok) {
      log.warn({ reason: verdict.reason }, 'refused a request to /slack/events');
      sendText(res, 401, 'invalid request signature\n');
      return false;
    }

    // A valid signature seen before is a replay: Slack signs every delivery afresh.
    const key = String(signature);
    forgetOlderThan(seen, now() - 2 * windowMs);
    if (seen.has(key)) {
      log.warn({ reason: 'replayed request' }, 'refused a request to /slack/events');
      sendText(res, 401, 'replayed request\n');
      return false;
    }
    seen.set(key, now());
    const problem = checkSlackBody(body, req.headers['content-type']);
    if (problem !== undefined) {
      log.warn({ reason: problem }, 'refused a signed request to /slack/events that Slack would not send');
      sendText(res, 400, `bad Slack request: ${problem}\n`);
      return false;
    }
    Object.assign(req, { rawBody: body });
    return true;
  };
}

/** Signatures older than the timestamp window can never verify again, so they need no memory. */
function forgetOlderThan(seen: Map<string, number>, cutoff: number): void {
  for (const [key, at] of seen) {
    if (at >= cutoff) break; // insertion order is time order
    seen.delete(key);
  }
}

/**
 * /slack/events in Socket Mode: Slack sends nothing there, so anything that arrives is not from
 * Slack; it is answered 404 with the reason, and never reaches Bolt.
 */
export async function refuseSlackEventsInSocketMode(_req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  sendText(res, 404, 'not found: this Lookout receives Slack requests over Socket Mode (SLACK_APP_TOKEN), not at /slack/events\n');
  return false;
}
