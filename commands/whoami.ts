import { z } from 'zod';
import type { KubeIdentity } from '../src/identity/resolve-identity.ts';
import { KubeApiError } from '../src/kube/kube-http.ts';
import type { CommandContext, CommandDefinition } from './command.ts';

interface SelfSubjectReview {
  status?: { userInfo?: { username?: string; groups?: string[] } };
}

/**
 * `/ops whoami`: the Kubernetes identity Lookout acts as for the person, how it was derived,
 * and — asked through impersonation (SelfSubjectReview) — how the API server sees them, which
 * also proves Lookout is allowed to impersonate every part of that identity. Works for
 * unmapped people too: they learn how to get access.
 */
const whoami: CommandDefinition<Record<string, never>> = {
  name: 'whoami',
  summary: 'Show the Kubernetes identity Lookout uses for you, and how it was derived',
  usage: '',
  args: z
    .array(z.string())
    .max(0, 'takes no arguments')
    .transform(() => ({})),
  async run(ctx) {
    const identification = await ctx.access.identify();
    if (!identification.mapped) return { text: identification.message };
    const { identity } = identification;
    const lines = [
      `*You are* \`${identity.username}\` to Kubernetes`,
      `*Groups:* ${identity.groups.length > 0 ? identity.groups.map((group) => `\`${group}\``).join(', ') : 'none'}`,
      '*How Lookout mapped you:*',
      ...identity.derivation.map((line) => `• ${line}`),
      await apiServerView(ctx, identity),
    ];
    return { text: lines.join('\n') };
  },
};

async function apiServerView(ctx: CommandContext<unknown>, identity: KubeIdentity): Promise<string> {
  if (ctx.kube === undefined) return '_Lookout is not connected to Kubernetes, so it cannot act for you._';
  try {
    const review = await ctx.kube.request<SelfSubjectReview>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    const seen = review.status?.userInfo;
    const groups = (seen?.groups ?? []).map((group) => `\`${group}\``).join(', ');
    return `*Kubernetes sees:* \`${seen?.username ?? '?'}\`${groups ? ` in groups ${groups}` : ''}`;
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 403) {
      ctx.log.warn({ username: identity.username, groups: identity.groups }, 'Lookout may not impersonate this identity');
      return "_Kubernetes does not let Lookout act as this identity: Lookout's impersonation ClusterRole must list your user and each of your groups in `resourceNames` (see docs/rbac.md)._";
    }
    ctx.log.warn({ err: error }, 'SelfSubjectReview failed');
    return "_Kubernetes could not be asked how it sees you (the details are in Lookout's log)._";
  }
}

export default whoami;
