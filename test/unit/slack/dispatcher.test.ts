import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnyCommand, CommandContext } from '../../../commands/command.ts';
import { AccessReviewFailed } from '../../../src/access/access-gate.ts';
import { FOREIGN_WORKSPACE_MESSAGE, HomeWorkspace, type Workspace } from '../../../src/access/home-workspace.ts';
import { NotFound } from '../../../src/errors.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import { createSlashCommandHandler, type DispatcherDeps } from '../../../src/slack/dispatcher.ts';
import { FakeGate, FakeKubeHttp, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, metricValue, recordingLogger } from '../../helpers/fakes.ts';

const alice: KubeIdentity = { username: 'slack:alice', groups: ['slack:oncall', 'slack:sre'], derivation: ['user slack:alice from the rule for Slack user UALICE'] };

/** A command shaped like `scale`: access from the parsed arguments, a target, a reason. */
function scaleCommand(runs: Array<CommandContext<{ name: string; replicas: number }>>, run?: () => Promise<never>): AnyCommand {
  return {
    name: 'scale',
    summary: 'Scale a deployment',
    usage: '<deployment> <replicas>',
    args: z
      .array(z.string())
      .length(2, 'takes a deployment and a replica count')
      .refine(([, replicas]) => /^\d+$/.test(replicas ?? ''), 'replicas must be 0 or more')
      .transform(([name = '', replicas = '']) => ({ name, replicas: Number(replicas) })),
    access: ({ name }: { name: string }) => ({ verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name }),
    target: ({ name }: { name: string }) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name }),
    auditReason: 'ScaledBySlackUser',
    run:
      run ??
      (async (ctx: CommandContext<{ name: string; replicas: number }>) => {
        runs.push(ctx);
        await ctx.kube?.request({ method: 'GET', path: `/apis/apps/v1/namespaces/shop/deployments/${ctx.args.name}` });
        return { text: `scaled ${ctx.args.name} to ${ctx.args.replicas}`, auditDetail: `replicas → ${ctx.args.replicas}` };
      }),
  };
}

function setup(options: { gate?: FakeGate; commands?: (runs: Array<CommandContext<never>>) => AnyCommand[]; kube?: FakeKubeHttp | undefined } = {}) {
  const runs: Array<CommandContext<never>> = [];
  const gate = options.gate ?? new FakeGate({ identities: { UALICE: alice, UBOB: { ...alice, username: 'slack:bob', groups: [] } }, allow: (identity) => identity.username === 'slack:alice' });
  const audit = new RecordingAuditTrail();
  const logs = recordingLogger();
  const metrics = freshMetrics();
  const kube = 'kube' in options ? options.kube : new FakeKubeHttp(() => ({ kind: 'Deployment' }));
  const deps: DispatcherDeps = { commands: options.commands?.(runs) ?? [scaleCommand(runs as never)], slashCommand: '/ops', log: logs.log, metrics, gate, audit, kube };
  const handler = createSlashCommandHandler(deps);
  const replies: string[] = [];
  const order: string[] = [];
  const send = (text: string, user = 'UALICE', ack: () => Promise<void> = async () => void order.push('ack')) =>
    handler({
      command: { command: '/ops', text, user_id: user, user_name: user.toLowerCase(), channel_id: 'C1' },
      ack,
      respond: async ({ text: reply }) => {
        order.push('respond');
        replies.push(reply);
      },
    });
  return { send, runs, gate, audit, logs, metrics, kube, replies, order };
}

describe('the slash command dispatcher', () => {
  it('acknowledges Slack before a slow access review starts, and replies after it ends', async () => {
    const { send, gate, order, replies } = setup();
    let releaseAck!: () => void;
    let releaseGate!: () => void;
    const ackDone = new Promise<void>((resolve) => (releaseAck = resolve));
    gate.delay = new Promise<void>((resolve) => (releaseGate = resolve));
    const done = send('scale cart 3', 'UALICE', async () => {
      order.push('ack called');
      await ackDone;
      order.push('ack resolved');
    });
    await new Promise((resolve) => setImmediate(resolve));
    // Slack has not been answered yet, so nothing slow may have begun.
    expect(order).toEqual(['ack called']);
    expect(gate.reviews).toEqual([]);
    releaseAck();
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.reviews).toHaveLength(1);
    expect(replies).toEqual([]);
    releaseGate();
    await done;
    expect(order).toEqual(['ack called', 'ack resolved', 'respond']);
    expect(replies).toEqual(['scaled cart to 3']);
  });

  it('answers bad arguments with the usage, without asking the gate or auditing', async () => {
    const { send, gate, audit, replies, metrics } = setup();
    await send('scale cart many');
    expect(replies[0]).toMatch(/Usage: `\/ops scale <deployment> <replicas>`/);
    await send('scale');
    expect(replies[1]).toMatch(/Usage: `\/ops scale <deployment> <replicas>`/);
    expect(gate.reviews).toEqual([]);
    expect(audit.entries).toEqual([]);
    expect(await metricValue(metrics, 'lookout_slash_commands_total', { command: 'scale', outcome: 'invalid' })).toBe(2);
  });

  it('reviews exactly the attributes computed from the arguments, runs as the person, and audits the success', async () => {
    const { send, gate, runs, kube, audit, replies, metrics } = setup();
    await send('scale cart 3');
    expect(gate.reviews).toEqual([
      { actor: { slackUserId: 'UALICE', slackUserName: 'ualice' }, attributes: { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' } },
    ]);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.identity).toEqual(alice);
    // The command's Kubernetes call went out as alice and both her groups, not as Lookout.
    expect(kube?.requests).toEqual([{ method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments/cart', impersonate: { username: 'slack:alice', groups: ['slack:oncall', 'slack:sre'] } }]);
    expect(replies).toEqual(['scaled cart to 3']);
    expect(audit.entries).toEqual([
      {
        action: 'scale',
        actor: { slackUserId: 'UALICE', slackUserName: 'ualice' },
        identity: alice,
        attributes: { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' },
        target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' },
        outcome: 'allowed',
        detail: 'replicas → 3',
        reason: 'ScaledBySlackUser',
      },
    ]);
    expect(await metricValue(metrics, 'lookout_slash_commands_total', { command: 'scale', outcome: 'ok' })).toBe(1);
  });

  it('refuses an unmapped person with how to get access, runs nothing, and audits the attempt', async () => {
    const { send, runs, kube, audit, replies, metrics } = setup();
    await send('scale cart 3', 'UMALLORY');
    expect(replies[0]).toContain('not mapped to a Kubernetes identity');
    expect(replies[0]).toContain('`UMALLORY`');
    expect(replies[0]).toContain('docs/rbac.md');
    expect(runs).toEqual([]);
    expect(kube?.requests).toEqual([]);
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({ action: 'scale', outcome: 'denied', actor: { slackUserId: 'UMALLORY' } });
    expect(audit.entries[0]?.identity).toBeUndefined();
    expect(await metricValue(metrics, 'lookout_slash_commands_total', { command: 'scale', outcome: 'unmapped' })).toBe(1);
  });

  it('names the missing permission on a denial, runs nothing, and audits it with the identity', async () => {
    const { send, runs, audit, replies, metrics } = setup();
    await send('scale cart 3', 'UBOB');
    expect(replies).toEqual(['Not allowed: this needs `patch` on `deployments/scale.apps` named cart in namespace shop.']);
    expect(runs).toEqual([]);
    expect(audit.entries[0]).toMatchObject({ outcome: 'denied', identity: { username: 'slack:bob' }, detail: replies[0], target: { name: 'cart' } });
    expect(await metricValue(metrics, 'lookout_slash_commands_total', { command: 'scale', outcome: 'denied' })).toBe(1);
  });

  it('turns a failed access review into a reference id; the error goes to the log, and the audit says failed', async () => {
    const { send, gate, runs, audit, replies, logs } = setup();
    gate.failWith = new AccessReviewFailed({ cause: new KubeApiError('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', 500, 'InternalError', 'etcdserver: leader changed') });
    await send('scale cart 3');
    expect(runs).toEqual([]);
    const ref = /^Internal error \(ref (\w+)\)\. The details are in Lookout's log\.$/.exec(replies[0] ?? '')?.[1];
    expect(ref).toBeDefined();
    expect(replies[0]).not.toContain('etcd');
    const errorLine = logs.lines().find((line) => line.level === 'error');
    expect(errorLine).toMatchObject({ requestId: ref, msg: 'command failed', user: 'UALICE', command: 'scale' });
    expect(JSON.stringify(errorLine)).toContain('500 InternalError');
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'failed', detail: `internal error (ref ${ref})` })]);
  });

  it('shows a UserError from the command and audits it as failed with that text', async () => {
    const { send, audit, replies } = setup({
      commands: (runs) => [scaleCommand(runs as never, async () => Promise.reject(new NotFound('There is no deployment `cart` in namespace shop.')))],
    });
    await send('scale cart 3');
    expect(replies).toEqual(['There is no deployment `cart` in namespace shop.']);
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'failed', detail: 'There is no deployment `cart` in namespace shop.', identity: alice })]);
  });

  it('gives commands without declared access a Kubernetes port that still acts only as the person', async () => {
    const peek: AnyCommand = {
      name: 'peek',
      summary: 'Reads as the person',
      usage: '',
      args: z.array(z.string()).max(0),
      run: async (ctx) => {
        expect(ctx.identity).toBeUndefined();
        await ctx.kube?.request({ method: 'GET', path: '/api/v1/namespaces/shop/pods' });
        return { text: 'peeked' };
      },
    };
    const { send, kube, replies, audit, gate } = setup({ commands: () => [peek] });
    await send('peek', 'UALICE');
    expect(kube?.requests[0]?.impersonate).toEqual({ username: 'slack:alice', groups: ['slack:oncall', 'slack:sre'] });
    // An unmapped person's call never goes out, and certainly not as Lookout.
    await send('peek', 'UMALLORY');
    expect(kube?.requests).toHaveLength(1);
    expect(replies[1]).toContain('not mapped');
    expect(gate.reviews).toEqual([]);
    expect(audit.entries).toEqual([]);
  });

  it('has no Kubernetes port without a Kubernetes connection', async () => {
    let sawKube: unknown = 'unset';
    const probe: AnyCommand = { name: 'probe', summary: '', usage: '', args: z.array(z.string()), run: async (ctx) => ((sawKube = ctx.kube), { text: 'ok' }) };
    const { send } = setup({ commands: () => [probe], kube: undefined });
    await send('probe');
    expect(sawKube).toBeUndefined();
  });
});

describe('the slash command dispatcher and people of other workspaces (Slack Connect)', () => {
  function setupHome(lookup: () => Promise<Workspace> = async () => ({ teamId: 'T0HOME' })) {
    const runs: Array<CommandContext<never>> = [];
    const gate = new FakeGate({ identities: { UALICE: alice, UEXT: alice } });
    const audit = new RecordingAuditTrail();
    const metrics = freshMetrics();
    const kube = new FakeKubeHttp(() => ({ kind: 'Deployment' }));
    let ran = 0;
    const help: AnyCommand = { name: 'help', summary: '', usage: '', args: z.array(z.string()), run: async () => ((ran += 1), { text: 'help text' }) };
    const handler = createSlashCommandHandler({
      commands: [scaleCommand(runs as never), help],
      slashCommand: '/ops',
      log: recordingLogger().log,
      metrics,
      gate,
      audit,
      kube,
      home: new HomeWorkspace({ lookup }),
    });
    const replies: string[] = [];
    const send = (text: string, user: string, team: { team_id?: string; enterprise_id?: string }) =>
      handler({
        command: { command: '/ops', text, user_id: user, user_name: user.toLowerCase(), channel_id: 'C1', ...team },
        ack: async () => undefined,
        respond: async ({ text: reply }) => void replies.push(reply),
      });
    return { send, runs, gate, audit, metrics, kube, replies, ran: () => ran };
  }

  it("refuses a command from another workspace before the gate, runs nothing, and audits the attempt", async () => {
    const { send, runs, gate, audit, kube, replies, metrics } = setupHome();
    await send('scale cart 3', 'UEXT', { team_id: 'T0ELSEWHERE' });
    expect(replies).toEqual([FOREIGN_WORKSPACE_MESSAGE]);
    expect(replies[0]).toMatch(/only acts for members of its own Slack workspace/);
    expect(gate.reviews).toEqual([]);
    expect(runs).toEqual([]);
    expect(kube.requests).toEqual([]);
    expect(audit.entries).toEqual([
      expect.objectContaining({
        action: 'scale',
        actor: { slackUserId: 'UEXT', slackUserName: 'uext', teamId: 'T0ELSEWHERE' },
        outcome: 'denied',
        detail: 'refused: not a member of this Slack workspace (team T0ELSEWHERE)',
        target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' },
      }),
    ]);
    expect(await metricValue(metrics, 'lookout_slash_commands_total', { command: 'scale', outcome: 'refused' })).toBe(1);
  });

  it('refuses even commands that need no permission, and a request that states no team', async () => {
    const { send, replies, ran } = setupHome();
    await send('help', 'UEXT', { team_id: 'T0ELSEWHERE' });
    await send('help', 'UEXT', {});
    expect(replies).toEqual([FOREIGN_WORKSPACE_MESSAGE, FOREIGN_WORKSPACE_MESSAGE]);
    expect(ran()).toBe(0);
  });

  it('acts for its own members, with their team on the actor', async () => {
    const { send, runs, gate, replies } = setupHome();
    await send('scale cart 3', 'UALICE', { team_id: 'T0HOME' });
    expect(replies).toEqual(['scaled cart to 3']);
    expect(runs).toHaveLength(1);
    expect(gate.reviews[0]?.actor).toEqual({ slackUserId: 'UALICE', slackUserName: 'ualice', teamId: 'T0HOME' });
  });

  it("on Enterprise Grid accepts another workspace of the same organisation, and refuses another organisation's", async () => {
    const { send, runs, replies } = setupHome(async () => ({ teamId: 'T0HOME', enterpriseId: 'E0ORG' }));
    await send('scale cart 3', 'UALICE', { team_id: 'T0SISTER', enterprise_id: 'E0ORG' });
    await send('scale cart 3', 'UEXT', { team_id: 'T0THEIRS', enterprise_id: 'E0THEIRS' });
    expect(replies).toEqual(['scaled cart to 3', FOREIGN_WORKSPACE_MESSAGE]);
    expect(runs).toHaveLength(1);
  });

  it('refuses with an internal error, running nothing, while Slack cannot name its workspace', async () => {
    const { send, runs, gate, replies } = setupHome(async () => Promise.reject(new Error('auth.test: ratelimited')));
    await send('scale cart 3', 'UALICE', { team_id: 'T0HOME' });
    expect(replies[0]).toMatch(/^Internal error \(ref [0-9a-f]{8}\)/);
    expect(gate.reviews).toEqual([]);
    expect(runs).toEqual([]);
  });
});
