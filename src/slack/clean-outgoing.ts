import { cleanText, type Redactor } from '../redact-secrets.ts';
import type { HistoryPage, HistoryQuery, MessageMarker, OutgoingMessage, SlackApi } from './slack-api.ts';

/**
 * Keys whose string values are identifiers Lookout made, never text it was given: changing them
 * would break a button or a block, and they are shown to nobody.
 */
const IDENTIFIER_KEYS: ReadonlySet<string> = new Set(['type', 'action_id', 'block_id', 'value', 'style']);

/**
 * Every string in a Block Kit structure (texts, fields, alt texts, URLs) cleaned: secrets
 * redacted, control and bidirectional characters removed. Identifiers are left alone.
 */
export function cleanBlocks<T>(value: T, redactor: Redactor): T {
  return cleanValue(value, redactor, undefined) as T;
}

function cleanValue(value: unknown, redactor: Redactor, key: string | undefined): unknown {
  if (typeof value === 'string') return key !== undefined && IDENTIFIER_KEYS.has(key) ? value : cleanText(value, redactor);
  if (Array.isArray(value)) return value.map((item) => cleanValue(item, redactor, undefined));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, cleanValue(item, redactor, name)]));
  }
  return value;
}

/** A message's text and blocks, cleaned. */
export function cleanOutgoingMessage<M extends OutgoingMessage>(message: M, redactor: Redactor): M {
  return {
    ...message,
    text: cleanText(message.text, redactor),
    ...(message.blocks !== undefined ? { blocks: cleanBlocks(message.blocks, redactor) } : {}),
  };
}

/**
 * The Slack boundary: whatever Lookout posts or edits through this SlackApi (group messages,
 * thread replies, detail messages, audit lines; console mode prints the same) is cleaned on
 * the way out, whoever rendered it. Renderers clean alert text themselves too, before cutting
 * it to length (alerts/render.ts, cleanGroupState); this is the pass no path can skip.
 * Bolt's own replies (respond, postEphemeral) are cleaned where src/slack/slack-app.ts makes them.
 */
export class CleanOutgoingSlackApi implements SlackApi {
  private readonly inner: SlackApi;
  private readonly redactor: Redactor;

  constructor(inner: SlackApi, redactor: Redactor) {
    this.inner = inner;
    this.redactor = redactor;
  }

  /** The marker is Lookout's own (a digest and an id), so it passes unchanged. */
  postMessage(message: OutgoingMessage & { threadTs?: string; marker?: MessageMarker }): Promise<{ ts: string }> {
    return this.inner.postMessage(cleanOutgoingMessage(message, this.redactor));
  }

  updateMessage(message: OutgoingMessage & { ts: string }): Promise<void> {
    return this.inner.updateMessage(cleanOutgoingMessage(message, this.redactor));
  }

  /** Reads send no text of Lookout's. */
  history(query: HistoryQuery): Promise<HistoryPage> {
    return this.inner.history(query);
  }

  authTest(): Promise<void> {
    return this.inner.authTest();
  }
}
