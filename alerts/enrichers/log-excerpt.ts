import type { LokiConfig } from './enrichment-config.ts';
import { escapeMrkdwn } from './format.ts';

/*
 * Log lines shown in Slack, shared by the alert's log excerpt (logs.ts) and `/ops logs`
 * (commands/logs.ts), so both read the same and neither can let a line break out of its block.
 */

/** A multi-line entry (a stack trace pushed as one line) on one line. */
export function oneLogLine(line: string): string {
  return line.replace(/\r?\n$/, '').replace(/\r?\n/g, ' ⏎ ');
}

/** A line cut to `max` characters (whole code points), with "…" when cut. */
export function clipLogLine(line: string, max: number): string {
  return line.length > max ? `${[...line].slice(0, max - 1).join('')}…` : line;
}

/**
 * Code block content for Slack: escaped (&, <, >) and with every backtick turned into a
 * look-alike (ˋ, U+02CB), so no run of backticks in a log line can close the block early
 * or open a new one. Lines that do not fit are dropped from the top: the newest matter most.
 */
export function fitCodeBlock(heading: string, body: string, max: number): string {
  const lines = body.split('\n').map((line) => escapeMrkdwn(line).replace(/`/g, 'ˋ'));
  const frame = heading.length + '\n```\n'.length + '\n```'.length;
  let dropped = 0;
  let length = lines.reduce((total, line) => total + line.length + 1, 0);
  while (lines.length > 1 && frame + length + 20 > max) {
    length -= (lines.shift()?.length ?? 0) + 1;
    dropped += 1;
  }
  if (lines.length === 1 && frame + length > max) lines[0] = `${[...(lines[0] ?? '')].slice(0, Math.max(0, max - frame - 2)).join('')}…`;
  const first = dropped > 0 ? [`… ${dropped} older lines not shown`] : [];
  return `${heading}\n\`\`\`\n${[...first, ...lines].join('\n')}\n\`\`\``;
}

/** Grafana Explore with the same query and window (Grafana 10+ "panes" URL). */
export function exploreLink(config: LokiConfig, query: string, from: number, to: number): string | undefined {
  if (config.grafanaUrl === undefined) return undefined;
  const uid = config.grafanaDatasourceUid;
  const datasource = uid === undefined ? {} : { datasource: uid };
  const pane = {
    ...datasource,
    queries: [{ refId: 'A', expr: query, queryType: 'range', ...(uid === undefined ? {} : { datasource: { type: 'loki', uid } }) }],
    range: { from: String(from), to: String(to) },
  };
  const url = `${config.grafanaUrl.replace(/\/+$/, '')}/explore?schemaVersion=1&panes=${encodeURIComponent(JSON.stringify({ lookout: pane }))}&orgId=${config.grafanaOrgId}`;
  return `<${escapeMrkdwn(url)}|Open in Grafana>`;
}
