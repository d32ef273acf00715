import { parse as parseQuery } from 'node:querystring';

/** The content type Bolt reads as a form; any other (even with `; charset=…`) it reads as JSON. */
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * What is wrong with a (signed) /slack/events body, or undefined when Bolt can take it.
 *
 * Bolt parses the body exactly as this does (form only for that exact content type, else JSON;
 * a form's `payload` field is JSON) and then reads properties of the result outside any
 * try/catch: a JSON `null` there rejects a promise nobody handles, and Node ends the process.
 * So nothing reaches Bolt but an object of a shape Slack sends: a slash command (form with one
 * `command`), an interactivity payload (form with one `payload` holding a JSON object with a
 * string `type`), an Events API body (a JSON object with a string `type`), or Slack's `ssl_check`.
 * The answer names the problem, never the content.
 */
export function checkSlackBody(rawBody: Buffer, contentType: string | string[] | undefined): string | undefined {
  const text = rawBody.toString('utf8');
  if (contentType === FORM_CONTENT_TYPE) return checkForm(text);
  const parsed = parseJson(text);
  if (parsed === invalid) return `the body is not valid JSON (content type ${describeType(contentType)}; Slack's forms are ${FORM_CONTENT_TYPE})`;
  return checkEvent(parsed, 'the JSON body');
}

function checkForm(text: string): string | undefined {
  const form = parseQuery(text);
  for (const [name, value] of Object.entries(form)) {
    if (Array.isArray(value)) return `form field \`${clipName(name)}\` is given more than once`;
  }
  if (Object.hasOwn(form, 'payload')) {
    const payload = parseJson(String(form['payload']));
    if (payload === invalid) return 'form field `payload` is not valid JSON';
    return checkEvent(payload, 'form field `payload`');
  }
  if (Object.hasOwn(form, 'ssl_check')) return undefined;
  if (typeof form['command'] !== 'string' || form['command'] === '') return 'a form without `payload` must be a slash command (a `command` field)';
  return undefined;
}

/** Fields Bolt reads properties of whenever they are present (user.id, view.id…). */
const OBJECT_FIELDS = ['event', 'user', 'channel', 'container', 'view', 'message', 'state'] as const;
/** The same, but null is what Slack sends for them on org-wide installs and outside Enterprise Grid. */
const NULLABLE_OBJECT_FIELDS = ['team', 'enterprise'] as const;
/** Fields Bolt reads as lists of objects (actions[0].action_id, response_urls[0].response_url…). */
const LIST_FIELDS = ['actions', 'response_urls', 'authorizations'] as const;

function checkEvent(value: unknown, what: string): string | undefined {
  if (!isObject(value)) return `${what} must be a JSON object, not ${describeValue(value)}`;
  if (typeof value['type'] !== 'string') return `${what} has no string \`type\``;
  for (const field of OBJECT_FIELDS) {
    if (Object.hasOwn(value, field) && !isObject(value[field]) && !(field === 'channel' && typeof value[field] === 'string')) {
      return `${what}: \`${field}\` must be an object, not ${describeValue(value[field])}`;
    }
  }
  for (const field of NULLABLE_OBJECT_FIELDS) {
    if (Object.hasOwn(value, field) && value[field] !== null && !isObject(value[field])) return `${what}: \`${field}\` must be an object or null, not ${describeValue(value[field])}`;
  }
  for (const field of LIST_FIELDS) {
    const list = value[field];
    if (Object.hasOwn(value, field) && (!Array.isArray(list) || !list.every(isObject))) return `${what}: \`${field}\` must be a list of objects`;
  }
  const type = value['type'];
  // Bolt finds an interaction's workspace through `team`, else `user` (org-wide installs).
  const interaction = !Object.hasOwn(value, 'event') && !Object.hasOwn(value, 'command') && !EVENTS_API_TYPES.has(type);
  if (interaction && !isObject(value['team']) && !isObject(value['user'])) return `${what} names no workspace: no \`team\` or \`user\` object`;
  if ((type === 'view_submission' || type === 'view_closed') && !isObject(value['view'])) return `${what}: a ${type} has no \`view\` object`;
  const event = value['event'];
  if (isObject(event)) {
    if (typeof event['type'] !== 'string') return `${what}: \`event\` has no string \`type\``;
    if (Object.hasOwn(event, 'item') && !isObject(event['item'])) return `${what}: \`event.item\` must be an object`;
    if (Object.hasOwn(event, 'channel') && !isObject(event['channel']) && typeof event['channel'] !== 'string') return `${what}: \`event.channel\` must be a string or an object`;
  }
  return undefined;
}

/** Events API envelopes that carry no interaction. */
const EVENTS_API_TYPES: ReadonlySet<unknown> = new Set(['url_verification', 'app_rate_limited', 'event_callback']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const invalid = Symbol('invalid JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return invalid;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function describeType(contentType: string | string[] | undefined): string {
  if (contentType === undefined) return 'none';
  const first = Array.isArray(contentType) ? (contentType[0] ?? '') : contentType;
  // Only a content type's usual characters are echoed: it comes from the sender.
  return /^[\w.+/;= -]{1,80}$/.test(first) ? `"${first}"` : 'unusual';
}

function clipName(name: string): string {
  return /^[\w.-]{1,40}$/.test(name) ? name : '(unusual name)';
}
