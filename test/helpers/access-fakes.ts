import type { Gate, Identification } from '../../src/access/access-gate.ts';
import { deniedMessage, unmappedMessage } from '../../src/access/access-gate.ts';
import type { Actor, AuditEntry, AuditTrail, Authorization } from '../../src/access/authorization.ts';
import type { KubeIdentity } from '../../src/identity/resolve-identity.ts';
import type { ResourceAttributes } from '../../src/kube/access-review.ts';
import type { KubeRequest } from '../../src/kube/kube-http.ts';

/** An AuditTrail that keeps what it was given. */
export class RecordingAuditTrail implements AuditTrail {
  readonly entries: AuditEntry[] = [];

  async record(entry: AuditEntry): Promise<void> {
    this.entries.push(structuredClone(entry));
  }
}

export interface FakeGateOptions {
  /** Slack user id → identity; anyone else is unmapped. */
  identities?: Record<string, KubeIdentity>;
  /** Decides reviews; default: allow everything. */
  allow?: (identity: KubeIdentity, attributes: ResourceAttributes) => boolean;
  kubernetesConfigured?: boolean;
}

/** A Gate with scripted identities and decisions; records every question. */
export class FakeGate implements Gate {
  readonly reviews: Array<{ actor: Actor; attributes: ResourceAttributes }> = [];
  readonly identities: Record<string, KubeIdentity>;
  readonly kubernetesConfigured: boolean;
  allow: (identity: KubeIdentity, attributes: ResourceAttributes) => boolean;
  /** When set, authorize() waits for it first (a slow API server), or rejects with it if an Error. */
  delay: Promise<void> | undefined;
  failWith: Error | undefined;

  constructor({ identities = {}, allow = () => true, kubernetesConfigured = true }: FakeGateOptions = {}) {
    this.identities = identities;
    this.allow = allow;
    this.kubernetesConfigured = kubernetesConfigured;
  }

  async identify(actor: Actor): Promise<Identification> {
    const identity = this.identities[actor.slackUserId];
    return identity ? { mapped: true, identity } : { mapped: false, message: unmappedMessage(actor, 'no identity rule maps this Slack user') };
  }

  async authorize(actor: Actor, attributes: ResourceAttributes): Promise<Authorization> {
    this.reviews.push({ actor, attributes });
    if (this.delay) await this.delay;
    if (this.failWith) throw this.failWith;
    const identification = await this.identify(actor);
    if (!identification.mapped) return { allowed: false, reason: 'unmapped', message: identification.message };
    const { identity } = identification;
    return this.allow(identity, attributes) ? { allowed: true, identity } : { allowed: false, reason: 'denied', identity, message: deniedMessage(attributes) };
  }
}

/** Stands in for KubeHttp: records requests and answers with the scripted function. */
export class FakeKubeHttp {
  readonly requests: KubeRequest[] = [];
  answer: (request: KubeRequest) => unknown;

  constructor(answer: (request: KubeRequest) => unknown = () => ({})) {
    this.answer = answer;
  }

  async request<T>(request: KubeRequest): Promise<T> {
    this.requests.push(structuredClone(request));
    return this.answer(request) as T;
  }
}
