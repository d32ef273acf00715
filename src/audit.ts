import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { clipMrkdwn, escapeMrkdwn, oneLine } from '../alerts/render.ts';
import type { AuditEntry, AuditTrail, ObjectReference } from './access/authorization.ts';
import { describePermission } from './kube/access-review.ts';
import type { KubeHttp } from './kube/kube-http.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { createSecretRedactor, stripInvisible, type Redactor } from './redact-secrets.ts';
import type { Store } from './state/store.ts';

export type AuditSink = 'log' | 'channel' | 'event';

export interface AuditTrailOptions {
  log: Logger;
  metrics: Metrics;
  /** Where audit-channel lines are queued (the outbox's notices lane), so they survive a restart. */
  store: Pick<Store, 'addNotice'>;
  /** Slack channel id for audit lines; no channel sink when absent. */
  auditChannel?: string;
  /** Called after a line is queued, so the outbox sends it without waiting for its next pass. */
  onNotice?: () => void;
  /**
   * Lookout's OWN Kubernetes client (never impersonating: the Event records what a person did,
   * and people are not granted `create events`). No Event sink when Kubernetes is not configured.
   */
  kube?: Pick<KubeHttp, 'request'>;
  /** Event reportingInstance: the pod name (a pod's hostname) by default. */
  reportingInstance?: string;
  /** Lookout's redactor (configured patterns); the built-in and default patterns without one. */
  redactor?: Redactor;
  now?: () => number;
}

/** The Event's reportingController: `kubectl get events --field-selector reportingComponent=lookout`. */
export const REPORTING_CONTROLLER = 'lookout';

/** events.k8s.io/v1 limits (validation in the API server). */
const NOTE_MAX_BYTES = 1024;
const REASON_MAX = 128;

const DEFAULT_REDACTOR = createSecretRedactor();

/**
 * Free text in an audit record (a person's display name, a command's detail) with anything shaped
 * like a credential redacted — Lookout's one redactor (src/redact-secrets.ts): a caller may pass
 * a secret in free text by mistake — and control and bidirectional characters removed.
 */
export function scrubSecrets(text: string, redactor: Redactor = DEFAULT_REDACTOR): string {
  return stripInvisible(redactor.redact(text));
}

/**
 * The audit trail: every attempt at an action — allowed, denied or failed — goes to three
 * sinks, each independent of the others:
 *
 * 1. a structured log line (`audit: true`), info when allowed and warn otherwise;
 * 2. a line in the audit channel, queued durably in the outbox's notices lane;
 * 3. a Kubernetes Event (events.k8s.io/v1) on the object the action was about, so
 *    `kubectl events` next to the object shows who did what from Slack.
 *
 * A sink that fails is logged and counted (`lookout_audit_failures_total{sink}`); the others
 * still record, and record() never throws, so auditing cannot break the action it records.
 */
export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const { log, metrics, store, auditChannel, onNotice, kube } = options;
  const scrub = (text: string): string => scrubSecrets(text, options.redactor);
  const now = options.now ?? Date.now;
  const reportingInstance = clip(options.reportingInstance ?? hostname(), 128);

  const sinks: Array<[AuditSink, (entry: AuditEntry) => Promise<void> | void]> = [
    ['log', (entry) => writeLogLine(log, entry, scrub)],
  ];
  if (auditChannel !== undefined) {
    sinks.push([
      'channel',
      async (entry) => {
        await store.addNotice(auditChannel, channelLine(entry, scrub), now());
        onNotice?.();
      },
    ]);
  }
  if (kube !== undefined) {
    sinks.push([
      'event',
      async (entry) => {
        if (entry.target === undefined) return;
        const event = auditEvent(entry, entry.target, reportingInstance, now(), scrub);
        await kube.request({
          method: 'POST',
          path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`,
          body: event,
        });
      },
    ]);
  }

  return {
    async record(entry) {
      await Promise.all(
        sinks.map(async ([sink, write]) => {
          try {
            await write(entry);
          } catch (error) {
            metrics.auditFailures.inc({ sink });
            try {
              log.error({ err: error, sink, action: entry.action, slackUserId: entry.actor.slackUserId }, 'audit sink failed; the other sinks still record');
            } catch {
              // The log itself is the failing sink; the metric above still counts it.
            }
          }
        }),
      );
    },
  };
}

function writeLogLine(log: Logger, entry: AuditEntry, scrub: (text: string) => string): void {
  const { attributes } = entry;
  const fields = {
    audit: true,
    action: entry.action,
    outcome: entry.outcome,
    ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
    slackUserId: entry.actor.slackUserId,
    slackUserName: scrub(entry.actor.slackUserName),
    kubeUsername: entry.identity?.username ?? null,
    kubeGroups: entry.identity?.groups ?? [],
    verb: attributes.verb,
    group: attributes.group,
    resource: attributes.resource,
    ...(attributes.subresource !== undefined ? { subresource: attributes.subresource } : {}),
    namespace: attributes.namespace ?? null,
    name: attributes.name ?? null,
    target: entry.target ?? null,
    detail: scrub(entry.detail),
  };
  const message = `audit: ${entry.action} ${entry.outcome}`;
  if (entry.outcome === 'allowed') log.info(fields, message);
  else log.warn(fields, message);
}

/** An audit channel line, and the free-text detail within it. */
const LINE_MAX = 3000;
const DETAIL_MAX = 2000;

const OUTCOME_ICON = { allowed: '✅', denied: '⛔', failed: '⚠️' } as const;

/** One mrkdwn line for the audit channel. Everything people typed is escaped: no mentions, no links. */
export function channelLine(entry: AuditEntry, scrub: (text: string) => string = scrubSecrets): string {
  const who = /^[UW][A-Z0-9]{2,}$/.test(entry.actor.slackUserId) ? `<@${entry.actor.slackUserId}>` : escapeMrkdwn(entry.actor.slackUserId);
  const as = entry.identity
    ? ` as \`${escapeMrkdwn(entry.identity.username)}\`${entry.identity.groups.length > 0 ? ` (groups ${entry.identity.groups.map((g) => `\`${escapeMrkdwn(g)}\``).join(', ')})` : ''}`
    : ' (no Kubernetes identity)';
  const target = entry.target ? ` · on ${escapeMrkdwn(describeObject(entry.target))}` : '';
  // The free text is cut before the line is: clipMrkdwn never splits an entity (`&amp;`) or a
  // surrogate pair, which a cut of the composed line can.
  const detail = entry.detail !== '' ? ` — ${clipMrkdwn(oneLine(scrub(entry.detail)), DETAIL_MAX)}` : '';
  const line =
    `${OUTCOME_ICON[entry.outcome]} *${escapeMrkdwn(entry.action)}* ${entry.outcome} · ${who} (${escapeMrkdwn(oneLine(scrub(entry.actor.slackUserName)))})${as}` +
    ` · ${escapeMrkdwn(describePermission(entry.attributes))}${target}${detail}`;
  return clip(line, LINE_MAX);
}

/** The events.k8s.io/v1 Event body for an audit entry. */
export function auditEvent(entry: AuditEntry, target: ObjectReference, reportingInstance: string, at: number, scrub: (text: string) => string = scrubSecrets) {
  // Cluster-scoped objects (Node, Namespace) take their Events in `default`, as the API server requires.
  const namespace = target.namespace ?? 'default';
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: {
      // <object>.<hex>, like the names Kubernetes' own recorders give. The object's name is cut
      // to leave room, and a cut that ends in "-" or "." would make an invalid DNS subdomain; so
      // would a virtual object's name such as a Vault path (`secret/payments/db`).
      name: `${eventNamePrefix(target.name)}.${at.toString(16)}${randomBytes(4).toString('hex')}`,
      namespace,
      labels: { 'app.kubernetes.io/managed-by': REPORTING_CONTROLLER },
    },
    eventTime: microTime(at),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance,
    action: clip(camel(entry.action), REASON_MAX),
    reason: clip(entry.outcome === 'allowed' && entry.reason ? entry.reason : defaultReason(entry), REASON_MAX),
    type: entry.outcome === 'allowed' ? 'Normal' : 'Warning',
    regarding: {
      apiVersion: target.apiVersion,
      kind: target.kind,
      name: target.name,
      ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
    },
    note: clipBytes(eventNote(entry, scrub), NOTE_MAX_BYTES),
  };
}

/** The object's name as the start of a DNS subdomain: `secret/payments/db` → `secret-payments-db`. */
function eventNamePrefix(name: string): string {
  const prefix = name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').slice(0, 200).replace(/^[-.]+|[-.]+$/g, '');
  return prefix === '' ? 'object' : prefix;
}

/** "AcknowledgeDeniedForSlackUser", "ScaleFailedForSlackUser", "CanIBySlackUser". */
function defaultReason(entry: AuditEntry): string {
  const action = camel(entry.action);
  if (entry.outcome === 'denied') return `${action}DeniedForSlackUser`;
  if (entry.outcome === 'failed') return `${action}FailedForSlackUser`;
  return `${action}BySlackUser`;
}

function eventNote(entry: AuditEntry, scrub: (text: string) => string): string {
  const identity = entry.identity
    ? `Kubernetes user ${entry.identity.username}${entry.identity.groups.length > 0 ? ` (groups ${entry.identity.groups.join(', ')})` : ''}`
    : 'no Kubernetes identity (unmapped)';
  const permission = describePermission(entry.attributes).replaceAll('`', '');
  const detail = entry.detail !== '' ? `: ${oneLine(scrub(entry.detail))}` : '';
  return `${entry.action} ${entry.outcome} for Slack user ${oneLine(scrub(entry.actor.slackUserName))} (${entry.actor.slackUserId}) as ${identity}; ${permission}${detail}`;
}

function describeObject(target: ObjectReference): string {
  return `${target.kind} ${target.namespace !== undefined ? `${target.namespace}/` : ''}${target.name}`;
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits (the server parses exactly that). */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** `can-i` → `CanI`, `acknowledge` → `Acknowledge`. */
function camel(action: string): string {
  const words = action.split(/[^A-Za-z0-9]+/).filter((word) => word !== '');
  const joined = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
  return joined === '' ? 'Action' : joined;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Cuts to `max` UTF-8 bytes without splitting a character. */
function clipBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > max - 3) break;
    out += char;
    bytes += size;
  }
  return `${out}…`;
}
