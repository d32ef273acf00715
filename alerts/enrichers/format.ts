import { clipLines, clipMrkdwn, escapeMrkdwn, oneLine, plural } from '../render.ts';

/*
 * Small mrkdwn pieces shared by the enrichment sources. Escaping and clipping come from
 * render.ts, so alert text and enrichment text follow the same rules.
 */

/** Inline code for a name; escaped plain text when a backtick would end the span early. */
export function code(text: string, max = 120): string {
  const line = oneLine(text);
  if (line === '') return '""';
  if (line.includes('`')) return clipMrkdwn(line, max);
  return `\`${clipMrkdwn(line, max - 2)}\``;
}

/** One line of untrusted text (a status message, an event), escaped and cut to `max`. */
export function text(value: string, max: number): string {
  return clipMrkdwn(oneLine(value), max);
}

export { clipLines, escapeMrkdwn, plural };

/** "45s", "3m", "5h", "3d": compact, for lines that must stay short. */
export function shortDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/**
 * "3m ago" that stays true: Slack renders the {ago} token for each reader at reading time (the
 * message is edited in place for hours); the text after | is the fallback for clients that
 * cannot, computed now.
 */
export function ago(timestamp: string | null | undefined, now: number): string | undefined {
  const ms = timestamp ? Date.parse(timestamp) : Number.NaN;
  if (!(ms > 0)) return undefined;
  return `<!date^${Math.floor(ms / 1000)}^{ago}|${shortDuration(now - ms)} ago>`;
}

/** An absolute time in the reader's zone, with a UTC fallback. */
export function at(timestamp: string | null | undefined): string | undefined {
  const ms = timestamp ? Date.parse(timestamp) : Number.NaN;
  if (!(ms > 0)) return undefined;
  const fallback = `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${fallback}>`;
}

/** " part", or nothing when the part is missing: for optional tails like " 3m ago". */
export function suffix(part: string | undefined): string {
  return part === undefined ? '' : ` ${part}`;
}

/** Joins the parts that are present with " · ", the separator of every summary line. */
export function dotted(parts: ReadonlyArray<string | undefined | null | false>): string {
  return parts.filter((part): part is string => typeof part === 'string' && part !== '').join(' · ');
}

/**
 * Cuts a rendered one-line summary (parts joined by `dotted`) after its last part that fits, so
 * no code span, entity or date token is split. clipLines would cut a line with no break to "…".
 */
export function clipLine(rendered: string, max: number): string {
  if (rendered.length <= max) return rendered;
  const marker = ' · …';
  const cut = rendered.lastIndexOf(' · ', max - marker.length);
  return cut > 0 ? `${rendered.slice(0, cut)}${marker}` : '…';
}
