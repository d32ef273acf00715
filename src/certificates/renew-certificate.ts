import type { FollowUpWork, LookoutReads, PersonKube, ReplyContent } from '../../commands/command.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { KubeApiError } from '../kube/kube-http.ts';
import { NotFound } from '../errors.ts';
import { pause } from '../pause.ts';
import { kubeFailure } from '../workloads/kube-failure.ts';
import { certificateFacts, certificatesPath, describeCondition, type CertificateObject, type ManagedCertificate } from './cert-manager-certificates.ts';
import { utcMinute } from './expiry-window.ts';

/** `renew` on `certificates.lookout.dev`: what the Renew button and `/ops certs renew` are reviewed as. */
export function renewAttributes(namespace: string, name: string): ResourceAttributes {
  return { verb: 'renew', group: 'lookout.dev', resource: 'certificates', namespace, name };
}

/** The person's own permission the write needs (it is made impersonating them). */
export function statusWriteAttributes(namespace: string, name: string): ResourceAttributes {
  return { verb: 'update', group: 'cert-manager.io', resource: 'certificates', subresource: 'status', namespace, name };
}

/** The reason cert-manager's own `cmctl renew` gives the Issuing condition. */
export const MANUALLY_TRIGGERED = 'ManuallyTriggered';

/** What a renewal did. */
export type RenewOutcome = { renewed: true; certificate: ManagedCertificate } | { renewed: false; alreadyIssuing: ManagedCertificate };

type CertificateWithStatus = CertificateObject & { metadata: { resourceVersion?: string }; status?: { conditions?: Array<Record<string, unknown>> } };

/**
 * What `cmctl renew` does: sets the Certificate's `Issuing` condition to True with reason
 * `ManuallyTriggered` and `observedGeneration` = its generation, through the status subresource
 * (PUT, as `update certificates/status`) AS THE PERSON, so their own RBAC decides; cert-manager
 * then issues a new certificate. The object is read as Lookout; a 409 (it changed in between)
 * reads it again and tries once more. A Certificate already issuing is left as it is.
 */
export async function renewCertificate(kube: PersonKube, reads: LookoutReads, namespace: string, name: string, who: string, now: () => number = Date.now): Promise<RenewOutcome> {
  for (let attempt = 1; ; attempt++) {
    const object = await readObject(reads, namespace, name);
    const facts = certificateFacts(object);
    if (facts.issuing?.status === 'True') return { renewed: false, alreadyIssuing: facts };
    const issuing = {
      type: 'Issuing',
      status: 'True',
      reason: MANUALLY_TRIGGERED,
      message: `Certificate re-issuance manually triggered by ${who} (Lookout)`,
      lastTransitionTime: new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      observedGeneration: facts.generation,
    };
    const conditions = (object.status?.conditions ?? []).filter((condition) => condition['type'] !== 'Issuing');
    const body = { ...object, status: { ...object.status, conditions: [...conditions, issuing] } };
    try {
      const written = await kube.request<CertificateWithStatus>({ method: 'PUT', path: `${certificatesPath(namespace, name)}/status`, body });
      return { renewed: true, certificate: certificateFacts(written) };
    } catch (error) {
      if (attempt === 1 && error instanceof KubeApiError && error.status === 409) continue;
      return kubeFailure(error, { attributes: statusWriteAttributes(namespace, name), what: `Certificate ${namespace}/${name}` });
    }
  }
}

async function readObject(reads: LookoutReads, namespace: string, name: string): Promise<CertificateWithStatus> {
  try {
    return await reads.get<CertificateWithStatus>(certificatesPath(namespace, name));
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) throw new NotFound(`There is no Certificate ${namespace}/${name}.`, { cause: error });
    throw error;
  }
}

/** Where a renewal stands, from the Certificate's conditions. */
export type RenewalState = { done: true; line: string } | { done: false; line: string };

/**
 * Finished when cert-manager has dropped the Issuing condition (or set it False) and Ready is
 * True again; failed when Issuing turned False with a reason, or Ready is False with nothing
 * issuing any more. Otherwise still issuing.
 */
export function renewalState(certificate: ManagedCertificate): RenewalState {
  const { issuing, ready } = certificate;
  if (issuing?.status === 'True') return { done: false, line: `⏳ Issuing (${issuing.reason ?? 'no reason given'})${ready ? ` · Ready ${ready.status}` : ''}` };
  if (issuing?.status === 'False') return { done: true, line: `⚠️ Issuance failed${describeCondition(issuing)}` };
  if (ready?.status === 'True') {
    const expires = certificate.notAfter !== undefined ? `, expires ${utcMinute(certificate.notAfter)}` : '';
    return { done: true, line: `✅ Renewed: Ready${expires}` };
  }
  if (ready?.status === 'False') return { done: true, line: `⚠️ Not Ready${describeCondition(ready)}` };
  return { done: false, line: '⏳ Waiting for cert-manager' };
}

export interface FollowRenewalOptions {
  reads: LookoutReads;
  namespace: string;
  name: string;
  timeoutMs: number;
  pollIntervalMs: number;
  /** The reply's first line. */
  headline: string;
  now?: () => number;
}

/**
 * Follows the Certificate (read as Lookout) until the renewal finished or failed, or `timeoutMs`
 * passed, showing each new state. A failed read ends it with a note: the renewal was asked for.
 */
export function followRenewal({ reads, namespace, name, timeoutMs, pollIntervalMs, headline, now = Date.now }: FollowRenewalOptions): FollowUpWork {
  return async (progress) => {
    const started = now();
    const show = (line: string): ReplyContent => ({ text: `${headline}\n${line}` });
    let last = '';
    for (;;) {
      let state: RenewalState;
      try {
        state = renewalState(certificateFacts(await reads.get<CertificateObject>(certificatesPath(namespace, name))));
      } catch {
        return show(`_Lookout could not read the Certificate; the renewal was asked for. Check it with \`kubectl describe certificate ${name} -n ${namespace}\`._`);
      }
      if (state.done) return show(state.line);
      if (progress.signal.aborted) return show(`Lookout stopped following the renewal (shutting down): ${state.line}`);
      if (now() - started >= timeoutMs) return show(`⏱️ Still not Ready after ${Math.round(timeoutMs / 1000)} s; Lookout stopped following it: ${state.line}`);
      if (state.line !== last) progress.update(show(state.line));
      last = state.line;
      await pause(pollIntervalMs, progress.signal);
    }
  };
}
