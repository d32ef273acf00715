import type { KnownBlock } from '@slack/types';
import type { z } from 'zod';
import type { Identification } from '../src/access/access-gate.ts';
import type { Authorization, ObjectReference } from '../src/access/authorization.ts';
import type { KubeIdentity } from '../src/identity/resolve-identity.ts';
import type { ResourceAttributes } from '../src/kube/access-review.ts';
import type { KubeRequest } from '../src/kube/kube-http.ts';
import { DEFAULT_WARN_WITHIN_MS } from '../src/certificates/expiry-window.ts';
import type { Logger } from '../src/log.ts';

/**
 * The contract of a slash subcommand (`/ops <name> …`). Commands hold only their own logic:
 * the dispatcher (src/slack/dispatcher.ts) acknowledges Slack, parses arguments with `args`,
 * reviews `access`, runs, replies, audits, and maps errors. Commands never import Bolt or the
 * Kubernetes client.
 */
export interface CommandDefinition<Args = unknown> {
  /** The subcommand word, e.g. `help`. */
  name: string;
  /** One line for the help listing. */
  summary: string;
  /** Argument synopsis after the subcommand, e.g. `<deployment> <replicas> [-n namespace]`. */
  usage: string;
  /** Parses the words after the subcommand; a failure shows the usage. */
  args: z.ZodType<Args, string[]>;
  /**
   * The permission the command needs, computed from its parsed arguments. When present, the
   * dispatcher runs the command only if a SubjectAccessReview allows it for the person, and
   * audits every attempt. A command that writes to Kubernetes or acts elsewhere for a person
   * must declare it. It may read what it needs to know where the action lands (the silence an id
   * names); a UserError it throws is the reply, with nothing audited (nothing was attempted).
   */
  access?(args: Args, lookup: AccessLookup): ResourceAttributes | Promise<ResourceAttributes>;
  /**
   * A sentence added to the gate's refusal, e.g. why the permission is asked cluster-wide and how
   * to ask for less. The refusal itself always names the missing permission.
   */
  deniedHint?(args: Args): string | undefined;
  /** The Kubernetes object the action is about; the audit Event is recorded on it. */
  target?(args: Args): ObjectReference | undefined;
  /** Event reason recorded when the action succeeded, e.g. `ScaledBySlackUser`. */
  auditReason?: string;
  run(ctx: CommandContext<Args>): Promise<CommandReply>;
}

/**
 * What `access` may consult when the permission depends on what exists (the HPA that scales a
 * workload names the HPA to review): reads as Lookout, before the person is reviewed. A
 * UserError thrown from `access` (no such HPA) is the reply.
 */
export interface AccessLookup {
  lookoutReads?: LookoutReads;
}

export interface CommandContext<Args> {
  args: Args;
  /** The Slack user who typed the command. */
  user: { id: string; name: string };
  channelId: string;
  /** The slash command as configured, e.g. `/ops`, for help texts. */
  slashCommand: string;
  /** Every registered command, so `help` can list them. */
  commands: readonly AnyCommand[];
  log: Logger;
  /** The person's Kubernetes identity: set when the command declares `access` and the gate allowed it. */
  identity?: KubeIdentity;
  /**
   * Kubernetes calls made AS the person who typed the command (their username and every group,
   * each group its own Impersonate-Group header), never as Lookout. Absent when Lookout has no
   * Kubernetes connection. Calls refuse (Forbidden) for a person no identity rule maps.
   */
  kube?: PersonKube;
  /** Questions about the person's own access (whoami, can-i), answered by the RBAC gate. */
  access: PersonAccess;
  /** Kubernetes reads as Lookout itself (see LookoutReads); absent without Kubernetes. */
  lookoutReads?: LookoutReads;
  /** Limits and timeouts from the config file that commands apply. */
  settings: CommandSettings;
  /**
   * Set when the dispatcher runs the command again at a Confirm click, to compare what it would
   * do now with the question the person saw (any replica may take the click, and a question's
   * run() cannot be stored). A command that may ask first must then ask, never act: the same
   * question if nothing changed, else the question for what it would do now.
   */
  replanning?: boolean;
}

/**
 * Kubernetes reads made as Lookout itself, with its narrow read-only ClusterRole (the reads
 * enrichment makes): for facts that decide what Lookout tells the person — an HPA that scales
 * the workload, rollout status while it progresses — never for what the person asked to read
 * or change, which goes through `kube` as them.
 */
export interface LookoutReads {
  get<T>(path: string, query?: Record<string, string>): Promise<T>;
}

/** Settings commands read (config file: `scale`, `rollout`, `certificates`); see docs/configuration.md. */
export interface CommandSettings {
  scale: {
    /** Replicas at most, unless the namespace has its own maximum. */
    maxReplicas: number;
    maxReplicasByNamespace: Readonly<Record<string, number>>;
  };
  rollout: {
    /** Progress is followed for at most this long, then the reply says so. */
    timeoutMs: number;
    /** How often the workload's status is read while following it. */
    pollIntervalMs: number;
  };
  certificates: {
    /** `/ops certs` highlights what expires within this (the scanner's warning window). */
    warnWithinMs: number;
    /** `--probe`: the `host:port` globs that may be dialled, and the handshake's deadline. */
    probe: { allow: readonly string[]; timeoutMs: number };
    /** Renew follows the Certificate for at most `timeoutMs`, reading it every `pollIntervalMs`. */
    renew: { timeoutMs: number; pollIntervalMs: number };
  };
}

export const DEFAULT_COMMAND_SETTINGS: CommandSettings = {
  scale: { maxReplicas: 50, maxReplicasByNamespace: {} },
  rollout: { timeoutMs: 5 * 60_000, pollIntervalMs: 2000 },
  certificates: { warnWithinMs: DEFAULT_WARN_WITHIN_MS, probe: { allow: [], timeoutMs: 5000 }, renew: { timeoutMs: 5 * 60_000, pollIntervalMs: 2000 } },
};

/** The RBAC gate, bound to the person who typed the command. */
export interface PersonAccess {
  /** Their mapped identity, or why there is none and how to get one. */
  identify(): Promise<Identification>;
  /** A SubjectAccessReview for them with exactly these attributes. */
  authorize(attributes: ResourceAttributes): Promise<Authorization>;
  /** False when Lookout has no Kubernetes connection (every review is then refused). */
  readonly kubernetesConfigured: boolean;
}

/** A Kubernetes request made for a person; the impersonation is not the caller's to choose. */
export type PersonKubeRequest = Omit<KubeRequest, 'impersonate'>;

/** Kubernetes, as the person (see CommandContext.kube). */
export interface PersonKube {
  request<T>(request: PersonKubeRequest): Promise<T>;
}

/**
 * What the person sees: mrkdwn `text` (the fallback, and all a screen reader or notification
 * shows) and optionally Block Kit `blocks` (at most 50; the dispatcher refuses more, see
 * src/slack/reply-limits.ts). Types only: commands never build Slack calls themselves.
 */
export interface ReplyContent {
  text: string;
  blocks?: KnownBlock[];
}

export interface CommandReply extends ReplyContent {
  /** One short line for the audit record (commands with `access`); never a secret. Default: "done". */
  auditDetail?: string;
  /**
   * Ask before acting. The dispatcher shows `text`/`blocks` with Confirm and Cancel buttons (Confirm
   * with a Block Kit confirm dialog) and stores what was asked under an unguessable id. When the
   * same person clicks Confirm in the same channel before the confirmation expires, it runs the
   * command again (`replanning`: parse, access review, run) and calls the new `run` only if the
   * new `text` and confirmation equal what the person saw. So `text` and the question must show
   * everything `run` will do. Nothing is audited as done until then.
   */
  confirm?: Confirmation;
  /**
   * Work that goes on after the reply is shown (rollout progress). The dispatcher runs it once
   * the reply is out, forwards `progress.update` as edits of the reply (coalesced, within Slack's
   * budget for it) and shows what it resolves to as the final state; a thrown error becomes the
   * final state as any command error would.
   */
  followUp?: FollowUpWork;
  /**
   * The object the audit Event goes on, when only `run` can tell (`/ops logs shop/cart` may name
   * a pod or a Deployment); replaces `target(args)`.
   */
  auditTarget?: ObjectReference;
}

/** A question asked before a command acts; see CommandReply.confirm. */
export interface Confirmation {
  /** Confirm dialog title, plain text, at most 100 characters. */
  title: string;
  /** Confirm dialog body, plain text, at most 300 characters. */
  question: string;
  /** Label of the Confirm button and of the dialog's confirm button, at most 30 characters. */
  confirmLabel: string;
  /** `danger` (red) for destructive actions such as scaling to 0 or restarting. */
  style?: 'danger' | 'primary';
  /** The action itself; its reply (with its own followUp) replaces the question. */
  run(): Promise<CommandReply>;
}

/** Edits of a reply while work continues; see CommandReply.followUp. */
export interface Progress {
  /** A newer state of the reply. Coalesced: only the latest waiting state is shown. */
  update(content: ReplyContent): void;
  /** Aborted when Lookout shuts down; the work should stop and resolve. */
  readonly signal: AbortSignal;
}

/** See CommandReply.followUp; resolves to the final state of the reply. */
export type FollowUpWork = (progress: Progress) => Promise<ReplyContent>;

/**
 * The action_id of a button, in a command's reply, that runs command `name` for whoever clicks it,
 * with the button's value as its arguments: parsed, reviewed and audited exactly as if that person
 * had typed `/ops <name> <value>` (src/slack/dispatcher.ts, createCommandButtons). A forged value
 * gets no further than typing would, so it may name what to act on (an Expire button's silence id).
 */
export function commandButtonActionId(name: string): string {
  return `command:run:${name}`;
}

// Definitions are stored side by side whatever their argument types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry is heterogeneous by design
export type AnyCommand = CommandDefinition<any>;

/** The usage line of a command, e.g. "/ops help [command]". */
export function usageOf(slashCommand: string, command: AnyCommand): string {
  return `${slashCommand} ${command.name}${command.usage ? ` ${command.usage}` : ''}`;
}
