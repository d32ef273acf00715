import type { IdentityResolution, KubeIdentity } from '../identity/resolve-identity.ts';
import { describePermission, reviewAccess, type ResourceAttributes } from '../kube/access-review.ts';
import type { KubeHttp } from '../kube/kube-http.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Actor, Authorization } from './authorization.ts';
import { FOREIGN_WORKSPACE_MESSAGE } from './home-workspace.ts';

/** The part of IdentityResolver the gate uses; tests fake it. */
export interface IdentitySource {
  resolve(slackUserId: string): Promise<IdentityResolution>;
}

/** Who a person is to Kubernetes, or why they are nobody (with what to do about it). */
export type Identification = { mapped: true; identity: KubeIdentity } | { mapped: false; message: string };

/** What the dispatcher and the button handlers ask before acting for a person. */
export interface Gate {
  /** Maps the person; never consults RBAC. */
  identify(actor: Actor): Promise<Identification>;
  /**
   * Maps the person, then asks the API server (SubjectAccessReview) about exactly `attributes`.
   * @throws on Slack or API server failures: a failure is never an allowance.
   */
  authorize(actor: Actor, attributes: ResourceAttributes): Promise<Authorization>;
  /** Whether Lookout can talk to Kubernetes at all (no kubeconfig: every review is refused). */
  readonly kubernetesConfigured: boolean;
}

export interface AccessGateOptions {
  resolver: IdentitySource;
  /** Lookout's own Kubernetes client; undefined when no kubeconfig was found. */
  kube: Pick<KubeHttp, 'request'> | undefined;
  log: Logger;
  metrics?: Metrics;
}

/** Raised when the access review itself failed; the dispatcher turns it into "internal error (ref …)". */
export class AccessReviewFailed extends Error {
  constructor(options: ErrorOptions) {
    super('the SubjectAccessReview could not be made', options);
    this.name = 'AccessReviewFailed';
  }
}

export const NO_KUBERNETES_MESSAGE =
  'Lookout is not connected to Kubernetes (no in-cluster service account and no KUBECONFIG), so it cannot check permissions and refuses every action. Ask a Lookout admin to fix its deployment (see docs/deploy.md).';

/**
 * The RBAC gate: a Slack person → their Kubernetes identity → a SubjectAccessReview with the
 * exact attributes of the action. Denials name the missing permission and nothing else (RBAC's
 * own reason goes to the log only); errors propagate, so nothing is ever allowed by accident.
 */
export class AccessGate implements Gate {
  private readonly resolver: IdentitySource;
  private readonly kube: Pick<KubeHttp, 'request'> | undefined;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;

  constructor({ resolver, kube, log, metrics }: AccessGateOptions) {
    this.resolver = resolver;
    this.kube = kube;
    this.log = log;
    this.metrics = metrics;
  }

  get kubernetesConfigured(): boolean {
    return this.kube !== undefined;
  }

  async identify(actor: Actor): Promise<Identification> {
    const resolution = await this.resolver.resolve(actor.slackUserId);
    if (resolution.ok) return { mapped: true, identity: resolution.identity };
    // No identity rule can help someone of another workspace: don't tell them to ask for one.
    if (resolution.foreign) return { mapped: false, message: FOREIGN_WORKSPACE_MESSAGE };
    return { mapped: false, message: unmappedMessage(actor, resolution.reason) };
  }

  async authorize(actor: Actor, attributes: ResourceAttributes): Promise<Authorization> {
    let identification: Identification;
    try {
      identification = await this.identify(actor);
    } catch (error) {
      this.count('error');
      throw error;
    }
    if (!identification.mapped) {
      this.count('unmapped');
      this.log.info({ slackUser: actor.slackUserId, attributes }, 'access refused: the Slack user is not mapped');
      return { allowed: false, reason: 'unmapped', message: identification.message };
    }
    const { identity } = identification;
    if (this.kube === undefined) {
      this.count('denied');
      return { allowed: false, reason: 'denied', identity, message: NO_KUBERNETES_MESSAGE };
    }

    let decision;
    try {
      decision = await reviewAccess(this.kube, identity, attributes);
    } catch (error) {
      this.count('error');
      // The API server's own words (KubeApiError.serverMessage) are for this log line only.
      this.log.warn({ err: error, slackUser: actor.slackUserId, attributes }, 'SubjectAccessReview failed');
      throw new AccessReviewFailed({ cause: error });
    }
    const fields = { slackUser: actor.slackUserId, username: identity.username, groups: identity.groups, attributes, rbacReason: decision.reason };
    if (decision.allowed) {
      this.count('allowed');
      this.log.info(fields, 'access allowed');
      return { allowed: true, identity };
    }
    this.count('denied');
    this.log.info(fields, 'access denied');
    return { allowed: false, reason: 'denied', identity, message: deniedMessage(attributes) };
  }

  private count(outcome: 'allowed' | 'denied' | 'unmapped' | 'error'): void {
    this.metrics?.accessDecisions.inc({ outcome });
  }
}

/** Says why, how to get access, and the id an admin needs for a user-id rule. */
export function unmappedMessage(actor: Actor, reason: string): string {
  return (
    `You are not mapped to a Kubernetes identity (${reason}), so Lookout will not act for you. ` +
    `To get access, ask a Lookout admin to add an identity rule for your Slack user id \`${actor.slackUserId}\` (see docs/rbac.md).`
  );
}

/** The missing permission, and nothing else: RBAC's reason can name roles and bindings. */
export function deniedMessage(attributes: ResourceAttributes): string {
  return `Not allowed: this needs ${describePermission(attributes)}.`;
}
