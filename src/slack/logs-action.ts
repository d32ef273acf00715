import { LOGS_ACTION_ID } from '../../alerts/alert-buttons.ts';
import { groupLogTarget } from '../../alerts/group-log-target.ts';
import type { LogsArgs } from '../../commands/logs-args.ts';
import { logsAccess, logsObject, readLogs, type LogsCommandOptions } from '../../commands/logs.ts';
import { UserError } from '../errors.ts';
import type { GroupRecord } from '../state/store.ts';
import type { AlertAction } from './alert-actions.ts';

export const NO_LOG_TARGET = 'Lookout found no one pod or workload for this alert group, so it has no log to show. Use `/ops logs <namespace>/<pod>`.';

/** What the button reads for the group: enrichment's stored target, never the button's value. */
function argsOf(record: GroupRecord): LogsArgs | undefined {
  const target = groupLogTarget(record.state, record.enrichment);
  return target === undefined ? undefined : { ...target, previous: false };
}

/**
 * The Show logs button: `/ops logs` for the group's pod or workload, for the clicker only, after
 * the same `get pods/log` review (alert-actions.ts does the checks around it).
 */
export function logsActions(options: LogsCommandOptions): [AlertAction] {
  return [
    {
      actionId: LOGS_ACTION_ID,
      name: 'logs',
      coarseAccess: { verb: 'get', group: '', resource: 'pods', subresource: 'log' },
      refusal: (record) => (argsOf(record) === undefined ? NO_LOG_TARGET : undefined),
      access(record) {
        const args = argsOf(record);
        return args === undefined ? { verb: 'get', group: '', resource: 'pods', subresource: 'log' } : logsAccess(args);
      },
      target(record) {
        const args = argsOf(record);
        return args === undefined ? undefined : logsObject(args);
      },
      auditReason: 'LogsReadBySlackUser',
      async run({ record, kube }) {
        const args = argsOf(record);
        if (args === undefined) throw new UserError(NO_LOG_TARGET);
        if (kube === undefined) throw new UserError('Lookout is not connected to Kubernetes, so it cannot read logs for you.');
        const reply = await readLogs(options, kube, args);
        return { auditDetail: reply.auditDetail, ephemeral: reply.text };
      },
    },
  ];
}
