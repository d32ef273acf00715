import { describe, expect, it } from 'vitest';
import canI, { parseCanI } from '../../../commands/can-i.ts';
import type { AnyCommand } from '../../../commands/command.ts';
import help from '../../../commands/help.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import { createSlashCommandHandler } from '../../../src/slack/dispatcher.ts';
import { FakeGate, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, recordingLogger } from '../../helpers/fakes.ts';

const words = (text: string) => text.split(' ').filter(Boolean);

describe('parseCanI', () => {
  const table: Array<[string, object]> = [
    ['get pods', { verb: 'get', group: '', resource: 'pods' }],
    ['get po -n shop', { verb: 'get', group: '', resource: 'pods', namespace: 'shop' }],
    ['list deploy --namespace shop', { verb: 'list', group: 'apps', resource: 'deployments', namespace: 'shop' }],
    ['get deployment cart --namespace=shop', { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'cart' }],
    ['get deployments.apps', { verb: 'get', group: 'apps', resource: 'deployments' }],
    ['get deploy.apps', { verb: 'get', group: 'apps', resource: 'deployments' }],
    ['patch deployments/scale -n shop cart', { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' }],
    ['patch -n shop deployments.apps/scale cart', { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' }],
    ['get pods/log -n shop', { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'shop' }],
    ['get svc', { verb: 'get', group: '', resource: 'services' }],
    ['get cm', { verb: 'get', group: '', resource: 'configmaps' }],
    ['get sts', { verb: 'get', group: 'apps', resource: 'statefulsets' }],
    ['get ds', { verb: 'get', group: 'apps', resource: 'daemonsets' }],
    ['get ns', { verb: 'get', group: '', resource: 'namespaces' }],
    ['get no', { verb: 'get', group: '', resource: 'nodes' }],
    ['list hpa -n shop', { verb: 'list', group: 'autoscaling', resource: 'horizontalpodautoscalers', namespace: 'shop' }],
    ['get ingress', { verb: 'get', group: 'networking.k8s.io', resource: 'ingresses' }],
    ['get networkpolicy', { verb: 'get', group: 'networking.k8s.io', resource: 'networkpolicies' }],
    ['create cronjobs', { verb: 'create', group: 'batch', resource: 'cronjobs' }],
    ['delete pdb', { verb: 'delete', group: 'policy', resource: 'poddisruptionbudgets' }],
    ['create silences', { verb: 'create', group: 'lookout.dev', resource: 'silences' }],
    ['create silences.lookout.dev -n shop', { verb: 'create', group: 'lookout.dev', resource: 'silences', namespace: 'shop' }],
    ['rotate vaultsecrets secret/data/shop/db', { verb: 'rotate', group: 'lookout.dev', resource: 'vaultsecrets', name: 'secret/data/shop/db' }],
    ['renew certificates -n shop shop-tls', { verb: 'renew', group: 'lookout.dev', resource: 'certificates', namespace: 'shop', name: 'shop-tls' }],
    ['renew certs', { verb: 'renew', group: 'lookout.dev', resource: 'certificates' }],
    ['get certificates.cert-manager.io -n shop', { verb: 'get', group: 'cert-manager.io', resource: 'certificates', namespace: 'shop' }],
    ['acknowledge alerts -n shop', { verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', namespace: 'shop' }],
    ['get widgets.example.com', { verb: 'get', group: 'example.com', resource: 'widgets' }],
    ['* pods', { verb: '*', group: '', resource: 'pods' }],
    ['GET Pods', { verb: 'GET', group: '', resource: 'pods' }],
  ];

  it.each(table)('%s', (text, expected) => {
    if (text === 'GET Pods') {
      // Verbs are case-sensitive in RBAC: an upper-case verb is refused, not silently lowered.
      expect(parseCanI(words(text))).toMatchObject({ error: expect.stringContaining('not a verb') });
      return;
    }
    expect(parseCanI(words(text))).toEqual(expected);
  });

  const refused: Array<[string, RegExp]> = [
    ['', /verb and a resource/],
    ['get', /verb and a resource/],
    ['get widgets', /does not know the API group of `widgets`.*widgets\.example\.com/],
    ['get pods -n', /needs a namespace/],
    ['get pods -n Shop', /not a namespace name/],
    ['get pods -n a -n b', /namespace once/],
    ['get pods --all-namespaces', /unknown option/],
    ['get pods a b', /at most one object name/],
    ['get pods/log/x', /not a resource/],
    ['get pods. ', /not an API group/],
    ['get pods "x;y"', /not an object name/],
  ];
  it.each(refused)('refuses %j', (text, message) => {
    expect(parseCanI(words(text))).toMatchObject({ error: expect.stringMatching(message) });
  });
});

describe('/ops can-i through the dispatcher', () => {
  const alice: KubeIdentity = { username: 'slack:alice', groups: ['slack:sre'], derivation: [] };

  async function ask(text: string, user = 'UALICE', gate = new FakeGate({ identities: { UALICE: alice }, allow: (_identity, attributes) => attributes.verb === 'get' })) {
    const audit = new RecordingAuditTrail();
    const logs = recordingLogger();
    let reply = '';
    const commands: AnyCommand[] = [help, canI];
    await createSlashCommandHandler({ commands, slashCommand: '/ops', log: logs.log, metrics: freshMetrics(), gate, audit, kube: undefined })({
      command: { command: '/ops', text, user_id: user, user_name: 'alice', channel_id: 'C1' },
      ack: async () => {},
      respond: async (body) => void (reply = body.text),
    });
    return { reply, gate, audit, logs };
  }

  it('answers yes for the caller, reviewing exactly what was asked', async () => {
    const { reply, gate, audit, logs } = await ask('can-i get deploy -n shop cart');
    expect(reply).toBe('*yes* — `slack:alice` may do `get` on `deployments.apps` named cart in namespace shop.');
    expect(gate.reviews).toEqual([{ actor: { slackUserId: 'UALICE', slackUserName: 'alice' }, attributes: { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'cart' } }]);
    // A question is not an action: a log line, no audit record.
    expect(audit.entries).toEqual([]);
    expect(logs.lines().find((line) => line.msg === 'can-i answered')).toMatchObject({ allowed: true, user: 'UALICE' });
  });

  it('answers no, naming the permission', async () => {
    const { reply } = await ask('can-i delete pods -n shop');
    expect(reply).toBe('*no* — `slack:alice` may not do `delete` on `pods` in namespace shop.');
  });

  it('tells an unmapped person how to get access', async () => {
    const { reply } = await ask('can-i get pods', 'UNOBODY');
    expect(reply).toMatch(/^\*no\* — You are not mapped .*`UNOBODY`.*docs\/rbac\.md/);
  });

  it('says it cannot know without Kubernetes', async () => {
    const gate = new FakeGate({ identities: { UALICE: alice }, kubernetesConfigured: false, allow: () => false });
    const { reply } = await ask('can-i get pods', 'UALICE', gate);
    expect(reply).toMatch(/^\*unknown\*/);
  });

  it('shows the usage on bad arguments', async () => {
    const { reply, gate } = await ask('can-i get widgets');
    expect(reply).toContain('does not know the API group of `widgets`');
    expect(reply).toContain('Usage: `/ops can-i <verb> <resource> [-n namespace] [name]`');
    expect(gate.reviews).toEqual([]);
  });
});
