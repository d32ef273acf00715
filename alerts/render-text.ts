import type { types as slack } from '@slack/bolt';
import type { SlackMessage } from './render.ts';

/**
 * Plain-text rendition of a Block Kit message, for console mode (no Slack token) and for snapshots
 * a person can review. Blocks are separated by a blank line; mrkdwn control sequences become what a
 * reader would see (date fallbacks, link labels with their URL) and buttons become `label: url`.
 * Emphasis markers (`*`, `_`, backticks) are kept: they read fine as text.
 */
export function renderMessageAsText(message: SlackMessage): string {
  if (message.blocks.length === 0) return `${mrkdwnToPlain(message.text)}\n`;
  return `${message.blocks.map(blockAsText).join('\n\n')}\n`;
}

function blockAsText(block: slack.KnownBlock): string {
  switch (block.type) {
    case 'header':
      return block.text.text;
    case 'section': {
      const lines: string[] = [];
      if (block.text !== undefined) lines.push(textOf(block.text));
      // Fields are label/value pairs laid out in two columns; one "label: value" line each.
      for (const field of block.fields ?? []) lines.push(textOf(field).replace(/\n/g, ': '));
      if (block.accessory !== undefined) lines.push(elementAsText(block.accessory));
      return lines.join('\n');
    }
    case 'context':
      return block.elements
        .map((element) => (element.type === 'image' ? `[image: ${element.alt_text}]` : textOf(element)))
        .join(' · ');
    case 'actions':
      return block.elements.map(elementAsText).join('\n');
    case 'divider':
      return '---';
    case 'image':
      return `[image: ${block.alt_text}]`;
    default:
      return `[${block.type} block]`;
  }
}

function elementAsText(element: { type: string; text?: unknown; url?: unknown }): string {
  if (element.type !== 'button') return `[${element.type}]`;
  const label = isTextObject(element.text) ? textOf(element.text) : 'button';
  return typeof element.url === 'string' ? `${label}: ${element.url}` : `[${label}]`;
}

function isTextObject(value: unknown): value is slack.PlainTextElement | slack.MrkdwnElement {
  return typeof value === 'object' && value !== null && 'text' in value && typeof value.text === 'string';
}

function textOf(text: slack.PlainTextElement | slack.MrkdwnElement): string {
  return text.type === 'mrkdwn' ? mrkdwnToPlain(text.text) : text.text;
}

/** Resolves Slack's `<…>` control sequences, then its three HTML entities (`&amp;` last). */
function mrkdwnToPlain(text: string): string {
  return text
    .replace(/<([^<>]*)>/g, (_match, inner: string) => controlSequence(inner))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function controlSequence(inner: string): string {
  const bar = inner.indexOf('|');
  const target = bar === -1 ? inner : inner.slice(0, bar);
  const label = bar === -1 ? undefined : inner.slice(bar + 1);
  if (target.startsWith('!date^')) return label ?? target; // the fallback is what old clients show
  if (target.startsWith('@') || target.startsWith('#')) return label === undefined ? target : `${target[0]}${label}`;
  if (target.startsWith('!subteam^')) return label ?? target;
  if (target.startsWith('!')) return `@${target.slice(1)}`; // <!here>, <!channel>
  return label === undefined || label === target ? target : `${label} (${target})`;
}
