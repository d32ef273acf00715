import type { SilenceMark } from '../../alerts/group-state.ts';
import { InvalidInput } from '../errors.ts';
import { groupSilenceMatchers, SILENCE_CHOICES, silenceActionId, type SilenceChoice } from '../../alerts/silence-control.ts';
import { alertmanagerFailure, checkDuration, CLUSTER_WIDE_HINT, formatDuration, matcherList, requireAlertmanager, silenceAttributes, slackTime, type SilenceCommandDeps } from '../../commands/silence-support.ts';
import { silenceCreator, SILENCE_REASON } from '../../commands/silence.ts';
import { formatMatcher, overBroadReason } from '../integrations/silence-matchers.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { LOOKOUT_GROUP } from '../kube/resource-names.ts';
import type { GroupRecord, Store } from '../state/store.ts';
import type { AlertAction, AlertActionContext, AlertActionOutcome, AnyAlertAction } from './alert-actions.ts';

export interface SilenceActionsOptions extends SilenceCommandDeps {
  store: Pick<Store, 'groupByMessage' | 'markGroupSilenced'>;
  /** A group now shows a silence: wake the outbox, and watch for its end (src/silence-expiry.ts). */
  onSilenced: (groupId: number, mark: SilenceMark) => void;
}

/** What the custom modal collects. */
export interface SilenceInput {
  durationMs: number;
  comment?: string;
}

/** `create silences.lookout.dev`, audited for attempts made before the group is known. */
const CREATE_SILENCES: ResourceAttributes = { verb: 'create', group: LOOKOUT_GROUP, resource: 'silences' };

const DURATION_BLOCK = 'silence-duration';
const COMMENT_BLOCK = 'silence-comment';

/**
 * The Silence buttons of alert messages (alerts/silence-control.ts renders them): 1h, 4h, 24h, and
 * a modal for any duration with a comment. alert-actions.ts does the checks around them; the
 * matchers are the stored group's labels, the permission `create silences.lookout.dev` in the
 * namespace they name (cluster-wide without one), the silence is created in Alertmanager as the
 * clicker (createdBy), and the message shows "Silenced by … until …" until it ends.
 */
export function silenceActions(options: SilenceActionsOptions): AnyAlertAction[] {
  const quick = (choice: Exclude<SilenceChoice, 'custom'>): AlertAction<undefined> => ({
    ...common(options, choice),
    run: (ctx) => silence(options, ctx, { durationMs: SILENCE_CHOICES[choice] }),
  });
  const custom: AlertAction<SilenceInput> = {
    ...common(options, 'custom'),
    modal: {
      view: (record) => ({
        title: 'Silence alerts',
        submit: 'Silence',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: `Silence in Alertmanager: ${matcherList(groupSilenceMatchers(record.state))}` } },
          {
            type: 'input',
            block_id: DURATION_BLOCK,
            label: { type: 'plain_text', text: 'For how long' },
            hint: { type: 'plain_text', text: `e.g. 30m, 2h, 1h30m, 3d; at most ${formatDuration(options.maxDurationMs)}` },
            element: { type: 'plain_text_input', action_id: 'value', initial_value: '2h' },
          },
          {
            type: 'input',
            block_id: COMMENT_BLOCK,
            optional: true,
            label: { type: 'plain_text', text: 'Comment' },
            element: { type: 'plain_text_input', action_id: 'value', max_length: 500, placeholder: { type: 'plain_text', text: 'why (shown in Alertmanager)' } },
          },
        ],
      }),
      parse(values) {
        const durationText = (values[DURATION_BLOCK]?.['value']?.value ?? '').trim();
        const durationMs = checkDuration(durationText, options.maxDurationMs);
        if (typeof durationMs !== 'number') return { errors: { [DURATION_BLOCK]: durationMs.error.replace(/`/g, '') } };
        const comment = (values[COMMENT_BLOCK]?.['value']?.value ?? '').trim();
        return { input: { durationMs, ...(comment === '' ? {} : { comment }) } };
      },
    },
    run: (ctx) => silence(options, ctx, ctx.input),
  };
  return [quick('1h'), quick('4h'), quick('24h'), custom];
}

/** What every Silence button shares: the checks, the permission and its hint. */
function common(options: SilenceActionsOptions, choice: SilenceChoice): Omit<AlertAction<unknown>, 'run' | 'modal'> {
  return {
    actionId: silenceActionId(choice),
    name: 'silence',
    coarseAccess: CREATE_SILENCES,
    auditReason: SILENCE_REASON,
    refusal: (record: GroupRecord) => refusal(record, options),
    access: (record: GroupRecord) => silenceAttributes('create', groupSilenceMatchers(record.state)),
    deniedHint: (record: GroupRecord) => (silenceAttributes('create', groupSilenceMatchers(record.state)).namespace === undefined ? CLUSTER_WIDE_HINT : undefined),
  };
}

/** Why this group is not to be silenced now, or undefined. */
function refusal(record: GroupRecord, options: SilenceActionsOptions): string | undefined {
  const { state } = record;
  if (!state.alerts.some((alert) => alert.status === 'firing')) return 'Every alert of this group has resolved; there is nothing to silence.';
  if (state.silenced !== undefined) return `Already silenced by <@${state.silenced.by}> until ${slackTime(state.silenced.until)}.`;
  const broad = overBroadReason(groupSilenceMatchers(state));
  if (broad !== undefined) return `This group's labels cannot name it in a silence: ${broad}.`;
  if (options.alertmanager === undefined) return 'Lookout is not connected to Alertmanager (ALERTMANAGER_URL is not set), so it cannot silence. Ask a Lookout admin to set it (see docs/configuration.md).';
  return undefined;
}

async function silence(options: SilenceActionsOptions, { record, actor, identity }: AlertActionContext<unknown>, { durationMs, comment }: SilenceInput): Promise<AlertActionOutcome> {
  // The quick buttons' durations are fixed; the configured maximum may be shorter than 24h.
  if (durationMs > options.maxDurationMs) {
    throw new InvalidInput(
      `A silence from Slack lasts at most ${formatDuration(options.maxDurationMs)} (the \`silences.maxDuration\` setting); ${formatDuration(durationMs)} is longer. Nothing was silenced; use Silence for… to choose a shorter time.`,
    );
  }
  const alertmanager = requireAlertmanager(options);
  const matchers = groupSilenceMatchers(record.state);
  const startsAt = new Date(options.now());
  const endsAt = new Date(startsAt.getTime() + durationMs);
  let silenceId: string;
  try {
    silenceId = await alertmanager.createSilence({
      matchers,
      startsAt,
      endsAt,
      createdBy: silenceCreator(identity.username, actor.slackUserId),
      comment: comment ?? `silenced from Slack by ${actor.slackUserName}`,
    });
  } catch (error) {
    alertmanagerFailure(error, 'Nothing was silenced.');
  }
  const mark: SilenceMark = { by: actor.slackUserId, until: endsAt.toISOString(), silenceId };
  // The silence exists: the message says so unless it stopped standing for this group meanwhile.
  if (await options.store.markGroupSilenced({ groupId: record.id, mark, at: options.now() })) {
    options.onSilenced(record.id, mark);
  }
  return {
    auditDetail: `silence ${silenceId} until ${mark.until}: ${matchers.map(formatMatcher).join(' ')}`,
    thread: { text: `🔕 <@${actor.slackUserId}> silenced this group for ${formatDuration(durationMs)}, until ${slackTime(mark.until)}: ${matcherList(matchers)} (silence \`${silenceId}\`)` },
  };
}
