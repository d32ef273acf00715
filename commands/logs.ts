import type { LokiConfig } from '../alerts/enrichers/enrichment-config.ts';
import { escapeMrkdwn } from '../alerts/enrichers/format.ts';
import { clipLogLine, exploreLink, fitCodeBlock, oneLogLine } from '../alerts/enrichers/log-excerpt.ts';
import { InvalidInput, NotFound, UserError } from '../src/errors.ts';
import { LokiError, logqlSelector, logqlString, msToNs, type LokiPort } from '../src/integrations/loki.ts';
import type { ObjectReference } from '../src/access/authorization.ts';
import type { ResourceAttributes } from '../src/kube/access-review.ts';
import type { Redactor } from '../src/redact-secrets.ts';
import type { CommandDefinition, CommandReply, PersonKube } from './command.ts';
import { parseLogsArgs, type LogsArgs } from './logs-args.ts';
import { formatDuration } from './silence-support.ts';
import { asUserError, isStatus, resolveLogTarget, seg, type LogTarget } from './logs-target.ts';
import { wordsArgs } from './words-args.ts';

export interface LogsCommandOptions {
  /** Loki (LOKI_URL) and its settings: logs are read there when set, else from `pods/log`. */
  loki?: { client: LokiPort; config: LokiConfig };
  /** The enrichment redactor (createSecretRedactor over `enrichment.redact`). */
  redactor: Redactor;
  now: () => number;
}

/** The reply fits one Block Kit section (3,000 characters) as well as a plain text reply. */
export const LOGS_REPLY_MAX = 3000;
/** Lines read at most: far more than fit, so the newest that fit are always there. */
export const LOGS_READ_LINES = 500;
/** With `--grep` on pods/log the filter runs in Lookout, over this many of the newest lines. */
export const LOGS_GREP_SCAN_LINES = 5000;
/** Bytes the kubelet sends at most (limitBytes): bounds memory whatever the lines' length. */
const LOGS_READ_BYTES = 2 * 1024 * 1024;
/** Without `--since`, Loki is asked for the last hour (pods/log has no window: the last lines). */
const LOKI_DEFAULT_WINDOW_MS = 3_600_000;
/** A line longer than this is cut: one JSON blob must not fill the reply. */
const LINE_MAX = 400;

interface LogLine {
  /** ms since the epoch, when known. */
  at: number | undefined;
  text: string;
  container?: string;
}

/** What the reader found: lines oldest first, where from, and a Grafana link for Loki. */
interface LogRead {
  lines: LogLine[];
  source: string;
  /** More lines may exist beyond those read. */
  capped: boolean;
  link?: string;
}

/**
 * `/ops logs`: the last lines of a pod's (or a workload's pod's) log, shown only to the person.
 * Access is `get pods/log` in the namespace for both sources: Loki is read with Lookout's
 * credentials, so the same review is what keeps it from being a way around RBAC. The pod and
 * container are found as the person (docs/commands.md says how one is chosen).
 */
export function createLogsCommand(options: LogsCommandOptions): CommandDefinition<LogsArgs> {
  return {
    name: 'logs',
    summary: 'Show the last lines of a pod’s or a workload’s log (only you see them)',
    usage: '<namespace>/<pod|deployment> [-c container] [--since 15m] [--grep text] [--previous]',
    args: wordsArgs(parseLogsArgs),
    access: logsAccess,
    target: logsObject,
    auditReason: 'LogsReadBySlackUser',
    async run({ args, kube }) {
      if (kube === undefined) throw new UserError('Lookout is not connected to Kubernetes, so it cannot read logs for you.');
      return readLogs(options, kube, args);
    },
  };
}

/**
 * What `/ops logs` replies, for a person whose `get pods/log` review (logsAccess) was allowed:
 * the command and the Show logs button both end here.
 */
export async function readLogs(options: LogsCommandOptions, kube: PersonKube, args: LogsArgs): Promise<Required<Pick<CommandReply, 'text' | 'auditDetail' | 'auditTarget'>>> {
  const target = await resolveLogTarget(kube, args, options.loki !== undefined);
  const read = options.loki ? await readFromLoki(options.loki, target, args, options.now) : await readFromKubernetes(kube, target, args);
  return {
    text: renderLogs(target, args, read, options.redactor),
    auditDetail: `read ${read.lines.length} log lines of ${target.namespace}/${target.pod}${target.container ? `/${target.container}` : ''} from ${read.source}`,
    auditTarget: target.audited,
  };
}

const WORKLOAD_KINDS = { deployment: 'Deployment', statefulset: 'StatefulSet', daemonset: 'DaemonSet' } as const;

/** The object named, where the audit Event goes; undefined while a name may be a pod or a Deployment. */
export function logsObject(args: Omit<LogsArgs, 'previous'>): ObjectReference | undefined {
  if (args.kind === 'pod') return { apiVersion: 'v1', kind: 'Pod', namespace: args.namespace, name: args.name };
  if (args.kind === undefined) return undefined;
  return { apiVersion: 'apps/v1', kind: WORKLOAD_KINDS[args.kind], namespace: args.namespace, name: args.name };
}

/** `get pods/log` in the namespace; with the pod's name when a pod is named explicitly. */
export function logsAccess(args: Omit<LogsArgs, 'previous'>): ResourceAttributes {
  return { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: args.namespace, ...(args.kind === 'pod' ? { name: args.name } : {}) };
}

/** The kubelet's log through the API server (`pods/log`), as the person. */
async function readFromKubernetes(kube: PersonKube, target: LogTarget, args: LogsArgs): Promise<LogRead> {
  const container = target.container ?? '';
  if (args.previous) requirePreviousInstance(target);
  const limit = args.grep === undefined ? LOGS_READ_LINES : LOGS_GREP_SCAN_LINES;
  const query: Record<string, string> = {
    container,
    timestamps: 'true',
    tailLines: String(limit),
    limitBytes: String(LOGS_READ_BYTES),
    ...(args.sinceMs === undefined ? {} : { sinceSeconds: String(Math.ceil(args.sinceMs / 1000)) }),
    ...(args.previous ? { previous: 'true' } : {}),
  };
  let text: string;
  try {
    text = await kube.request<string>({ method: 'GET', path: `/api/v1/namespaces/${seg(target.namespace)}/pods/${seg(target.pod)}/log`, query, responseType: 'text' });
  } catch (error) {
    // 400 or 404: the container has not started, its node's kubelet has no log for it, or the pod
    // just went away. The server's own text (kept in the log) can quote the request.
    if (isStatus(error, 400) || isStatus(error, 404)) {
      throw new NotFound(`Kubernetes has no log for container \`${container}\` of pod \`${target.pod}\`${args.previous ? ' (previous instance)' : ''}: it may not have started yet, or the pod is gone.`, { cause: error });
    }
    throw asUserError(error, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: target.namespace, name: target.pod });
  }
  const raw = text.split('\n');
  if (raw[raw.length - 1] === '') raw.pop();
  let lines = raw.map(parseKubeletLine);
  if (args.grep !== undefined) {
    const needle = args.grep;
    lines = lines.filter((line) => line.text.includes(needle));
  }
  return { lines, source: 'pods/log', capped: raw.length >= limit };
}

/** `2026-12-02T10:00:00.123456789Z message` (timestamps=true) → time and text. */
function parseKubeletLine(line: string): LogLine {
  const space = line.indexOf(' ');
  const at = space > 0 ? Date.parse(line.slice(0, space)) : Number.NaN;
  return Number.isNaN(at) ? { at: undefined, text: line } : { at, text: line.slice(space + 1) };
}

/** Loki's lines for the pod (one container, or all when the pod is gone and none was named). */
async function readFromLoki(loki: NonNullable<LogsCommandOptions['loki']>, target: LogTarget, args: LogsArgs, now: () => number): Promise<LogRead> {
  const { config, client } = loki;
  const labels = config.labels;
  let from: number;
  let to = now();
  if (args.previous) {
    // Loki does not tell instances apart: the previous one is its start-to-finish window.
    const terminated = requirePreviousInstance(target);
    from = Date.parse(terminated.startedAt ?? '');
    to = Date.parse(terminated.finishedAt ?? '') + 1000;
    if (Number.isNaN(from) || Number.isNaN(to)) throw new UserError(`Kubernetes does not say when the previous instance of \`${target.container ?? ''}\` ran, so Loki cannot be asked for it.`);
    if (args.sinceMs !== undefined) from = Math.max(from, to - args.sinceMs);
  } else {
    from = to - (args.sinceMs ?? LOKI_DEFAULT_WINDOW_MS);
  }
  const matchers: Array<[string, string]> = [
    [labels.namespace, target.namespace],
    [labels.pod, target.pod],
  ];
  if (target.container !== undefined) matchers.push([labels.container, target.container]);
  const query = `${logqlSelector(matchers)}${args.grep === undefined ? '' : ` |= ${logqlString(args.grep)}`}`;
  let entries;
  try {
    entries = await client.queryRange({ query, startNs: msToNs(from), endNs: msToNs(to), limit: LOGS_READ_LINES, direction: 'backward' });
  } catch (error) {
    if (error instanceof LokiError) throw new UserError(`Loki did not answer (${error.reason}); try again, or read the log with \`kubectl logs\`.`, { cause: error });
    throw error;
  }
  const lines = [...entries].reverse().map((entry) => ({
    at: Number(BigInt(entry.timestampNs) / 1_000_000n),
    text: entry.line,
    ...(entry.labels[labels.container] === undefined ? {} : { container: entry.labels[labels.container] }),
  }));
  const link = exploreLink(config, query, from, to);
  return { lines, source: 'Loki', capped: entries.length >= LOGS_READ_LINES, ...(link === undefined ? {} : { link }) };
}

/** The container's last termination, or a clear refusal when it never restarted. */
function requirePreviousInstance(target: LogTarget): { startedAt?: string | null | undefined; finishedAt?: string | null | undefined } {
  const pod = target.podObject;
  if (pod === undefined) throw new InvalidInput(`\`--previous\` needs the pod in Kubernetes, and \`${target.pod}\` is gone.`);
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const terminated = statuses.find((status) => status.name === target.container)?.lastState?.terminated;
  if (!terminated) throw new NotFound(`Container \`${target.container ?? ''}\` of pod \`${target.pod}\` has no previous instance (it has not restarted).`);
  return terminated;
}

/** Heading, notes and the newest lines that fit, redacted before anything is cut. */
function renderLogs(target: LogTarget, args: LogsArgs, read: LogRead, redactor: Redactor): string {
  const where = `\`${target.namespace}/${target.pod}${target.container === undefined ? '' : `/${target.container}`}\``;
  const filters = [
    args.previous ? 'previous instance' : undefined,
    args.sinceMs === undefined ? undefined : `since ${formatDuration(args.sinceMs)}`,
    args.grep === undefined ? undefined : `lines containing ${quoteInline(args.grep)}`,
  ].filter((part) => part !== undefined);
  const count = read.lines.length === 0 ? 'no lines' : `${read.lines.length}${read.capped ? '+' : ''} ${read.lines.length === 1 ? 'line' : 'lines'}`;
  const heading = [`*Logs* ${where} from ${read.source}${filters.length > 0 ? ` · ${filters.join(' · ')}` : ''} · ${count}${read.link ? ` · ${read.link}` : ''}`, ...target.notes.map((note) => `_${note}_`)].join('\n');
  if (read.lines.length === 0) return heading;

  // Redacted together before any cut, so a cut never leaves half a secret (a PEM block spans lines).
  const redacted = redactor.redact(read.lines.map((line) => oneLogLine(line.text)).join('\n')).split('\n');
  const showContainer = target.container === undefined && new Set(read.lines.map((line) => line.container)).size > 1;
  const body = read.lines
    .map((line, index) => {
      const at = line.at === undefined ? '' : `${new Date(line.at).toISOString().slice(11, 19)} `;
      const container = showContainer ? `${line.container ?? '?'} | ` : '';
      return `${at}${container}${clipLogLine(redacted[index] ?? '', LINE_MAX)}`;
    })
    .join('\n');
  return fitCodeBlock(heading, body, LOGS_REPLY_MAX);
}

/** Text in inline code, unless a backtick would end the span early. */
function quoteInline(text: string): string {
  const escaped = escapeMrkdwn(text);
  return text.includes('`') ? `"${escaped}"` : `\`${escaped}\``;
}
