import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { enrichmentSchema } from '../alerts/enrichers/enrichment-config.ts';
import type { CommandSettings } from '../commands/command.ts';
import { PROBE_GLOB } from './certificates/probe-allow-list.ts';
import { ConfigError } from './errors.ts';
import { identitiesSchema, type IdentitiesConfig } from './identity/identity-config.ts';
import { vaultConfig, vaultSectionSchema, type VaultConfig } from './vault/vault-config.ts';
import { DEFAULT_POOL_SIZE, databaseUrlProblem } from './state/postgres-connection.ts';

/**
 * Lookout's whole configuration: environment variables plus an optional YAML file
 * (LOOKOUT_CONFIG). One schema validates both, every problem is reported at once,
 * and no message ever repeats a value (values can be secrets).
 */

const channelId = z.string().regex(/^[A-Za-z0-9#_.-]{1,80}$/, 'must be a Slack channel id such as C0123ABCD');

/** A Kubernetes namespace name (RFC 1123 label). */
const namespaceName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a namespace name');

const labelRegex = z.string().refine(
  (source) => {
    try {
      new RegExp(`^(?:${source})$`);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a valid regular expression' },
);

const routeSchema = z.strictObject({
  match: z.record(z.string(), z.string()).default({}),
  matchRegex: z.record(z.string(), labelRegex).default({}),
  channel: channelId,
});

const outboxSchema = z.strictObject({
  minIntervalMs: z.number().int().min(0).default(1000).describe('Slack allows about one message per second per channel.'),
  giveUpAfterMs: z.number().int().positive().default(15 * 60_000).describe('How long a delivery keeps being retried before it is abandoned (with an error log and a metric).'),
  initialBackoffMs: z.number().int().positive().default(1000),
  maxBackoffMs: z.number().int().positive().default(60_000),
  callTimeoutMs: z.number().int().positive().max(120_000).default(10_000).describe('Each Slack call\'s deadline (the Web API client\'s timeout); the outbox frees the channel 5 s after it at the latest.'),
  maxConcurrentCalls: z.number().int().min(1).max(64).default(8).describe('Slack calls in flight at once, across channels.'),
  channelRetryMs: z.number().int().positive().default(60_000).describe('How often a channel Lookout cannot post in (not invited, archived) is tried again.'),
  authProbeMaxMs: z.number().int().positive().default(60_000).describe('The longest wait between two auth.test probes while Slack refuses the token.'),
  lookupIntervalMs: z.number().int().min(0).default(1200).describe('History reads (conversations.history/replies), which look up a post whose outcome is unknown, average at most one per this many ms over any rolling minute (1200: 50 a minute, Slack\'s Tier 3), and may come in a burst within that budget (after a failover, one per channel).'),
});

const shutdownSchema = z.strictObject({
  drainTimeoutMs: z.number().int().min(0).max(600_000).default(20_000).describe('On SIGTERM, how long Lookout keeps delivering what is due (and finishing calls in flight) after it stops taking requests. It must fit the pod\'s terminationGracePeriodSeconds with room to exit.'),
});

/**
 * The HTTP server's limits (src/http/connection-limits.ts). Alertmanager and Slack send small
 * requests quickly, so anything slow or silent is cut short, and idle connections cannot use up
 * the process's open files.
 */
const httpSchema = z
  .strictObject({
    maxConnections: z.number().int().min(8).max(1_000_000).optional().describe('Open connections at most; default: the open-file limit minus a reserve (see defaultMaxConnections).'),
    headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000).describe('A connection must send complete request headers within this long of opening (then 408 or closed).'),
    requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000).describe('A whole request, body included, within this long.'),
    keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5000).describe('An idle keep-alive connection is closed after this long without a new request.'),
  })
  .refine((http) => http.headersTimeoutMs <= http.requestTimeoutMs, { message: 'must not be more than requestTimeoutMs', path: ['headersTimeoutMs'] });

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as 30d, 12h, 10m, 30s or 500ms; milliseconds once parsed. */
const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration such as 30d, 12h, 10m, 30s or 500ms')
  .transform((text) => {
    const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(text)!;
    return Number(amount) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS];
  });

const retentionSchema = z.strictObject({
  resolvedGroups: duration.refine((ms) => ms >= 1000, 'must be at least 1s').prefault('30d').describe('Resolved alert group episodes (their replies and details too) are deleted this long after they resolved.'),
});

/**
 * Several replicas on one database (docs/architecture.md, "Several replicas"): each Slack channel and
 * each background job is leased to one replica at a time; a lease is renewed every third of its
 * duration, so a replica that dies is replaced within one duration.
 */
const replicasSchema = z.strictObject({
  leaseDuration: duration
    .refine((ms) => ms >= 3000 && ms <= 60_000, 'must be between 3s and 60s')
    .prefault('10s')
    .describe('How long a replica holds a channel or a job without renewing it: a SIGKILLed replica\'s work moves to another after at most this long. Renewed every third of it; no Slack call starts on a lease with less than a third left.'),
});

const stateSchema = z.strictObject({
  checkInterval: duration.prefault('10m').describe('How often PRAGMA quick_check reads the whole state file (in a worker thread); 0s = only at start.'),
});

/** Interactive replies (src/slack/reply-channel.ts, stored-interactions.ts). */
const interactionsSchema = z.strictObject({
  progressInterval: duration.refine((ms) => ms >= 500 && ms <= 60_000, 'must be between 500ms and 60s').prefault('3s').describe('Least time between two progress edits of one reply (rollout progress).'),
  confirmationTimeout: duration.refine((ms) => ms >= 10_000 && ms <= 30 * 60_000, 'must be between 10s and 30m').prefault('10m').describe('How long a Confirm/Cancel question or an opened form stays usable.'),
});

/** `/ops scale` limits. */
const scaleSchema = z.strictObject({
  maxReplicas: z.number().int().min(1).max(100_000).default(50).describe('The most replicas Lookout sets, in any namespace without its own maximum.'),
  maxReplicasByNamespace: z.record(namespaceName, z.number().int().min(1).max(100_000)).default({}).describe('Per-namespace maximums: namespace → replicas.'),
});

/** How long and how often `/ops scale` and `/ops restart` follow a rollout. */
const rolloutSchema = z.strictObject({
  timeout: duration.refine((ms) => ms >= 1000 && ms <= 30 * 60_000, 'must be between 1s and 30m').prefault('5m'),
  pollInterval: duration.refine((ms) => ms >= 100 && ms <= 60_000, 'must be between 100ms and 60s').prefault('2s'),
});

/** The sources' settings (alerts/enrichers/enrichment-config.ts) plus the pipeline's timing. */
const enrichmentConfigSchema = enrichmentSchema.extend({
  budgetMs: z.number().int().min(0).max(60_000).default(1500).describe('The longest a group\'s first post waits for enrichment; what comes later is added by an edit.'),
  timeoutMs: z.number().int().positive().max(300_000).default(10_000).describe('When sources still running are given up and shown as "timeout".'),
  maxConcurrentGroups: z.number().int().min(1).max(256).default(8).describe('Alert groups enriched at once; in a storm the rest wait their turn (their posts do not).'),
});

/**
 * How Lookout reaches Alertmanager's API v2 (the URL is ALERTMANAGER_URL). Credentials are read
 * from files (mounted Secrets), as Alertmanager's own http_config does, so the YAML holds none.
 */
const alertmanagerSchema = z
  .strictObject({
    bearerTokenFile: z.string().min(1).optional(),
    basicAuth: z.strictObject({ username: z.string().min(1), passwordFile: z.string().min(1) }).optional(),
    caFile: z.string().min(1).optional().describe('PEM file of the CA(s) that signed an https Alertmanager\'s certificate.'),
    requestTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
  })
  .refine((section) => section.bearerTokenFile === undefined || section.basicAuth === undefined, { message: 'set bearerTokenFile or basicAuth, not both' });

/** `/ops silence` and the Silence button. */
const silencesSchema = z.strictObject({
  maxDuration: duration.refine((ms) => ms >= 60_000, 'must be at least 1m').prefault('7d').describe('The longest silence anyone may create from Slack.'),
});

/** Reconciliation with Alertmanager (src/alertmanager-reconciler.ts), when ALERTMANAGER_URL is set. */
const reconcileSchema = z.strictObject({
  interval: duration.refine((ms) => ms === 0 || (ms >= 1000 && ms <= 86_400_000), 'must be 0s (off) or between 1s and 24h').prefault('5m').describe('Time between two comparisons of alert messages with Alertmanager\'s groups; 0s turns reconciliation off.'),
  grace: duration.refine((ms) => ms <= 86_400_000, 'must be at most 24h').prefault('10m').describe('Groups changed more recently than this are left alone (a notification may be on its way); keep it above Alertmanager\'s group_interval.'),
});

/** `/ops doctor` (commands/doctor.ts); docs/configuration.md, "Doctor". */
const doctorSchema = z.strictObject({
  checkTimeout: duration.refine((ms) => ms >= 100 && ms <= 60_000, 'must be between 100ms and 60s').prefault('5s').describe('Deadline of each check; a check that has not answered by then is a ✗.'),
  outboxMaxWait: duration.refine((ms) => ms >= 1000, 'must be at least 1s').prefault('5m').describe('An alert message waiting longer than this for Slack fails the outbox check.'),
  syntheticTimeout: duration.refine((ms) => ms >= 1000 && ms <= 300_000, 'must be between 1s and 5m').prefault('60s').describe('How long the synthetic alert may take from Alertmanager to Slack.'),
});

/** The background certificate scanner (src/certificates/certificate-scanner.ts); docs/configuration.md. */
const certificateScanSchema = z.strictObject({
  interval: duration.refine((ms) => ms === 0 || (ms >= 1000 && ms <= 7 * 86_400_000), 'must be 0s (off) or between 1s and 7d').prefault('1h').describe('Time between two scans; 0s turns the scanner off.'),
  namespaces: z.array(namespaceName).min(1, 'must name at least one namespace (leave it out to scan every namespace)').optional().describe('Namespaces to scan; absent: every namespace.'),
  warnWithin: duration.refine((ms) => ms >= 3_600_000 && ms <= 365 * 86_400_000, 'must be between 1h and 365d').prefault('21d').describe('Certificates expiring within this long are listed in the digest.'),
  channel: channelId.optional().describe('Where the daily digest goes; without it there is no digest (the metric and the rules still work).'),
});

/**
 * Certificates: `/ops certs --probe`'s allow-list and timeout, the background scanner, and how
 * long Renew follows a Certificate.
 */
const certificatesSchema = z.strictObject({
  probe: z
    .strictObject({
      allow: z.array(z.string().regex(PROBE_GLOB, 'must be host:port, with * as a wildcard (e.g. "*.example.com:443")')).default([]).describe('`host:port` globs a probe may connect to; empty: no probes.'),
      timeout: duration.refine((ms) => ms >= 100 && ms <= 30_000, 'must be between 100ms and 30s').prefault('5s').describe('TCP connect plus TLS handshake, at most.'),
    })
    .prefault({}),
  scan: certificateScanSchema.prefault({}),
  renew: z
    .strictObject({
      timeout: duration.refine((ms) => ms >= 1000 && ms <= 30 * 60_000, 'must be between 1s and 30m').prefault('5m').describe('How long a renewal is followed before the reply says it is still going.'),
      pollInterval: duration.refine((ms) => ms >= 100 && ms <= 60_000, 'must be between 100ms and 60s').prefault('2s'),
    })
    .prefault({}),
});

export const fileSchema = z.strictObject({
  channel: channelId.optional().describe('Default channel: where alerts go that no route matches (LOOKOUT_CHANNEL overrides it).'),
  auditChannel: channelId.optional().describe('Where a line per audited action is posted (docs/rbac.md).'),
  routes: z.array(routeSchema).default([]).describe('Alert routing by the group\'s common labels; the first matching route picks the channel ("Routing").'),
  slashCommand: z
    .string()
    .regex(/^\/[a-z0-9_-]{1,31}$/, 'must look like /ops')
    .default('/ops')
    .describe('The root slash command; must match the Slack app\'s.'),
  outbox: outboxSchema.default(outboxSchema.parse({})).describe('Slack delivery pacing, retries and timeouts.'),
  http: httpSchema.prefault({}).describe('The HTTP server\'s limits ("HTTP server limits").'),
  shutdown: shutdownSchema.default(shutdownSchema.parse({})).describe('What SIGTERM does.'),
  webhook: z
    .strictObject({ maxBodyBytes: z.number().int().positive().default(1024 * 1024) })
    .default({ maxBodyBytes: 1024 * 1024 })
    .describe('The Alertmanager webhook.'),
  identities: identitiesSchema.default(identitiesSchema.parse({})).describe('Who a Slack person is to Kubernetes; absent: nobody is mapped and every gated action is refused ("Identities").'),
  enrichment: enrichmentConfigSchema.prefault({}).describe('What alert messages show about pods, workloads and logs, and the time budget ("Enrichment").'),
  retention: retentionSchema.prefault({}).describe('What is deleted from the state file, and when ("State: retention and checks").'),
  state: stateSchema.prefault({}).describe('The state file\'s periodic check.'),
  replicas: replicasSchema.prefault({}).describe('Leases that give each Slack channel and each background job to one replica ("Several replicas").'),
  interactions: interactionsSchema.prefault({}).describe('Progress edits, confirmations and forms ("Interactive replies").'),
  alertmanager: alertmanagerSchema.optional().describe('How to reach Alertmanager\'s API v2 at ALERTMANAGER_URL ("Alertmanager and silences").'),
  silences: silencesSchema.prefault({}).describe('Limits of silences made from Slack.'),
  reconcile: reconcileSchema.prefault({}).describe('Comparing alert messages with Alertmanager\'s own view and repairing drift, with ALERTMANAGER_URL ("Reconciliation with Alertmanager").'),
  doctor: doctorSchema.prefault({}).describe('`/ops doctor` deadlines ("Doctor").'),
  scale: scaleSchema.prefault({}).describe('`/ops scale` limits.'),
  rollout: rolloutSchema.prefault({}).describe('How `/ops scale` and `/ops restart` follow a rollout.'),
  certificates: certificatesSchema.prefault({}).describe('`/ops certs` probes, Renew, and the background scanner ("Certificates").'),
  vault: vaultSectionSchema.optional().describe('Vault secret rotation with VAULT_ADDR: auth, request timeout, which paths may be rotated.'),
});

export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('Port of the HTTP server (webhook, /slack/events, /metrics, health).'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server listens on.'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('pino log level.'),
  SLACK_BOT_TOKEN: z.string().regex(/^xox[a-z]-/, 'must be a Slack bot token (xoxb-…)').optional().describe('The Slack app\'s bot token; without Slack credentials Lookout runs in console mode and prints messages.'),
  SLACK_SIGNING_SECRET: z.string().min(16, 'must be the app signing secret').optional().describe('The Slack app\'s signing secret: requests to /slack/events must be signed with it.'),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'must be a Slack app-level token (xapp-…) with the connections:write scope')
    .optional()
    .describe('An app-level token (xapp-…, scope connections:write): Socket Mode, Lookout connects to Slack instead of serving /slack/events; no signing secret needed.'),
  SLACK_API_URL: z.url({ message: 'must be a URL' }).default('https://slack.com/api/').describe('Slack Web API base URL.'),
  LOOKOUT_WEBHOOK_TOKEN: z.string({ error: 'is required: Alertmanager must send it as a bearer token' }).min(16, 'must be at least 16 characters').describe('Alertmanager sends it as `Authorization: Bearer …`.'),
  LOOKOUT_CONFIG: z.string().min(1).optional().describe('Path of the YAML configuration file (keys below).'),
  LOOKOUT_CHANNEL: channelId.optional().describe('Channel for alerts no route matches; overrides the file\'s `channel`.'),
  LOOKOUT_STATE: z.string().min(1).default('data/lookout.db').describe('Path of the SQLite state file (without LOOKOUT_DATABASE_URL).'),
  LOOKOUT_DATABASE_URL: z
    .string()
    .superRefine((url, ctx) => {
      const problem = databaseUrlProblem(url);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional()
    .describe(
      'postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE: a shared PostgreSQL state store instead of SQLite, for several replicas; TLS with `?sslmode=verify-full&sslrootcert=/path/ca.crt` (docs/deploy.md). Never logged.',
    ),
  LOOKOUT_DATABASE_PASSWORD_FILE: z.string().min(1).optional().describe('A file holding the database password (trimmed); overrides the URL\'s. Read at start.'),
  LOOKOUT_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(DEFAULT_POOL_SIZE).describe('Pooled PostgreSQL connections per Lookout process, at most; each process also keeps one more that listens for the other replicas\' changes.'),
  LOOKOUT_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1 to 128 letters, digits, dots, colons, underscores or dashes')
    .optional()
    .describe('This process\'s name as the owner of leases (a channel to deliver to, a background job). Default with LOOKOUT_DATABASE_URL: the pod name (HOSTNAME) plus a random suffix per start, so a restarted pod is a new owner; on SQLite: `lookout` (one replica, which takes its leases back at once after a restart). Two processes sharing a database must never share one.'),
  LOKI_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL such as http://loki:3100' }).optional().describe('Grafana Loki base URL; without it alerts get no log excerpt.'),
  ALERTMANAGER_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL such as http://alertmanager:9093' }).optional().describe('Alertmanager base URL, for silences (`alertmanager` section: credentials).'),
  // Checked with the file's `vault:` section (src/vault/vault-config.ts).
  VAULT_ADDR: z.string().optional().describe('Vault or OpenBao address, for `/ops rotate` (`vault` section).'),
  VAULT_TOKEN: z.string().optional().describe('Vault token (auth method `token`).'),
  VAULT_K8S_ROLE: z.string().optional().describe('Vault role for Kubernetes auth (overrides `vault.auth.role`).'),
  VAULT_NAMESPACE: z.string().regex(/^[A-Za-z0-9_./-]{1,256}$/, 'must be a Vault namespace path such as team-a/').optional().describe('Vault Enterprise / OpenBao namespace (X-Vault-Namespace).'),
  VAULT_CACERT: z.string().optional().describe('PEM file of the CA(s) that signed Vault\'s certificate.'),
});

export type RouteConfig = z.output<typeof routeSchema>;
export type OutboxConfig = z.output<typeof outboxSchema>;
export type HttpLimitsConfig = z.output<typeof httpSchema>;
export type ShutdownConfig = z.output<typeof shutdownSchema>;
export type EnrichmentSettings = z.output<typeof enrichmentConfigSchema>;

export interface Config {
  /** Where to listen, and the server's limits (the `http` section of the config file). */
  http: { port: number; host: string } & HttpLimitsConfig;
  logLevel: string;
  /** Absent in console mode: messages are printed instead of sent. */
  slack?: SlackConfig;
  webhookToken: string;
  webhookMaxBodyBytes: number;
  statePath: string;
  /** The shared PostgreSQL store (LOOKOUT_DATABASE_URL); absent: SQLite at statePath. The URL may hold a password: never log it. */
  database?: DatabaseConfig;
  channel: string;
  auditChannel?: string;
  routes: RouteConfig[];
  slashCommand: string;
  outbox: OutboxConfig;
  /** What SIGTERM does: deliver for up to drainTimeoutMs, then exit. */
  shutdown: ShutdownConfig;
  /** How Slack people map to Kubernetes identities; nobody is mapped by default. */
  identities: IdentitiesConfig;
  /** Alert enrichment: sources' settings and the time budget. Used when Kubernetes or Loki is there. */
  enrichment: EnrichmentSettings;
  /** Grafana Loki's base URL; without it alerts get no log excerpts. */
  lokiUrl?: string;
  /** What is deleted from the state file, and when. */
  retention: { resolvedGroupsMs: number };
  /** The state file's periodic check (quick_check in a worker); 0 = only at start. */
  state: { checkIntervalMs: number };
  /** This process as an owner of leases (channels, background jobs), and how long a lease lasts unrenewed. */
  replicas: { id: string; leaseDurationMs: number };
  /** Replies that go on: progress edits, confirmations and forms. */
  interactions: { progressIntervalMs: number; confirmationTimeoutMs: number };
  /** Limits and timeouts of commands that act (`scale`, `rollout`). */
  commands: CommandSettings;
  /** Alertmanager's API v2, for silences; absent without ALERTMANAGER_URL (silence commands then say so). */
  alertmanager?: AlertmanagerConfig;
  /** Limits of silences made from Slack. */
  silences: { maxDurationMs: number };
  /** Reconciliation with Alertmanager (with ALERTMANAGER_URL); intervalMs 0 = off. */
  reconcile: { intervalMs: number; graceMs: number };
  /** `/ops doctor`: each check's deadline, the outbox's longest healthy wait, the synthetic alert's deadline. */
  doctor: { checkTimeoutMs: number; outboxMaxWaitMs: number; syntheticTimeoutMs: number };
  /** Certificates: the background scanner's settings. */
  certificates: { scan: CertificateScanConfig };
  /** Vault (or OpenBao) for `/ops rotate`; absent without VAULT_ADDR (rotate then says so). */
  vault?: VaultConfig;
}

/**
 * How Lookout talks to Slack. Requests from Slack (commands, clicks) arrive over HTTP at
 * /slack/events, signed with `signingSecret`, or, with `appToken`, over a Socket Mode WebSocket
 * Lookout opens itself (then /slack/events is not served and the signing secret is not needed).
 */
export type SlackConfig = { botToken: string; apiUrl: string } & ({ transport: 'http'; signingSecret: string } | { transport: 'socket'; appToken: string });

/** `certificates.scan`, durations in ms. */
export interface CertificateScanConfig {
  /** 0: the scanner is off. */
  intervalMs: number;
  /** undefined: every namespace. */
  namespaces?: string[];
  warnWithinMs: number;
  /** undefined: no digest. */
  channel?: string;
}

/** ALERTMANAGER_URL plus the `alertmanager` section, its credential files read. Never logged. */
export interface AlertmanagerConfig {
  url: string;
  requestTimeoutMs: number;
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  ca?: string;
}

/** LOOKOUT_DATABASE_URL and what goes with it. */
export interface DatabaseConfig {
  url: string;
  passwordFile?: string;
  poolSize: number;
}

/** Channel name printed in console mode when no channel is configured. */
const CONSOLE_CHANNEL = 'console';

/**
 * Validate env and the config file together.
 * @param readFile injected so tests need no files on disk.
 * @throws ConfigError listing every problem.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): Config {
  const problems: string[] = [];
  const envResult = envSchema.safeParse(env);
  if (!envResult.success) problems.push(...envResult.error.issues.map((issue) => describe('env', issue)));

  let fileInput: unknown = {};
  const configPath = env.LOOKOUT_CONFIG;
  if (configPath) {
    try {
      fileInput = parseYaml(readFile(configPath)) ?? {};
    } catch (error) {
      problems.push(`LOOKOUT_CONFIG: cannot read ${configPath}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const fileResult = fileSchema.safeParse(fileInput);
  if (!fileResult.success) problems.push(...fileResult.error.issues.map((issue) => describe(configPath ?? 'config', issue)));

  // Checks across keys run on the keys that are valid, so one bad key does not hide the other
  // problems (`--check-config` lists them all); a key left out has its own problem listed already.
  const invalid = new Set([...(envResult.error?.issues ?? []), ...(fileResult.error?.issues ?? [])].flatMap(topLevelKeys));
  const { channel, alertmanager, vault } = checkAcrossKeys(
    envResult.success ? envResult.data : validKeys(envSchema, env, invalid),
    fileResult.success ? fileResult.data : validKeys(fileSchema, fileInput, invalid),
    invalid,
    configPath ?? 'config',
    readFile,
    problems,
  );
  if (!envResult.success || !fileResult.success || problems.length > 0 || channel === undefined) throw new ConfigError(problems);
  const e = envResult.data;
  const file = fileResult.data;

  return {
    http: { port: e.PORT, host: e.HOST, ...file.http },
    logLevel: e.LOG_LEVEL,
    ...slackConfig(e.SLACK_BOT_TOKEN, e.SLACK_SIGNING_SECRET, e.SLACK_APP_TOKEN, withTrailingSlash(e.SLACK_API_URL)),
    webhookToken: e.LOOKOUT_WEBHOOK_TOKEN,
    webhookMaxBodyBytes: file.webhook.maxBodyBytes,
    statePath: e.LOOKOUT_STATE,
    ...(e.LOOKOUT_DATABASE_URL
      ? { database: { url: e.LOOKOUT_DATABASE_URL, poolSize: e.LOOKOUT_DATABASE_POOL_SIZE, ...(e.LOOKOUT_DATABASE_PASSWORD_FILE ? { passwordFile: e.LOOKOUT_DATABASE_PASSWORD_FILE } : {}) } }
      : {}),
    channel,
    ...(file.auditChannel ? { auditChannel: file.auditChannel } : {}),
    routes: file.routes,
    slashCommand: file.slashCommand,
    outbox: file.outbox,
    shutdown: file.shutdown,
    identities: file.identities,
    enrichment: file.enrichment,
    ...(e.LOKI_URL ? { lokiUrl: e.LOKI_URL } : {}),
    retention: { resolvedGroupsMs: file.retention.resolvedGroups },
    state: { checkIntervalMs: file.state.checkInterval },
    replicas: { id: e.LOOKOUT_REPLICA_ID ?? defaultReplicaId(env), leaseDurationMs: file.replicas.leaseDuration },
    interactions: { progressIntervalMs: file.interactions.progressInterval, confirmationTimeoutMs: file.interactions.confirmationTimeout },
    commands: {
      scale: { maxReplicas: file.scale.maxReplicas, maxReplicasByNamespace: file.scale.maxReplicasByNamespace },
      rollout: { timeoutMs: file.rollout.timeout, pollIntervalMs: file.rollout.pollInterval },
      certificates: {
        // /ops certs highlights what the scanner's digest would list.
        warnWithinMs: file.certificates.scan.warnWithin,
        probe: { allow: file.certificates.probe.allow, timeoutMs: file.certificates.probe.timeout },
        renew: { timeoutMs: file.certificates.renew.timeout, pollIntervalMs: file.certificates.renew.pollInterval },
      },
    },
    ...(alertmanager ? { alertmanager } : {}),
    silences: { maxDurationMs: file.silences.maxDuration },
    reconcile: { intervalMs: file.reconcile.interval, graceMs: file.reconcile.grace },
    doctor: { checkTimeoutMs: file.doctor.checkTimeout, outboxMaxWaitMs: file.doctor.outboxMaxWait, syntheticTimeoutMs: file.doctor.syntheticTimeout },
    certificates: { scan: certificateScanConfig(file.certificates.scan) },
    ...(vault ? { vault } : {}),
  };
}

/** The owner of every lease in a SQLite state file: its one replica, whichever process that is now. */
const SINGLE_REPLICA_ID = 'lookout';

/**
 * On a shared database: the pod's name (a pod's hostname) plus a suffix new at each start, so a
 * restarted pod does not inherit the leases of the process it replaces, whose Slack calls may
 * still be arriving (another replica takes them over when they expire). On SQLite there is one
 * replica: a restart after a crash takes the leases its predecessor left back at once instead of
 * waiting for them to expire (and looks up a post it left unknown, as always).
 */
function defaultReplicaId(env: Record<string, string | undefined>): string {
  if (!env.LOOKOUT_DATABASE_URL) return SINGLE_REPLICA_ID;
  const host = (env.HOSTNAME ?? hostname()).replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 100) || 'lookout';
  return `${host}-${randomBytes(4).toString('hex')}`;
}

/** SLACK_APP_TOKEN wins over SLACK_SIGNING_SECRET: with both set, Lookout uses Socket Mode. */
function slackConfig(botToken: string | undefined, signingSecret: string | undefined, appToken: string | undefined, apiUrl: string): { slack?: SlackConfig } {
  if (botToken === undefined) return {};
  if (appToken !== undefined) return { slack: { botToken, apiUrl, transport: 'socket', appToken } };
  if (signingSecret !== undefined) return { slack: { botToken, apiUrl, transport: 'http', signingSecret } };
  return {};
}

type EnvInput = Partial<z.output<typeof envSchema>>;
type FileInput = Partial<z.output<typeof fileSchema>>;

/**
 * The Slack credentials that go together, the default channel, and the sections that need a
 * variable. A check that involves an `invalid` key (one with a problem of its own) is skipped:
 * it would only repeat that problem, or guess at what the key was meant to say.
 */
function checkAcrossKeys(e: EnvInput, file: FileInput, invalid: ReadonlySet<string>, source: string, readFile: (path: string) => string, problems: string[]) {
  const valid = (...keys: string[]) => keys.every((key) => !invalid.has(key));
  const hasToken = e.SLACK_BOT_TOKEN !== undefined;
  const hasInbound = e.SLACK_SIGNING_SECRET !== undefined || e.SLACK_APP_TOKEN !== undefined;
  if (valid('SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN')) {
    if (hasToken && !hasInbound) {
      problems.push('env SLACK_BOT_TOKEN: set SLACK_SIGNING_SECRET too (Slack sends requests to /slack/events), or SLACK_APP_TOKEN (Socket Mode: Lookout connects to Slack)');
    }
    if (!hasToken && hasInbound) {
      problems.push(`env ${e.SLACK_APP_TOKEN !== undefined ? 'SLACK_APP_TOKEN' : 'SLACK_SIGNING_SECRET'}: set SLACK_BOT_TOKEN too (Lookout posts with it), or neither for console mode`);
    }
  }
  const channel = e.LOOKOUT_CHANNEL ?? file.channel ?? (hasToken ? undefined : CONSOLE_CHANNEL);
  if (channel === undefined && valid('LOOKOUT_CHANNEL', 'channel', 'SLACK_BOT_TOKEN')) {
    problems.push('channel: set LOOKOUT_CHANNEL or `channel` in the config file (where unrouted alerts go)');
  }
  if (valid('LOOKOUT_DATABASE_URL', 'LOOKOUT_DATABASE_PASSWORD_FILE')) databasePasswordFileProblem(e, readFile, problems);
  const alertmanager = valid('ALERTMANAGER_URL', 'alertmanager') ? alertmanagerConfig(e.ALERTMANAGER_URL, file.alertmanager, source, readFile, problems) : undefined;
  const vault = valid('vault', 'VAULT_NAMESPACE') ? vaultConfig(e, file.vault, source, readFile, problems) : undefined;
  // A channel's lease is given up (released or left to expire) no sooner than a third of its
  // duration after its holder's last call started: the next holder may post at once only if
  // that is at least Slack's per-channel interval.
  if (valid('replicas', 'outbox') && file.replicas && file.outbox && file.replicas.leaseDuration / 3 < file.outbox.minIntervalMs) {
    problems.push(`${source}: replicas.leaseDuration: must be at least 3 × outbox.minIntervalMs (${file.outbox.minIntervalMs} ms)`);
  }
  return { channel, alertmanager, vault };
}

/** The top-level keys an issue is about: unknown keys are reported on the object that holds them. */
function topLevelKeys(issue: z.core.$ZodIssue): string[] {
  if (issue.path.length === 0) return issue.code === 'unrecognized_keys' ? issue.keys : [];
  return [String(issue.path[0])];
}

/** The input without its `invalid` top-level keys, parsed as if every key were optional. */
function validKeys<S extends z.ZodObject>(schema: S, input: unknown, invalid: ReadonlySet<string>): Partial<z.output<S>> {
  const record = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const valid = Object.fromEntries(Object.entries(record).filter(([key]) => !invalid.has(key)));
  const parsed = schema.partial().safeParse(valid);
  return parsed.success ? (parsed.data as Partial<z.output<S>>) : {};
}

function certificateScanConfig(scan: z.output<typeof certificateScanSchema>): CertificateScanConfig {
  return {
    intervalMs: scan.interval,
    ...(scan.namespaces ? { namespaces: scan.namespaces } : {}),
    warnWithinMs: scan.warnWithin,
    ...(scan.channel ? { channel: scan.channel } : {}),
  };
}

/** The password file goes with a URL, and must be readable and not empty (it is read again at start); never echoed. */
function databasePasswordFileProblem(e: EnvInput, readFile: (path: string) => string, problems: string[]): void {
  const path = e.LOOKOUT_DATABASE_PASSWORD_FILE;
  if (path === undefined) return;
  if (e.LOOKOUT_DATABASE_URL === undefined) {
    problems.push('env LOOKOUT_DATABASE_PASSWORD_FILE: set LOOKOUT_DATABASE_URL too, or remove it (it has no effect without it)');
    return;
  }
  try {
    if (readFile(path).trim() === '') problems.push(`env LOOKOUT_DATABASE_PASSWORD_FILE: ${path} is empty`);
  } catch (error) {
    problems.push(`env LOOKOUT_DATABASE_PASSWORD_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Reads the section's credential files; a problem names the key and the path, never the contents. */
function alertmanagerConfig(
  url: string | undefined,
  section: z.output<typeof alertmanagerSchema> | undefined,
  source: string,
  readFile: (path: string) => string,
  problems: string[],
): AlertmanagerConfig | undefined {
  if (url === undefined) {
    if (section !== undefined) problems.push(`${source}: alertmanager: set ALERTMANAGER_URL too, or remove the section (it has no effect without it)`);
    return undefined;
  }
  const read = (key: string, path: string): string | undefined => {
    try {
      const text = readFile(path).trim();
      if (text === '') problems.push(`${source}: alertmanager.${key}: ${path} is empty`);
      return text;
    } catch (error) {
      problems.push(`${source}: alertmanager.${key}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  };
  const bearerToken = section?.bearerTokenFile === undefined ? undefined : read('bearerTokenFile', section.bearerTokenFile);
  const password = section?.basicAuth === undefined ? undefined : read('basicAuth.passwordFile', section.basicAuth.passwordFile);
  const ca = section?.caFile === undefined ? undefined : read('caFile', section.caFile);
  return {
    url,
    requestTimeoutMs: section?.requestTimeoutMs ?? 5000,
    ...(bearerToken ? { bearerToken } : {}),
    ...(section?.basicAuth && password ? { basicAuth: { username: section.basicAuth.username, password } } : {}),
    ...(ca ? { ca } : {}),
  };
}

function describe(source: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  return source === 'env' ? `env ${path}: ${issue.message}` : `${source}: ${path || '(top level)'}: ${issue.message}`;
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
