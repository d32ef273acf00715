import { logqlSelector, logqlString, msToNs, type LokiEntry, type LokiPort } from '../../src/integrations/loki.ts';
import type { AlertTarget, Enricher } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import type { LokiConfig } from './enrichment-config.ts';
import { code, plural } from './format.ts';
import { clipLogLine, exploreLink, fitCodeBlock, oneLogLine } from './log-excerpt.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface LogsEnricherOptions {
  loki: LokiPort;
  config: LokiConfig;
  redactor: Redactor;
  now: () => number;
}

/** A log line longer than this is cut: one stack-trace line must not fill the excerpt. */
const LINE_MAX = 300;
const SUMMARY_LINE_MAX = 140;

/**
 * A Loki excerpt around the alert's start for its pod (and container, when named). Error-like
 * lines are asked for first, filtered by Loki (`|~`), so a noisy pod's errors are not pushed
 * out by the limit; only when there are none does the excerpt show the newest lines of the
 * window. Lines are redacted, then escaped for a code block.
 */
export function createLogsEnricher({ loki, config, redactor, now }: LogsEnricherOptions): Enricher {
  return {
    source: 'logs',
    async enrich(alert, target, signal) {
      const { namespace, pod } = target;
      if (namespace === undefined || pod === undefined) return undefined;
      const startsAt = Date.parse(alert.startsAt);
      if (Number.isNaN(startsAt)) return undefined;
      const from = startsAt - config.windowBeforeMs;
      // Never ask for the future: lines after "now" cannot exist yet, and the end bounds the link too.
      const to = Math.max(from + 1, Math.min(startsAt + config.windowAfterMs, now()));
      const selector = streamSelector(target, config);
      const range = { startNs: msToNs(from), endNs: msToNs(to), limit: config.maxLines, direction: 'backward' as const };

      return withSafeErrors(async () => {
        let errorLike = true;
        const errorQuery = `${selector} |~ ${logqlString(config.errorPattern)}`;
        let entries = await loki.queryRange({ ...range, query: errorQuery }, signal);
        if (entries.length === 0) {
          errorLike = false;
          entries = await loki.queryRange({ ...range, query: selector }, signal);
        }

        const where = code(`${namespace}/${pod}${target.container === undefined ? '' : `/${target.container}`}`);
        const window = `${clock(from)}–${clock(to)} UTC`;
        const link = exploreLink(config, errorLike ? errorQuery : selector, from, to);
        if (entries.length === 0) {
          return { source: 'logs', summary: '', detail: `*Logs* ${where} ${window}: no lines in Loki.${link ? ` ${link}` : ''}` };
        }

        // Loki answered newest first; people read logs oldest first.
        const chronological = [...entries].reverse();
        const showContainer = target.container === undefined && new Set(entries.map((entry) => entry.labels[config.labels.container])).size > 1;
        // Redacted before anything is cut, so a cut never leaves half a secret the patterns miss.
        const redacted = redactor.redact(chronological.map((entry) => oneLogLine(entry.line)).join('\n')).split('\n');
        const body = chronological.map((entry, index) => formatLine(entry, redacted[index] ?? '', showContainer, config)).join('\n');
        const heading = `*Logs* ${where} ${window} · ${errorLike ? plural(entries.length, 'error-like line') : `newest ${plural(entries.length, 'line')}, none error-like`}${link ? ` · ${link}` : ''}`;
        const detail = fitCodeBlock(heading, body, FACT_LIMITS.detail);

        // The newest line, as redacted with its neighbours (it may sit inside a multi-line secret).
        const newest = redacted[redacted.length - 1];
        const count = `${entries.length}${entries.length >= config.maxLines ? '+' : ''} error ${entries.length === 1 ? 'line' : 'lines'}`;
        const summary = errorLike && newest !== undefined ? `📜 ${count}, last: ${code(newest, SUMMARY_LINE_MAX)}` : '';
        return { source: 'logs', summary, detail };
      });
    },
  };
}

function streamSelector(target: AlertTarget, config: LokiConfig): string {
  const matchers: Array<[string, string]> = [
    [config.labels.namespace, target.namespace ?? ''],
    [config.labels.pod, target.pod ?? ''],
  ];
  if (target.container !== undefined) matchers.push([config.labels.container, target.container]);
  return logqlSelector(matchers);
}

/** "09:55:01 app | message", with the container only when the excerpt mixes several. */
function formatLine(entry: LokiEntry, line: string, showContainer: boolean, config: LokiConfig): string {
  const ms = Number(BigInt(entry.timestampNs) / 1_000_000n);
  const container = showContainer ? `${entry.labels[config.labels.container] ?? '?'} | ` : '';
  return `${new Date(ms).toISOString().slice(11, 19)} ${container}${clipLogLine(line, LINE_MAX)}`;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}
