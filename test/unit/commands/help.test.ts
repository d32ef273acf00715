import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import help from '../../../commands/help.ts';
import type { AnyCommand } from '../../../commands/command.ts';
import { createSlashCommandHandler } from '../../../src/slack/dispatcher.ts';
import { FakeGate, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, metricValue, recordingLogger } from '../../helpers/fakes.ts';

const explode: AnyCommand = {
  name: 'explode',
  summary: 'Fails unexpectedly',
  usage: '',
  args: z.array(z.string()),
  run: async () => {
    throw new Error('secret-bearing internal detail');
  },
};

async function dispatch(text: string, commands: readonly AnyCommand[] = [help]) {
  const order: string[] = [];
  let reply: { text: string; response_type: string } | undefined;
  const metrics = freshMetrics();
  const logs = recordingLogger();
  const handler = createSlashCommandHandler({ commands, slashCommand: '/ops', log: logs.log, metrics, gate: new FakeGate(), audit: new RecordingAuditTrail(), kube: undefined });
  await handler({
    command: { command: '/ops', text, user_id: 'U1', user_name: 'alice', channel_id: 'C1' },
    ack: async () => {
      order.push('ack');
    },
    respond: async (body) => {
      order.push('respond');
      reply = body;
    },
  });
  return { order, reply: reply!, metrics, logs };
}

describe('help through the dispatcher', () => {
  it('acknowledges first, then lists every command with its usage', async () => {
    const { order, reply } = await dispatch('', [help, explode]);
    expect(order).toEqual(['ack', 'respond']);
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('`/ops help [command]` — List the commands');
    expect(reply.text).toContain('`/ops explode` — Fails unexpectedly');
  });

  it('describes one command', async () => {
    const { reply } = await dispatch('help help');
    expect(reply.text).toBe('*List the commands, or show how to use one*\n`/ops help [command]`');
  });

  it('answers an unknown topic and too many arguments clearly', async () => {
    expect((await dispatch('help nope')).reply.text).toMatch(/no `nope` command/);
    const tooMany = await dispatch('help a b');
    expect(tooMany.reply.text).toMatch(/at most one command name\nUsage: `\/ops help \[command\]`/);
    expect(await metricValue(tooMany.metrics, 'lookout_slash_commands_total', { command: 'help', outcome: 'invalid' })).toBe(1);
  });

  it('hides unexpected errors behind a reference that the log carries', async () => {
    const { reply, logs } = await dispatch('explode', [help, explode]);
    expect(reply.text).not.toContain('secret-bearing');
    const ref = /ref (\w+)/.exec(reply.text)?.[1];
    expect(ref).toBeDefined();
    expect(logs.lines().find((line) => line.level === 'error')).toMatchObject({ requestId: ref, msg: 'command failed' });
  });
});
