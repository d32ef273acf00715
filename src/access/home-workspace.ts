/**
 * Lookout acts only for members of the Slack workspace (or Enterprise Grid organisation) it is
 * installed in. In a Slack Connect channel people of other organisations see Lookout's messages
 * and can type `/ops` or click its buttons; their user ids are not ours to map, so they are
 * refused before anything else happens.
 */

/** Lookout's own Slack workspace, as `auth.test` names it. */
export interface Workspace {
  /** `team_id`: the workspace (T…); an org-wide install may report none. */
  teamId?: string;
  /** `enterprise_id`: the Enterprise Grid organisation (E…), when there is one. */
  enterpriseId?: string;
  /** `url`: the workspace's address, e.g. `https://acme.slack.com/` (message links). */
  url?: string;
}

/** The team a person comes from, as Slack states it in a payload or in users.info. */
export interface ActorTeam {
  /** The person's team id: a workspace (T…), or on Enterprise Grid often the organisation (E…). */
  teamId?: string | undefined;
  /** The person's Enterprise Grid organisation, when Slack states one. */
  enterpriseId?: string | undefined;
}

/** Where Lookout learns its own workspace; {@link HomeWorkspace} implements it, tests fake it. */
export interface WorkspaceSource {
  /** @throws when Slack cannot say (no answer yet): callers refuse rather than guess. */
  get(): Promise<Workspace>;
}

export const FOREIGN_WORKSPACE_MESSAGE =
  "This workspace's Lookout only acts for members of its own Slack workspace, so it did nothing for you. Ask someone in that workspace to run it.";

export interface HomeWorkspaceOptions {
  /** Asks Slack (`auth.test`) once; called again only after a failure. */
  lookup: () => Promise<Workspace>;
}

/**
 * Lookout's workspace, learned from `auth.test` once. Concurrent callers share one request; a
 * failure is not remembered, so the next person's command asks Slack again.
 */
export class HomeWorkspace implements WorkspaceSource {
  private readonly lookup: () => Promise<Workspace>;
  private known: Promise<Workspace> | undefined;

  constructor({ lookup }: HomeWorkspaceOptions) {
    this.lookup = lookup;
  }

  get(): Promise<Workspace> {
    if (this.known) return this.known;
    const pending = this.lookup().then((workspace) => {
      if (workspace.teamId === undefined && workspace.enterpriseId === undefined) throw new Error('auth.test named neither a team nor an enterprise');
      return workspace;
    });
    this.known = pending;
    pending.catch(() => {
      if (this.known === pending) this.known = undefined;
    });
    return pending;
  }
}

/**
 * Whether `actor` is one of Lookout's own people: their team is Lookout's workspace, or Lookout's
 * Enterprise Grid organisation. Slack reports a Grid member's `user.team_id` as the organisation's
 * id (E…) in interaction payloads, and an org-wide install has no single workspace, so the
 * organisation counts as home whenever `auth.test` names one: its members are the same company,
 * and RBAC still decides what each of them may do. An actor whose team Slack did not state is
 * not one of ours.
 */
export function isHomeTeam(home: Workspace, actor: ActorTeam): boolean {
  const ours = (id: string | undefined): boolean => id !== undefined && (id === home.teamId || id === home.enterpriseId);
  if (ours(actor.teamId)) return true;
  return home.enterpriseId !== undefined && actor.enterpriseId === home.enterpriseId;
}
