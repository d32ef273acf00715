import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import type { Writable } from 'node:stream';
import { createEnrichmentSources, createLokiClient } from '../alerts/enrichers/index.ts';
import { EnrichmentRunner } from '../alerts/enrichment-runner.ts';
import { renderGroupDetail, renderGroupMessage } from '../alerts/render.ts';
import { CERTS_COMMAND } from '../commands/certs-renew.ts';
import { createCommands } from '../commands/index.ts';
import type { LogsCommandOptions } from '../commands/logs.ts';
import { AccessGate } from './access/access-gate.ts';
import { HomeWorkspace } from './access/home-workspace.ts';
import { createAuditTrail } from './audit.ts';
import { CertificateScanner } from './certificates/certificate-scanner.ts';
import { configuredChecks } from './doctor/configured-checks.ts';
import { SyntheticWatch } from './doctor/synthetic-watch.ts';
import { CertificateExpiryMetric } from './certificates/expiry-metric.ts';
import type { Config } from './config.ts';
import { createAlertmanagerHandler } from './http/alertmanager-route.ts';
import { createMetricsRoute, createReadyz, healthz, type ReadinessCheck } from './http/health-routes.ts';
import { defaultMaxConnections } from './http/connection-limits.ts';
import { createHttpServer, safeRoute } from './http/server.ts';
import { InboxWorker } from './inbox-worker.ts';
import { AlertmanagerClient } from './integrations/alertmanager.ts';
import { AlertmanagerReconciler } from './alertmanager-reconciler.ts';
import { SilenceExpiry } from './silence-expiry.ts';
import { silenceActions } from './slack/silence-actions.ts';
import { IdentityResolver } from './identity/resolve-identity.ts';
import type { SlackDirectory } from './identity/slack-directory.ts';
import { SlackWebDirectory } from './identity/slack-web-directory.ts';
import { KubeHttp } from './kube/kube-http.ts';
import { LookoutKubeReads } from './kube/lookout-reads.ts';
import type { KubeCredentials } from './kube/kube-credentials.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { foldInbox } from './fold-inbox.ts';
import { ConsoleSlackApi } from './slack/console-slack-api.ts';
import { Outbox } from './slack/outbox.ts';
import { WebSlackApi } from './slack/slack-api.ts';
import { createSlackApp } from './slack/slack-app.ts';
import { acknowledgeActions } from './slack/acknowledge-action.ts';
import { logsActions } from './slack/logs-action.ts';
import { pendingModalSchema, registerAlertActions } from './slack/alert-actions.ts';
import { workloadActions } from './slack/workload-actions.ts';
import { createCommandButtons, createConfirmationButtons, type CommandInteractivity } from './slack/dispatcher.ts';
import { InteractionRegistry } from './slack/interaction-registry.ts';
import { consoleInteractionSlack, createInteractionSlack } from './slack/interaction-slack.ts';
import { StoredInteractions } from './slack/stored-interactions.ts';
import { pendingConfirmationSchema } from './slack/pending-confirmation.ts';
import { createSlackRequestGuard, refuseSlackEventsInSocketMode } from './slack/slack-request-guard.ts';
import { createSecretRedactor } from './redact-secrets.ts';
import { CleanOutgoingSlackApi } from './slack/clean-outgoing.ts';
import { JobLease, type LeasedJob } from './replicas/job-lease.ts';
import { RetentionPruner } from './state/retention.ts';
import type { Store } from './state/store.ts';
import { openStore } from './state/open-store.ts';
import { VaultClient } from './vault/vault-client.ts';

export interface LookoutOptions {
  config: Config;
  log: Logger;
  /** Where console mode prints messages. */
  stdout: Writable;
  now?: () => number;
  /** Lookout's own Kubernetes credentials (loadKubeCredentials); without them every gated action is refused. */
  kubeCredentials?: KubeCredentials | undefined;
  /** The process's soft open-file limit, for the default HTTP connection cap; undefined when unknown. */
  openFileLimit?: number | undefined;
  /**
   * The state store's worker thread died: Lookout cannot store or deliver anything, so the
   * process must end (src/main.ts exits; the orchestrator restarts it and the durable inbox and
   * outbox resume). Without it the failure is only logged and reported by /readyz.
   */
  onStoreFailed?: (error: Error) => void;
}

/** Items per list request of the certificate scanner: smaller pages, less garbage alive at once (measured, docs/architecture.md). */
const CERTIFICATE_SCAN_PAGE = 100;

export interface Lookout {
  /** Listen, and resume anything a previous run left in the inbox or outbox. */
  start(): Promise<AddressInfo>;
  /**
   * Stop taking requests, then keep delivering what is due (calls in flight included) for up to
   * `config.shutdown.drainTimeoutMs`, and close the store.
   */
  stop(): Promise<void>;
  readonly metrics: Metrics;
  readonly store: Store;
}

/** Builds Lookout from validated configuration; reads no environment. */
export function createLookout({ config, log, stdout, now = Date.now, kubeCredentials, openFileLimit, onStoreFailed }: LookoutOptions): Lookout {
  const metrics = createMetrics();
  // Alert enrichment (alerts/enrichers/): Kubernetes facts read with Lookout's own identity, and
  // Loki logs. Without either backend there is nothing to run and messages look as they always did.
  const kube = kubeCredentials ? new KubeHttp(kubeCredentials) : undefined;
  // One Loki client for enrichment and `/ops logs`: one concurrency limit, one set of metrics.
  const loki = config.lokiUrl ? createLokiClient(config.lokiUrl, config.enrichment, metrics) : undefined;
  const sources =
    kube || loki
      ? createEnrichmentSources({
          ...(kube ? { kube } : {}),
          ...(loki ? { loki } : {}),
          config: config.enrichment,
          metrics,
          now,
          certificateWarnWithinMs: config.certificates.scan.warnWithinMs,
        })
      : undefined;
  const enriching = sources !== undefined && sources.enrichers.length > 0;
  // SQLite in a worker thread, or the shared PostgreSQL (LOOKOUT_DATABASE_URL). The inbox fold runs
  // where the engine is, with these settings.
  const stateStore = openStore({
    config,
    log,
    metrics,
    fold: {
      routes: config.routes,
      defaultChannel: config.channel,
      enrichmentBudgetMs: enriching ? config.enrichment.budgetMs : undefined,
      redactPatterns: config.enrichment.redact,
    },
    onFailed: onStoreFailed,
  });
  const store = stateStore.store;
  // One redactor for all text Lookout did not write, wherever it goes (docs/architecture.md, "Redaction").
  const redactor = createSecretRedactor(config.enrichment.redact);
  // The Slack boundary: everything posted or edited is cleaned on the way out, whoever rendered it.
  const slack = new CleanOutgoingSlackApi(
    config.slack
      ? new WebSlackApi({ token: config.slack.botToken, apiUrl: config.slack.apiUrl, metrics, timeoutMs: config.outbox.callTimeoutMs })
      : new ConsoleSlackApi(stdout),
    redactor,
  );
  // `/ops doctor` waits here for its synthetic alert's message (src/doctor/synthetic-watch.ts).
  const syntheticWatch = new SyntheticWatch(now);
  const outbox = new Outbox({
    store,
    onMessageShown: (record, channel) => syntheticWatch.shown(record, channel),
    slack,
    render: (state, record) => renderGroupMessage(state, record.enrichment, redactor),
    renderDetail: (detail) => renderGroupDetail(detail.state, detail.enrichment, redactor),
    metrics,
    log: log.child({ component: 'outbox' }),
    config: config.outbox,
    // Alerts for a channel Lookout cannot post in go here meanwhile, with a line saying so.
    defaultChannel: config.channel,
    // One replica at a time per channel (docs/architecture.md, "Several replicas"); on SQLite this one holds them all.
    replica: { id: config.replicas.id, leaseDurationMs: config.replicas.leaseDurationMs },
    now,
  });
  // Background jobs run on the replica holding `job:<name>` (docs/architecture.md, "Several replicas").
  const leased = (name: string, job: LeasedJob, onRenewed?: () => void): JobLease =>
    new JobLease({
      name,
      job,
      store,
      owner: config.replicas.id,
      durationMs: config.replicas.leaseDurationMs,
      metrics,
      log: log.child({ component: 'job-lease' }),
      now,
      ...(onRenewed ? { onRenewed } : {}),
    });

  // The RBAC gate: Slack person → Kubernetes identity → SubjectAccessReview (src/access/).
  const webDirectory = config.slack ? new SlackWebDirectory({ token: config.slack.botToken, apiUrl: config.slack.apiUrl }) : undefined;
  const directory: SlackDirectory =
    webDirectory ??
    // Console mode has no Slack to ask, so it knows nobody and maps nobody.
    { person: async () => undefined, usergroupMembers: async () => [] };
  // Lookout's own workspace (auth.test): people of other workspaces (Slack Connect) never act.
  const home = webDirectory ? new HomeWorkspace({ lookup: () => webDirectory.workspace() }) : undefined;
  const resolver = new IdentityResolver({ config: config.identities, directory, ...(home ? { home } : {}), now });
  const gate = new AccessGate({ resolver, kube, log: log.child({ component: 'access-gate' }), metrics });
  const audit = createAuditTrail({
    log: log.child({ component: 'audit' }),
    metrics,
    store,
    ...(config.auditChannel ? { auditChannel: config.auditChannel } : {}),
    onNotice: () => outbox.wake(),
    ...(kube ? { kube } : {}),
    redactor,
    now,
  });

  const enrichment =
    sources && enriching
      ? new EnrichmentRunner({ store, sources, metrics, log: log.child({ component: 'enrichment' }), config: config.enrichment, onChange: () => outbox.wake(), now })
      : undefined;
  // One replica enriches, so two replicas never query Kubernetes and Loki twice for one group. It
  // hears of alerts the others queued through the store's onRemoteChange, and at each renewal (a
  // third of the lease) should a notification be lost; a first post held for
  // enrichment goes at its deadline (enrichUntil, in the store) whichever replica holds the job.
  const enrichmentJob = enrichment ? leased('enrichment', enrichment, () => enrichment.wake()) : undefined;
  const wakeEnrichment = (): void => {
    if (enrichmentJob?.runsHere) enrichment?.wake();
  };

  let stopping = false;
  // What /readyz reports; each part of Lookout that can stop doing its job adds its own check.
  const readiness: ReadinessCheck[] = [() => (stopping ? 'shutting down' : undefined), () => store.ping(), () => outbox.problem()];

  const foldAll = (): Promise<number> =>
    foldInbox({ store, log: log.child({ component: 'inbox' }), onQuarantined: () => metrics.notificationsQuarantined.inc(), now });
  const inbox = new InboxWorker({
    process: foldAll,
    onChanged: () => {
      outbox.wake();
      wakeEnrichment();
    },
    storeProblem: () => store.ping(),
    log,
  });
  const scheduleProcessing = (): void => inbox.wake();
  const retention = new RetentionPruner({ store, resolvedGroupsMs: config.retention.resolvedGroupsMs, log: log.child({ component: 'retention' }), now });
  // After a disk-full or I/O error the store probes on its own; when it can write again, the
  // inbox and the outbox pick up what waited (neither retries on its own while it cannot).
  store.onRecovered(() => {
    inbox.wake();
    outbox.wake();
    wakeEnrichment();
  });
  // Work another replica queued (PostgreSQL's NOTIFY): start on it now if this replica holds its
  // channel or the enrichment job, rather than at the next lease renewal (a third of the lease).
  store.onRemoteChange((work) => {
    if (work === 'slack') outbox.wake();
    else wakeEnrichment();
  });

  // Alertmanager's API v2, for silences; without ALERTMANAGER_URL the silence commands say how to enable them.
  const alertmanager = config.alertmanager
    ? new AlertmanagerClient({
        baseUrl: config.alertmanager.url,
        requestTimeoutMs: config.alertmanager.requestTimeoutMs,
        ...(config.alertmanager.bearerToken ? { bearerToken: config.alertmanager.bearerToken } : {}),
        ...(config.alertmanager.basicAuth ? { basicAuth: config.alertmanager.basicAuth } : {}),
        ...(config.alertmanager.ca ? { ca: config.alertmanager.ca } : {}),
        requests: metrics.alertmanagerRequests,
      })
    : undefined;
  // Keeps "silenced by … until …" on alert messages true (src/silence-expiry.ts).
  const silenceExpiry = alertmanager
    ? new SilenceExpiry({ store, alertmanager, log: log.child({ component: 'silence-expiry' }), onChanged: () => outbox.wake(), now })
    : undefined;
  // Reconciliation with Alertmanager (docs/architecture.md): repairs messages that drifted from its view.
  const reconciler =
    alertmanager && config.reconcile.intervalMs > 0
      ? new AlertmanagerReconciler({
          store,
          alertmanager,
          log: log.child({ component: 'reconciler' }),
          runs: metrics.reconcileRuns,
          repairs: metrics.reconcileRepairs,
          intervalMs: config.reconcile.intervalMs,
          graceMs: config.reconcile.graceMs,
          onChanged: () => outbox.wake(),
          onSilenced: (groupId, mark) => silenceExpiry?.track(groupId, mark),
          now,
        })
      : undefined;
  // Certificate expiry in the background (src/certificates/certificate-scanner.ts): the metric and the daily digest.
  const certificateScanner =
    kube && config.certificates.scan.intervalMs > 0
      ? new CertificateScanner({
          reads: new LookoutKubeReads(kube),
          metric: new CertificateExpiryMetric(metrics.certificateExpiry),
          scans: metrics.certificateScans,
          duration: metrics.certificateScanDuration,
          store,
          config: config.certificates.scan,
          log: log.child({ component: 'certificate-scanner' }),
          onDigestQueued: () => outbox.wake(),
          pageSize: CERTIFICATE_SCAN_PAGE,
          now,
        })
      : undefined;
  // Each on one replica: they write to the shared store and call Alertmanager or Kubernetes, so two
  // would double that load and race each other's repairs; none has to run everywhere (each replica's
  // /metrics shows the certificate gauge only where the scanner runs, and a stopped scanner removes
  // it: the rules aggregate it without pod).
  const certificateJob = certificateScanner ? leased('certificate-scan', certificateScanner) : undefined;
  const backgroundJobs = [
    leased('retention', retention),
    ...(silenceExpiry ? [leased('silence-expiry', silenceExpiry)] : []),
    ...(reconciler ? [leased('reconcile', reconciler)] : []),
    ...(certificateJob ? [certificateJob] : []),
  ];
  const jobs = [...backgroundJobs, ...(enrichmentJob ? [enrichmentJob] : [])];
  const silenceDeps = { alertmanager, maxDurationMs: config.silences.maxDurationMs, now, onExpired: (silenceId: string) => void silenceExpiry?.expired(silenceId) };
  const logsOptions: LogsCommandOptions = { ...(loki ? { loki: { client: loki, config: config.enrichment.loki } } : {}), redactor, now };
  // Vault (or OpenBao) for `/ops rotate`; it logs in at the first rotation, not at start.
  const vault = config.vault
    ? new VaultClient({
        addr: config.vault.addr,
        ...(config.vault.namespace !== undefined ? { namespace: config.vault.namespace } : {}),
        ...(config.vault.ca !== undefined ? { ca: config.vault.ca } : {}),
        requestTimeoutMs: config.vault.requestTimeoutMs,
        auth: config.vault.auth,
        log: log.child({ component: 'vault' }),
        requests: metrics.vaultRequests,
      })
    : undefined;
  const rotateOptions = { ...(vault ? { vault } : {}), rules: config.vault?.secrets ?? [], ...(config.vault ? { sync: config.vault.sync } : {}), now };
  // `/ops status`: the workload's alerts from Alertmanager, linked to the messages Lookout posted for them.
  const statusOptions = { ...(alertmanager ? { alerts: { alertmanager, store, labels: config.enrichment.labels } } : {}), ...(home ? { workspace: home } : {}), redactor, now };
  // `/ops doctor`: checks of what is configured; Socket Mode's state is known once the Slack app is built below.
  let socketProblem: (() => string | undefined) | undefined;
  // No retries: a failure is the answer, and nothing may go on asking after the check's deadline.
  const doctorSlack = config.slack ? new WebClient(config.slack.botToken, { slackApiUrl: config.slack.apiUrl, timeout: config.outbox.callTimeoutMs, retryConfig: { retries: 0 } }) : undefined;
  const doctorOptions = {
    checkTimeoutMs: config.doctor.checkTimeoutMs,
    checks: (channel: string) =>
      configuredChecks({
        store,
        statePath: config.statePath,
        outboxMaxWaitMs: config.doctor.outboxMaxWaitMs,
        ...(doctorSlack ? { slack: { authTest: () => doctorSlack.auth.test(), ...(socketProblem ? { socketProblem } : {}) } } : {}),
        ...(kube ? { kube } : {}),
        identities: config.identities,
        ...(alertmanager ? { alertmanager } : {}),
        ...(config.lokiUrl ? { lokiUrl: config.lokiUrl } : {}),
        ...(vault ? { vault } : {}),
        vaultPaths: (config.vault?.secrets ?? []).map((rule) => rule.path),
        ...(certificateScanner ? { certificateScanner, certificateScanRunsHere: () => certificateJob?.runsHere ?? false } : {}),
        synthetic: { watch: syntheticWatch, timeoutMs: config.doctor.syntheticTimeoutMs },
        now,
      }, channel),
  };
  const commands = createCommands({ silences: silenceDeps, logs: logsOptions, rotate: rotateOptions, status: statusOptions, doctor: doctorOptions });

  // Buttons, confirmations and forms: one registry (docs/architecture.md, "Interactive replies").
  const shutdownSignal = new AbortController();
  const interactionSlack = config.slack
    ? createInteractionSlack({ client: new WebClient(config.slack.botToken, { slackApiUrl: config.slack.apiUrl }), thread: slack, redactor, timeoutMs: config.outbox.callTimeoutMs })
    : consoleInteractionSlack();
  const interactive: CommandInteractivity = {
    pending: new StoredInteractions({ store, kind: 'confirmation', schema: pendingConfirmationSchema, ttlMs: config.interactions.confirmationTimeoutMs, now }),
    slack: interactionSlack,
    followUpIntervalMs: config.interactions.progressIntervalMs,
    signal: shutdownSignal.signal,
  };
  const interactions = new InteractionRegistry();
  const dispatcherDeps = { commands, slashCommand: config.slashCommand, log, metrics, gate, audit, kube, interactive, settings: config.commands, ...(home ? { home } : {}) };
  for (const handler of createConfirmationButtons(dispatcherDeps)) interactions.button(handler);
  // Buttons that run a command as if typed: Expire in `/ops silences`, "Silence this alert" in alert
  // threads, Roll back under a rotation (`/ops rotate <path> --rollback N`, asked first),
  // Renew in `/ops certs` and on certificate alerts (`/ops certs renew <ns>/<name>`).
  // Scale, Restart, Logs, Silence and History on `/ops status` cards; "More" under `/ops history`.
  for (const handler of createCommandButtons(dispatcherDeps, ['unsilence', 'silence', 'rotate', CERTS_COMMAND, 'scale', 'restart', 'logs', 'history'])) interactions.button(handler);
  registerAlertActions(
    interactions,
    [
      // The audit Event goes on the object the alert's labels name, read as enrichment reads them.
      ...acknowledgeActions({ store, onQueued: () => outbox.wake(), targetLabels: config.enrichment.labels, now }),
      ...silenceActions({
        ...silenceDeps,
        store,
        onSilenced: (groupId, mark) => {
          outbox.wake();
          silenceExpiry?.track(groupId, mark);
        },
      }),
      // Show logs: /ops logs for the group's pod or workload, for the clicker only.
      ...logsActions(logsOptions),
      ...workloadActions({ kube, settings: config.commands }),
    ],
    {
      store,
      gate,
      audit,
      kube,
      slack: interactionSlack,
      modals: new StoredInteractions({ store, kind: 'modal', schema: pendingModalSchema, ttlMs: config.interactions.confirmationTimeoutMs, now }),
      log: log.child({ component: 'alert-actions' }),
      metrics,
      ...(home ? { home } : {}),
      followUpIntervalMs: config.interactions.progressIntervalMs,
      signal: shutdownSignal.signal,
    },
  );

  const { receiver, socket } = createSlackApp({
    config,
    log,
    metrics,
    store,
    now,
    commands,
    gate,
    audit,
    kube,
    redactor,
    ...(home ? { home } : {}),
    interactions,
    interactive,
  });
  // Socket Mode: not ready while Slack's requests cannot reach Lookout (src/slack/socket-mode-connection.ts).
  if (socket) {
    readiness.push(() => socket.problem());
    socketProblem = () => socket.problem();
  }
  const server = createHttpServer({
    routes: [
      {
        path: '/alertmanager',
        method: 'POST',
        handler: safeRoute(
          createAlertmanagerHandler({
            store,
            webhookToken: config.webhookToken,
            maxBodyBytes: config.webhookMaxBodyBytes,
            metrics,
            log,
            now,
            onAccepted: scheduleProcessing,
          }),
          log,
        ),
      },
      { path: '/metrics', method: 'GET', handler: safeRoute(createMetricsRoute(metrics.registry), log) },
      { path: '/healthz', method: 'GET', handler: healthz },
      { path: '/readyz', method: 'GET', handler: createReadyz(readiness) },
    ],
    receiver,
    slackGuard:
      config.slack === undefined
        ? undefined
        : config.slack.transport === 'http'
          ? createSlackRequestGuard({ signingSecret: config.slack.signingSecret, log, now })
          : refuseSlackEventsInSocketMode,
    log,
    metrics,
    limits: { ...config.http, maxConnections: config.http.maxConnections ?? defaultMaxConnections(openFileLimit) },
  });

  return {
    metrics,
    store,
    async start() {
      // The file is opened and checked (quick_check), or the database migrated (or found unreachable), before anything is accepted.
      await stateStore.opened();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => resolve());
      });
      outbox.start();
      // Connects in the background: alerts flow while Slack is still being reached.
      socket?.start();
      // Each starts once this replica holds its lease (at once on SQLite); enrichment then resumes what a previous run left queued.
      for (const job of jobs) job.start();
      scheduleProcessing();
      const address = server.address() as AddressInfo;
      if (enrichment) log.info({ sources: sources?.enrichers.map((enricher) => enricher.source) }, 'alert enrichment is on');
      // Learned now so the first command needn't wait; a failure here is retried by that command.
      home?.get().then(
        (workspace) => log.info({ teamId: workspace.teamId, enterpriseId: workspace.enterpriseId }, 'Lookout acts only for members of its own Slack workspace'),
        (error: unknown) => log.warn({ err: error }, 'auth.test failed: commands and buttons are refused until Slack names Lookout\'s workspace'),
      );
      if (!kube) log.warn('no Kubernetes credentials (in-cluster service account or KUBECONFIG): every command that needs a permission is refused');
      if (config.slack?.transport === 'socket') log.info({ port: address.port, host: address.address }, 'Lookout is listening (Alertmanager, metrics, health); Slack requests come over Socket Mode');
      else if (config.slack) log.info({ port: address.port, host: address.address }, 'Lookout is listening');
      else log.info({ port: address.port, host: address.address }, 'Lookout is listening in console mode: no SLACK_BOT_TOKEN, messages are printed to stdout');
      return address;
    },
    async stop() {
      stopping = true;
      // Progress edits stop; each shows its last state as final.
      shutdownSignal.abort();
      // No new requests from Slack; Slack gives them to another replica's connection.
      await socket?.stop().catch((error: unknown) => log.warn({ err: error }, 'closing the Socket Mode connection failed'));
      inbox.stop();
      // Stopped and their leases released: another replica takes them at once.
      await Promise.all(backgroundJobs.map((job) => job.stop()));
      vault?.stop();
      // No new requests; requests in progress finish while the outbox drains.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // What was accepted but not yet folded into its group becomes deliverable in this drain.
      // Not while the store cannot write (it said so when it failed): a damaged or full store
      // must not turn a clean stop into "shutdown failed" and exit 1.
      try {
        if (store.ping() === undefined) await foldAll();
      } catch (error) {
        log.error({ err: error }, 'processing alert notifications at shutdown failed; they stay in the inbox for the next start');
      }
      await enrichmentJob?.stop();
      const drainStarted = now();
      await outbox.stop(config.shutdown.drainTimeoutMs);
      const pending = store.ping() === undefined ? await store.outboxDepth().catch(() => 'unknown: the state store cannot be read') : 'unknown: the state store cannot be read';
      log.info({ drainedForMs: now() - drainStarted, pending }, 'outbox drained for shutdown');
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      server.closeAllConnections();
      // Last: the outbox and the intake are drained, nothing else will ask the store.
      await store.close();
    },
  };
}

