import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerEventLoopDelay } from './event-loop-delay.ts';
import { STORE_PROBLEM_KINDS } from './state/store-health.ts';

/**
 * Lookout's own metrics, on a registry it owns (never prom-client's global one),
 * so tests and several instances in one process do not share counters.
 */
export interface Metrics {
  registry: Registry;
  /** Alerts in accepted webhook payloads, by alert status. */
  alertsReceived: Counter<'status'>;
  /** Webhook requests by outcome: accepted, unauthorized, invalid, too_large, store_failed, store_unavailable. */
  webhookRequests: Counter<'outcome'>;
  /** Slack Web API calls by method and outcome: ok, rate_limited, retryable, error. */
  slackRequests: Counter<'method' | 'outcome'>;
  slackRequestDuration: Histogram<'method'>;
  /** Deliveries waiting in the outbox, by kind: message, reply, notice. */
  outboxDepth: Gauge<'kind'>;
  outboxOldestMessage: Gauge;
  /** Deliveries the outbox abandoned, by kind and reason; each one is also an error log line. */
  outboxGaveUp: Counter<'kind' | 'reason'>;
  /** 1 while every Slack delivery is paused because Slack refused the token, by the error Slack gave. */
  slackDeliveriesPaused: Gauge<'reason'>;
  /** Channels Lookout cannot post in (not invited, archived, missing); their alerts go to the default channel. */
  slackChannelsUnreachable: Gauge;
  /** Looking a post up by its marker after an unknown outcome, by kind (message, detail, notice) and outcome: found, not_found, error. */
  outboxLookups: Counter<'kind' | 'outcome'>;
  /** From receiving a notification to Slack showing it. */
  deliveryLatency: Histogram;
  /** Slash commands by subcommand and outcome: ok, invalid, refused, denied, unmapped, error. */
  slashCommands: Counter<'command' | 'outcome'>;
  /** Socket Mode only: 1 while Lookout's WebSocket to Slack is connected. */
  slackSocketConnected: Gauge;
  /** Socket Mode only: requests Slack delivered, by outcome: first (run), duplicate (acked, dropped), unrecorded (the store failed: acked, not run). */
  slackSocketDeliveries: Counter<'outcome'>;
  /** Audit records a sink failed to write, by sink: log, channel, event. Each is also an error log line. */
  auditFailures: Counter<'sink'>;
  /** Button clicks by action and outcome: ok, refused, denied, error. */
  buttonActions: Counter<'action' | 'outcome'>;
  /** RBAC gate decisions by outcome: allowed, denied, unmapped, error. */
  accessDecisions: Counter<'outcome'>;
  /** Enrichment sources that failed or timed out, by source and a short reason (timeout, error, …). */
  enrichmentFailures: Counter<'source' | 'reason'>;
  /** How long each enrichment source took for one alert, failures included. */
  enrichmentDuration: Histogram<'source'>;
  /**
   * Kubernetes API requests sent for enrichment (cache hits and shared lookups not counted), by
   * resource and outcome: ok, not_found, forbidden, unauthorized, http_error, invalid, timeout,
   * aborted, unreachable. Divided by enriched alerts, it is the storm budget (at most 3 each).
   */
  kubeRequests: Counter<'resource' | 'outcome'>;
  /** Loki queries sent for enrichment, by outcome: ok, timeout, aborted, http_error, unreachable, invalid. */
  lokiRequests: Counter<'outcome'>;
  /** Open HTTP connections to Lookout's server. */
  httpConnections: Gauge;
  /**
   * Connections Lookout closed to stay within its limits, by reason: evicted_idle (the cap was
   * reached and this was the oldest idle one), refused (the cap was reached and none was idle),
   * no_request (no complete request headers within headersTimeoutMs of opening).
   */
  httpConnectionsClosed: Counter<'reason'>;
  /** 1 while the state store cannot write (kind=unwritable: disk full, I/O error) or its file is damaged (kind=damaged). */
  stateStoreProblem: Gauge<'kind'>;
  /** Transactions the state store committed, by sync (full: with an fsync; normal: made durable by the next full one). */
  stateCommits: Counter<'sync'>;
  /** PostgreSQL store: transactions cancelled by a conflict with another (serialization failure, deadlock) and run again. */
  stateTransactionConflicts: Counter;
  /** PostgreSQL store: 1 while its LISTEN connection for cross-replica wake-ups is up. */
  stateChangeListenerConnected: Gauge;
  /** Promise rejections nothing handled; each is an error log line with a ref, and Lookout keeps running. */
  unhandledRejections: Counter;
  /** How late the event loop ran (histogram, fed from perf_hooks; see event-loop-delay.ts). */
  eventLoopDelay: Histogram;
  /**
   * Alertmanager API v2 calls for silences, by operation (create, list, get, expire) and outcome:
   * ok, not_found, refused, unauthorized, http_error, invalid, timeout, unreachable.
   */
  alertmanagerRequests: Counter<'operation' | 'outcome'>;
  /**
   * When each certificate the scanner found expires (notAfter, seconds since the epoch), by
   * namespace, name, kind (Certificate, Secret) and source (status, leaf, chain). Series of
   * objects that are gone are removed (src/certificates/expiry-metric.ts).
   */
  certificateExpiry: Gauge<'namespace' | 'name' | 'kind' | 'source'>;
  /** Certificate scans by outcome: ok, error (a list failed; each is also a log line). */
  certificateScans: Counter<'outcome'>;
  /** How long the last certificate scan took. */
  certificateScanDuration: Gauge;
  vaultRequests: Counter<'operation' | 'outcome'>;
  /** Reconciliation passes with Alertmanager, by outcome (ok, alertmanager_error, store_error). */
  reconcileRuns: Counter<'outcome'>;
  /** Alert messages the reconciler repaired, by kind (resolved, silenced). */
  reconcileRepairs: Counter<'kind'>;
  /** Leases this replica holds now, by kind (channel: delivers to it; job: runs it). */
  leasesHeld: Gauge<'kind'>;
  /** Leases this replica started to hold (free, released or expired before), by kind: a failover shows here. */
  leaseTakeovers: Counter<'kind'>;
  /** Notifications whose fold failed on their own, set aside in quarantined_notifications (src/fold-inbox.ts). */
  notificationsQuarantined: Counter;
}

export function createMetrics(registry = new Registry()): Metrics {
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    eventLoopDelay: registerEventLoopDelay(registry),
    alertsReceived: new Counter({
      name: 'lookout_alerts_received_total',
      help: 'Alerts received from Alertmanager, by status.',
      labelNames: ['status'],
      registers: [registry],
    }),
    webhookRequests: new Counter({
      name: 'lookout_webhook_requests_total',
      help: 'Alertmanager webhook requests, by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    slackRequests: new Counter({
      name: 'lookout_slack_requests_total',
      help: 'Slack Web API calls, by method and outcome.',
      labelNames: ['method', 'outcome'],
      registers: [registry],
    }),
    slackRequestDuration: new Histogram({
      name: 'lookout_slack_request_duration_seconds',
      help: 'Duration of Slack Web API calls.',
      labelNames: ['method'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    outboxDepth: new Gauge({
      name: 'lookout_outbox_depth',
      help: 'Slack deliveries waiting in the outbox, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    outboxOldestMessage: new Gauge({
      name: 'lookout_outbox_oldest_message_timestamp_seconds',
      help: 'When the group message waiting longest for Slack last changed, in seconds since the epoch; 0 when none waits.',
      registers: [registry],
    }),
    outboxGaveUp: new Counter({
      name: 'lookout_outbox_gave_up_total',
      help: 'Slack deliveries given up: a permanent error, or failing longer than giveUpAfterMs (then still retried), by kind and reason.',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    }),
    slackDeliveriesPaused: new Gauge({
      name: 'lookout_slack_deliveries_paused',
      help: 'Every Slack delivery is paused because Slack refused the bot token (1), by the error Slack gave.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    stateStoreProblem: (() => {
      const gauge = new Gauge({
        name: 'lookout_state_store_problem',
        help: 'The state store cannot write (kind=unwritable: disk full, I/O error), its file is damaged (kind=damaged), or its PostgreSQL cannot be reached (kind=unreachable): 1; webhooks get 503 meanwhile.',
        labelNames: ['kind'],
        registers: [registry],
      });
      // Every series exists from the start, so an alert on them needs no absent().
      for (const kind of STORE_PROBLEM_KINDS) gauge.set({ kind }, 0);
      return gauge;
    })(),
    stateCommits: new Counter({
      name: 'lookout_state_commits_total',
      help: 'Transactions the state store committed; sync=full with an fsync, sync=normal without (durable with the next full one). Calls that arrive while one commits share the next.',
      labelNames: ['sync'],
      registers: [registry],
    }),
    stateTransactionConflicts: new Counter({
      name: 'lookout_state_transaction_conflicts_total',
      help: 'PostgreSQL store: transactions PostgreSQL cancelled over a conflict with a concurrent one (serialization failure or deadlock) and that ran again.',
      registers: [registry],
    }),
    stateChangeListenerConnected: new Gauge({
      name: 'lookout_state_change_listener_connected',
      help: 'PostgreSQL store: 1 while its LISTEN connection is up, through which other replicas wake this one for work they queued; 0 while it reconnects (the wake-up then waits for a lease renewal).',
      registers: [registry],
    }),
    slackChannelsUnreachable: new Gauge({
      name: 'lookout_slack_channels_unreachable',
      help: 'Channels Lookout cannot post in (not invited, archived, missing); their alerts go to the default channel.',
      registers: [registry],
    }),
    outboxLookups: new Counter({
      name: 'lookout_outbox_lookups_total',
      help: 'Posts with an unknown outcome looked up in Slack by their metadata marker, by kind and outcome.',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'lookout_alert_delivery_latency_seconds',
      help: 'Time from receiving an Alertmanager notification to Slack showing it.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    slashCommands: new Counter({
      name: 'lookout_slash_commands_total',
      help: 'Slash commands, by subcommand and outcome.',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    }),
    slackSocketConnected: new Gauge({
      name: 'lookout_slack_socket_connected',
      help: 'Socket Mode: 1 while the WebSocket to Slack is connected.',
      registers: [registry],
    }),
    slackSocketDeliveries: new Counter({
      name: 'lookout_slack_socket_deliveries_total',
      help: 'Socket Mode: requests Slack delivered, by outcome (first, duplicate, unrecorded).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    auditFailures: new Counter({
      name: 'lookout_audit_failures_total',
      help: 'Audit records that one sink failed to write, by sink (log, channel, event).',
      labelNames: ['sink'],
      registers: [registry],
    }),
    buttonActions: new Counter({
      name: 'lookout_button_actions_total',
      help: 'Clicks on buttons that act, by action and outcome.',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
    accessDecisions: new Counter({
      name: 'lookout_access_decisions_total',
      help: 'RBAC gate decisions (identity mapping plus SubjectAccessReview), by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    enrichmentFailures: new Counter({
      name: 'lookout_enrichment_failures_total',
      help: 'Enrichment sources that failed or timed out for an alert, by source and reason.',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    enrichmentDuration: new Histogram({
      name: 'lookout_enrichment_duration_seconds',
      help: 'Duration of one enrichment source for one alert, failures included.',
      labelNames: ['source'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10],
      registers: [registry],
    }),
    kubeRequests: new Counter({
      name: 'lookout_kube_requests_total',
      help: 'Kubernetes API requests sent for enrichment, by resource and outcome.',
      labelNames: ['resource', 'outcome'],
      registers: [registry],
    }),
    vaultRequests: new Counter({
      name: 'lookout_vault_requests_total',
      help: 'Vault (or OpenBao) HTTP requests, by operation (login, renew, lookup of its own token, api) and outcome (ok or the failure reason).',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    alertmanagerRequests: new Counter({
      name: 'lookout_alertmanager_requests_total',
      help: 'Alertmanager API v2 requests for silences, by operation and outcome.',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    lokiRequests: new Counter({
      name: 'lookout_loki_requests_total',
      help: 'Loki queries sent for enrichment, by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    httpConnections: new Gauge({
      name: 'lookout_http_connections',
      help: 'Open HTTP connections to Lookout.',
      registers: [registry],
    }),
    httpConnectionsClosed: new Counter({
      name: 'lookout_http_connections_closed_total',
      help: 'HTTP connections Lookout closed to stay within its limits, by reason (evicted_idle, refused, no_request).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    unhandledRejections: new Counter({
      name: 'lookout_unhandled_rejections_total',
      help: 'Promise rejections that nothing handled (each logged with a ref id; Lookout keeps running).',
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: 'lookout_certificate_expiry_timestamp_seconds',
      help: 'When each certificate found by the certificate scanner expires (notAfter), in seconds since the epoch.',
      labelNames: ['namespace', 'name', 'kind', 'source'],
      registers: [registry],
    }),
    reconcileRuns: new Counter({
      name: 'lookout_reconcile_runs_total',
      help: 'Reconciliation passes with Alertmanager, by outcome (ok, alertmanager_error, store_error).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    reconcileRepairs: new Counter({
      name: 'lookout_reconcile_repairs_total',
      help: 'Alert messages the reconciliation with Alertmanager repaired, by kind (resolved, silenced).',
      labelNames: ['kind'],
      registers: [registry],
    }),
    leasesHeld: new Gauge({
      name: 'lookout_leases_held',
      help: 'Leases this replica holds now, by kind (channel: delivers to that Slack channel; job: runs that background job).',
      labelNames: ['kind'],
      registers: [registry],
    }),
    notificationsQuarantined: new Counter({
      name: 'lookout_notifications_quarantined_total',
      help: 'Alert notifications whose fold into their group failed on their own: moved to the quarantined_notifications table so later ones go on (docs/runbooks/lookout-notifications-quarantined.md).',
      registers: [registry],
    }),
    leaseTakeovers: new Counter({
      name: 'lookout_lease_takeovers_total',
      help: 'Leases this replica started to hold (they were free, released or expired), by kind (channel, job).',
      labelNames: ['kind'],
      registers: [registry],
    }),
    certificateScans: new Counter({
      name: 'lookout_certificate_scans_total',
      help: 'Background certificate scans, by outcome (ok, error).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    certificateScanDuration: new Gauge({
      name: 'lookout_certificate_scan_duration_seconds',
      help: 'How long the last background certificate scan took.',
      registers: [registry],
    }),
  };
}
