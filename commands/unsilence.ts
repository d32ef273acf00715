import { z } from 'zod';
import { Conflict, NotFound } from '../src/errors.ts';
import type { Silence } from '../src/integrations/alertmanager.ts';
import { silenceNamespace } from '../src/integrations/silence-matchers.ts';
import type { CommandDefinition } from './command.ts';
import { alertmanagerFailure, matcherList, requireAlertmanager, silenceAttributes, type SilenceCommandDeps } from './silence-support.ts';

export interface UnsilenceArgs {
  id: string;
}

const SILENCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const UNSILENCE_REASON = 'SilenceExpiredBySlackUser';

/**
 * `/ops unsilence <id>`: expires a silence. The permission (`delete` on `silences.lookout.dev`)
 * is reviewed in the namespace the silence itself is confined to, so the silence is read first.
 */
export function createUnsilenceCommand(deps: SilenceCommandDeps): CommandDefinition<UnsilenceArgs> {
  const read = async (id: string): Promise<Silence> => {
    let silence: Silence | undefined;
    try {
      silence = await requireAlertmanager(deps).getSilence(id);
    } catch (error) {
      alertmanagerFailure(error, 'Nothing was changed.');
    }
    if (silence === undefined) throw new NotFound(`Alertmanager has no silence \`${id}\`.`);
    return silence;
  };
  return {
    name: 'unsilence',
    summary: 'End an Alertmanager silence now',
    usage: '<silence id>',
    args: z
      .array(z.string())
      .length(1, 'takes one silence id (`/ops silences` lists them)')
      .refine(([id]) => SILENCE_ID.test(id ?? ''), 'a silence id looks like 8f0c1f9e-3b7a-4c1e-9a56-0f7c2d3e4b5a')
      .transform(([id]) => ({ id: (id ?? '').toLowerCase() })),
    access: async (args) => silenceAttributes('delete', (await read(args.id)).matchers),
    auditReason: UNSILENCE_REASON,
    async run({ args }) {
      const alertmanager = requireAlertmanager(deps);
      const silence = await read(args.id);
      if (silence.state === 'expired') throw new Conflict(`Silence \`${silence.id}\` has already ended.`);
      const namespace = silenceNamespace(silence.matchers);
      try {
        await alertmanager.expireSilence(silence.id);
      } catch (error) {
        alertmanagerFailure(error, 'The silence was not ended.');
      }
      deps.onExpired?.(silence.id);
      return {
        text: `🔔 Silence \`${silence.id}\` (${matcherList(silence.matchers)}) has ended: the alerts it hid notify again.`,
        auditDetail: `expired silence ${silence.id}${namespace === undefined ? '' : ` in ${namespace}`}`,
      };
    },
  };
}
