import { createHmac } from 'node:crypto';

/** The two headers Slack adds to every request it sends to an app. */
export interface SlackSignatureHeaders {
  readonly 'x-slack-request-timestamp': string;
  readonly 'x-slack-signature': string;
}

/** The content type of slash-command and interactivity requests. */
export const SLACK_FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * Signs a request body the way Slack does (v0): HMAC-SHA256 over `v0:<timestamp>:<body>`, keyed
 * with the signing secret, sent as `v0=<hex>`. Deliberately independent of the verifier in
 * src/slack/, so a mistake in one is not silently mirrored by the other.
 */
export function signSlackRequest(signingSecret: string, rawBody: string, timestampSeconds: number): SlackSignatureHeaders {
  const timestamp = String(Math.trunc(timestampSeconds));
  const hex = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
  return { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': `v0=${hex}` };
}

/** The fields of a slash-command request, in the order Slack sends them. */
export const SLASH_COMMAND_FIELDS = [
  'token',
  'team_id',
  'team_domain',
  'enterprise_id',
  'enterprise_name',
  'channel_id',
  'channel_name',
  'user_id',
  'user_name',
  'command',
  'text',
  'response_url',
  'trigger_id',
  'api_app_id',
] as const;

/** One slash-command field name. */
export type SlashCommandField = (typeof SLASH_COMMAND_FIELDS)[number];

/**
 * Overrides for {@link slashCommandBody}. A missing key takes the default; `null` leaves the field
 * out, as Slack does for `enterprise_*` outside Enterprise Grid (and as its signing example does
 * for `api_app_id`).
 */
export type SlashCommandOverrides = { readonly [K in SlashCommandField]?: string | null };

const SLASH_COMMAND_DEFAULTS: { readonly [K in SlashCommandField]: string | null } = {
  // The deprecated verification token: still sent by Slack, never to be trusted by Lookout.
  token: 'deprecated-verification-token',
  team_id: 'T0LOOKOUT',
  team_domain: 'lookout-test',
  enterprise_id: null,
  enterprise_name: null,
  channel_id: 'C0ALERTS',
  channel_name: 'alerts',
  user_id: 'U024BE7LH',
  user_name: 'alice',
  command: '/ops',
  text: '',
  // Looks like Slack's; a test that lets Lookout call respond() must point this at loopback
  // (FakeSlack.responseUrl()), since the network is off.
  response_url: 'https://hooks.slack.com/commands/T0LOOKOUT/1000000000001/fakeResponseUrlSecret',
  trigger_id: '1000000000001.1000000000.0123456789abcdef0123456789abcdef',
  api_app_id: 'A0LOOKOUT',
};

/**
 * A slash-command request body, form-encoded as Slack sends it. Fields keep Slack's order, so a
 * body built from the values in Slack's signing example is byte-for-byte the documented one.
 */
export function slashCommandBody(overrides: SlashCommandOverrides = {}): string {
  const form = new URLSearchParams();
  for (const field of SLASH_COMMAND_FIELDS) {
    const value = field in overrides ? overrides[field] : SLASH_COMMAND_DEFAULTS[field];
    if (value !== null && value !== undefined) form.append(field, value);
  }
  return form.toString();
}

/**
 * An interactivity request body (block actions, view submissions, shortcuts): Slack form-encodes
 * one field, `payload`, holding the JSON.
 */
export function interactivityBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** Everything needed to send a signed request to Lookout: the body and all headers. */
export interface SignedSlackRequest {
  readonly body: string;
  readonly headers: SlackSignatureHeaders & { readonly 'content-type': string };
}

/** Signs a form body and adds the content type, ready for `fetch(url, { method: 'POST', ...req })`. */
export function signedSlackForm(signingSecret: string, body: string, timestampSeconds: number): SignedSlackRequest {
  return {
    body,
    headers: { ...signSlackRequest(signingSecret, body, timestampSeconds), 'content-type': SLACK_FORM_CONTENT_TYPE },
  };
}
