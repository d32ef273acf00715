import { z } from 'zod';
import { CHARSETS, type Charset } from './generate-secret.ts';
import { parseSecretPattern } from './secret-paths.ts';

/** Where a pod's ServiceAccount token is mounted (the default for Kubernetes auth). */
export const POD_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DURATION = /^(\d+)(ms|s|m)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** A duration such as 10s, 500ms or 2m; milliseconds once parsed. */
const milliseconds = z
  .string()
  .regex(DURATION, 'must be a duration such as 10s, 500ms or 2m')
  .transform((text) => {
    const [, amount, unit] = DURATION.exec(text)!;
    return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  });

const authSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('token') }),
  z.strictObject({
    method: z.literal('kubernetes'),
    /** Vault role to log in as; VAULT_K8S_ROLE overrides it. */
    role: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a Vault role name').optional(),
    /** Where the Kubernetes auth method is mounted in Vault (`auth/<mountPath>/login`). */
    mountPath: z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'must be an auth mount path such as kubernetes').default('kubernetes'),
    /** The audience the token must carry (the role's `audience`); checked before logging in. */
    audience: z.string().min(1).optional(),
    /** The ServiceAccount token (a projected token, for an audience of its own). Read at every login. */
    tokenFile: z.string().min(1).default(POD_TOKEN_FILE),
  }),
]);

const generateSchema = z.strictObject({
  length: z.number().int().min(16, 'must be at least 16 characters').max(1024).default(32),
  charset: z.enum(Object.keys(CHARSETS) as [Charset, ...Charset[]]).default('alphanumeric'),
});

const secretRuleSchema = z.strictObject({
  /** `<mount>/<path>`; a `*` segment stands for one or more segments. */
  path: z.string().superRefine((pattern, ctx) => {
    const parsed = parseSecretPattern(pattern);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  }),
  /** Where RBAC is reviewed (and consumers are found) for these paths. */
  namespace: z.string().regex(NAMESPACE, 'must be a namespace name'),
  generate: generateSchema.prefault({}),
});

/** The `vault:` section of the config file (docs/configuration.md). */
export const vaultSectionSchema = z.strictObject({
  auth: authSchema.optional(),
  /** Each Vault request's deadline. */
  requestTimeout: milliseconds.refine((ms) => ms >= 100 && ms <= 120_000, 'must be between 100ms and 2m').prefault('10s'),
  /** Which paths may be rotated, first match wins; anything else is refused before Vault is asked. */
  secrets: z.array(secretRuleSchema).default([]),
  /** How long a rotation waits for External Secrets to copy the new value into its Secrets, before restarting. */
  syncTimeout: milliseconds.refine((ms) => ms >= 1000 && ms <= 10 * 60_000, 'must be between 1s and 10m').prefault('60s'),
  /** How often the synced Secrets are read while waiting. */
  syncPollInterval: milliseconds.refine((ms) => ms >= 100 && ms <= 60_000, 'must be between 100ms and 60s').prefault('1s'),
});

export type VaultSection = z.output<typeof vaultSectionSchema>;
export type SecretRule = z.output<typeof secretRuleSchema>;
export type GenerateRule = z.output<typeof generateSchema>;

/** How Lookout authenticates to Vault. The token never appears in logs, errors or replies. */
export type VaultAuthConfig =
  | { method: 'token'; token: string }
  | { method: 'kubernetes'; role: string; mountPath: string; audience?: string; tokenFile: string };

/** VAULT_* plus the `vault:` section; absent without VAULT_ADDR (rotate then says how to enable it). */
export interface VaultConfig {
  addr: string;
  /** X-Vault-Namespace (Vault Enterprise / OpenBao namespaces). */
  namespace?: string;
  /** PEM of the CA(s) that signed Vault's certificate (VAULT_CACERT). */
  ca?: string;
  requestTimeoutMs: number;
  auth: VaultAuthConfig;
  secrets: SecretRule[];
  /** External Secrets sync wait before restarts. */
  sync: { timeoutMs: number; pollIntervalMs: number };
}

export interface VaultEnv {
  VAULT_ADDR?: string | undefined;
  VAULT_TOKEN?: string | undefined;
  VAULT_K8S_ROLE?: string | undefined;
  VAULT_NAMESPACE?: string | undefined;
  VAULT_CACERT?: string | undefined;
}

/**
 * Combines the environment and the file's section. The method defaults to `token` when
 * VAULT_TOKEN is set, else `kubernetes`; problems name the key or variable, never a value.
 */
export function vaultConfig(env: VaultEnv, section: VaultSection | undefined, source: string, readFile: (path: string) => string, problems: string[]): VaultConfig | undefined {
  if (env.VAULT_ADDR === undefined || env.VAULT_ADDR === '') {
    if (section !== undefined) problems.push(`${source}: vault: set VAULT_ADDR too, or remove the section (it has no effect without it)`);
    return undefined;
  }
  let addr: URL | undefined;
  try {
    addr = new URL(env.VAULT_ADDR);
  } catch {
    // Reported below.
  }
  if (addr === undefined || !['http:', 'https:'].includes(addr.protocol)) {
    problems.push('env VAULT_ADDR: must be an http(s) URL such as https://vault.vault:8200');
    return undefined;
  }
  const method = section?.auth?.method ?? (env.VAULT_TOKEN ? 'token' : 'kubernetes');
  let auth: VaultAuthConfig | undefined;
  if (method === 'token') {
    if (!env.VAULT_TOKEN) problems.push('env VAULT_TOKEN: is required for vault.auth.method token (or use method kubernetes with VAULT_K8S_ROLE)');
    else auth = { method: 'token', token: env.VAULT_TOKEN };
  } else {
    const fileAuth = section?.auth?.method === 'kubernetes' ? section.auth : undefined;
    const role = env.VAULT_K8S_ROLE || fileAuth?.role;
    if (role === undefined) problems.push(`env VAULT_K8S_ROLE: is required for Kubernetes auth (or set vault.auth.role in ${source}, or VAULT_TOKEN for a token)`);
    else if (!/^[A-Za-z0-9._-]{1,128}$/.test(role)) problems.push('env VAULT_K8S_ROLE: must be a Vault role name');
    else {
      auth = {
        method: 'kubernetes',
        role,
        mountPath: fileAuth?.mountPath ?? 'kubernetes',
        tokenFile: fileAuth?.tokenFile ?? POD_TOKEN_FILE,
        ...(fileAuth?.audience !== undefined ? { audience: fileAuth.audience } : {}),
      };
    }
  }
  let ca: string | undefined;
  if (env.VAULT_CACERT) {
    try {
      ca = readFile(env.VAULT_CACERT);
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(`env VAULT_CACERT: ${env.VAULT_CACERT} holds no PEM certificate`);
    } catch (error) {
      problems.push(`env VAULT_CACERT: cannot read ${env.VAULT_CACERT} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (auth === undefined) return undefined;
  return {
    addr: addr.toString().replace(/\/+$/, ''),
    ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
    ...(ca !== undefined ? { ca } : {}),
    requestTimeoutMs: section?.requestTimeout ?? 10_000,
    auth,
    secrets: section?.secrets ?? [],
    sync: { timeoutMs: section?.syncTimeout ?? 60_000, pollIntervalMs: section?.syncPollInterval ?? 1000 },
  };
}
