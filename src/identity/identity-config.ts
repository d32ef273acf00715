import { z } from 'zod';

/** Kubernetes user and group names Lookout may produce: no whitespace, no commas (header-safe). */
const kubeName = z.string().regex(/^[^\s,]{1,253}$/, 'must be a Kubernetes user or group name without spaces or commas');

/**
 * How Slack people map to Kubernetes identities (the `identities:` section). Rules combine:
 * the username comes from the most specific rule that matched (user id, then email), groups
 * from every rule that matched. Everything gets `prefix`, so a mapped name can never be a
 * cluster-internal identity such as `system:masters`.
 */
export const identitiesSchema = z.strictObject({
  prefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]*:$/, 'must end with ":" (for example "slack:")')
    .refine((prefix) => !prefix.startsWith('system:'), 'must not start with "system:"')
    .default('slack:'),
  users: z
    .array(z.strictObject({ slack: z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id (U…)'), user: kubeName, groups: z.array(kubeName).default([]) }))
    .default([]),
  emails: z
    .array(
      z.strictObject({
        domain: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be an email domain such as example.com'),
        groups: z.array(kubeName).default([]),
      }),
    )
    .default([]),
  usergroups: z
    .array(z.strictObject({ slack: z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id (S…)'), groups: z.array(kubeName).min(1) }))
    .default([]),
  /** How long Slack profile and user-group answers are reused. */
  cacheTtlSeconds: z.number().int().min(0).max(3600).default(300),
});

export type IdentitiesConfig = z.output<typeof identitiesSchema>;
