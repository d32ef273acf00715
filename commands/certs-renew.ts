import type { Button } from '@slack/types';
import { followRenewal, MANUALLY_TRIGGERED, renewCertificate } from '../src/certificates/renew-certificate.ts';
import { button, confirmDialog } from '../src/slack/reply-limits.ts';
import { commandButtonActionId, type CommandContext, type CommandReply } from './command.ts';

/** The subcommand the Renew button runs (`/ops certs renew <namespace>/<name>`). */
export const CERTS_COMMAND = 'certs';

/**
 * The Renew button for a cert-manager Certificate: it runs `/ops certs renew <namespace>/<name>`
 * for whoever clicks it, reviewed (`renew` on `certificates.lookout.dev`), written as them and
 * audited exactly as if typed (createCommandButtons in src/slack/dispatcher.ts must register
 * CERTS_COMMAND). Usable in any message: alert messages too.
 */
export function renewButton(namespace: string, name: string): Button {
  return button({
    actionId: commandButtonActionId(CERTS_COMMAND),
    text: 'Renew',
    value: `renew ${namespace}/${name}`,
    confirm: confirmDialog({
      title: 'Renew this certificate?',
      text: `cert-manager issues a new certificate for ${namespace}/${name} now (an ACME issuer counts it against its rate limits).`,
      confirm: 'Renew',
    }),
  });
}

/** `/ops certs renew`: as `cmctl renew`, as the person, then followed until Ready or failed. */
export async function renew(ctx: CommandContext<unknown>, namespace: string, name: string): Promise<CommandReply> {
  const { kube, lookoutReads: reads } = ctx;
  if (kube === undefined || reads === undefined) throw new Error('renew needs Kubernetes');
  const who = ctx.identity?.username ?? ctx.user.name;
  const outcome = await renewCertificate(kube, reads, namespace, name, who);
  const { timeoutMs, pollIntervalMs } = ctx.settings.certificates.renew;
  const follow = (headline: string) => followRenewal({ reads, namespace, name, timeoutMs, pollIntervalMs, headline });
  if (!outcome.renewed) {
    const headline = `Certificate ${namespace}/${name} is already being issued (Issuing: ${outcome.alreadyIssuing.issuing?.reason ?? 'no reason given'}); nothing was changed.`;
    return { text: headline, auditDetail: 'already issuing; nothing written', followUp: follow(headline) };
  }
  ctx.log.info({ certificate: `${namespace}/${name}` }, 'certificate renewal triggered');
  const headline = `Certificate ${namespace}/${name}: renewal triggered (Issuing=True, ${MANUALLY_TRIGGERED}); cert-manager issues a new certificate.`;
  return { text: headline, auditDetail: `Issuing=True (${MANUALLY_TRIGGERED})`, followUp: follow(headline) };
}
