import { readInventory } from '../src/certificates/certificate-inventory.ts';
import { probeAllowed } from '../src/certificates/probe-allow-list.ts';
import { renewAttributes } from '../src/certificates/renew-certificate.ts';
import { Forbidden } from '../src/errors.ts';
import { probeTls } from '../src/integrations/tls-probe.ts';
import type { ResourceAttributes } from '../src/kube/access-review.ts';
import { parseCerts, type CertsArgs } from './certs-args.ts';
import { renderList } from './certs-list.ts';
import { renderProbe, type StoredComparison } from './certs-probe.ts';
import { CERTS_COMMAND, renew } from './certs-renew.ts';
import type { CommandContext, CommandDefinition, CommandReply } from './command.ts';
import { wordsArgs } from './words-args.ts';

/** `list` on `certificates.lookout.dev` in the namespace, or cluster-wide without one. */
function listAttributes(namespace: string | undefined): ResourceAttributes {
  return { verb: 'list', group: 'lookout.dev', resource: 'certificates', ...(namespace !== undefined ? { namespace } : {}) };
}

/**
 * `/ops certs`: the certificates of a namespace (or all) soonest expiry first, read as Lookout;
 * `--probe host:port` for what a TLS endpoint serves; `renew <namespace>/<name>` (the Renew
 * button) for `cmctl renew` as the person. Each is reviewed against `certificates.lookout.dev`:
 * `list`, `probe` (named `host:port`), `renew` (named as the Certificate).
 */
const certs: CommandDefinition<CertsArgs> = {
  name: CERTS_COMMAND,
  summary: 'Certificates by time left (cert-manager and TLS Secrets), a live TLS probe, or Renew',
  usage: '-n <namespace> | --all-namespaces [--within 30d]  ·  --probe <host:port> [-n <namespace>]  ·  renew <namespace>/<certificate>',
  args: wordsArgs(parseCerts),
  access(args) {
    if (args.mode === 'renew') return renewAttributes(args.namespace, args.name);
    if (args.mode === 'probe') return { verb: 'probe', group: 'lookout.dev', resource: 'certificates', name: `${args.host}:${args.port}`, ...(args.compareIn?.namespace !== undefined ? { namespace: args.compareIn.namespace } : {}) };
    return listAttributes(args.namespace);
  },
  deniedHint(args) {
    if (args.mode === 'list' && args.namespace === undefined) return 'Every namespace needs it cluster-wide (a ClusterRoleBinding); for one namespace, ask with `-n <namespace>`.';
    if (args.mode === 'probe' && args.compareIn?.namespace === undefined) return 'Without `-n` a probe is asked for cluster-wide; with `-n <namespace>` it is asked in that namespace (and compared with its certificates).';
    return undefined;
  },
  target: (args) => (args.mode === 'renew' ? { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', namespace: args.namespace, name: args.name } : undefined),
  auditReason: 'CertificateCommandBySlackUser',
  async run(ctx) {
    const { args } = ctx;
    if (args.mode === 'renew') return renew(ctx, args.namespace, args.name);
    if (args.mode === 'probe') return probe(ctx, args);
    if (ctx.lookoutReads === undefined) throw new Error('certs needs Kubernetes');
    const inventory = await readInventory(ctx.lookoutReads, args.namespace !== undefined ? { namespace: args.namespace } : {});
    return renderList(inventory, {
      now: Date.now(),
      warnWithinMs: ctx.settings.certificates.warnWithinMs,
      ...(args.withinMs !== undefined ? { withinMs: args.withinMs } : {}),
      ...(args.namespace !== undefined ? { namespace: args.namespace } : {}),
    });
  },
};

/**
 * The allow-list first: nothing outside it is dialled. The comparison with stored certificates
 * lists the namespace's, so it needs the person's own `list` there as the list itself does.
 */
async function probe(ctx: CommandContext<CertsArgs>, args: Extract<CertsArgs, { mode: 'probe' }>): Promise<CommandReply> {
  const { allow, timeoutMs } = ctx.settings.certificates.probe;
  const endpoint = `${args.host}:${args.port}`;
  if (!probeAllowed(allow, args.host, args.port)) {
    throw new Forbidden(`${endpoint} is not on Lookout's probe allow-list (config \`certificates.probe.allow\`), so Lookout did not connect to it.`);
  }
  ctx.log.info({ endpoint }, 'probing a TLS endpoint');
  const result = await probeTls(args.host, args.port, timeoutMs);
  return renderProbe(result, await storedComparison(ctx, args.compareIn), { host: args.host, port: args.port, now: Date.now(), warnWithinMs: ctx.settings.certificates.warnWithinMs });
}

async function storedComparison(ctx: CommandContext<CertsArgs>, compareIn: { namespace?: string } | undefined): Promise<StoredComparison> {
  if (compareIn === undefined) return { compared: false, why: 'give `-n <namespace>` (or `--all-namespaces`) to look for it among the stored ones' };
  if (ctx.lookoutReads === undefined) return { compared: false, why: 'Lookout has no Kubernetes connection' };
  const decision = await ctx.access.authorize(listAttributes(compareIn.namespace));
  const where = compareIn.namespace === undefined ? 'in any namespace' : `in ${compareIn.namespace}`;
  if (!decision.allowed) return { compared: false, why: `you may not list certificates ${where} (\`list\` on \`certificates.lookout.dev\`)` };
  return { compared: true, inventory: await readInventory(ctx.lookoutReads, compareIn), where };
}

export default certs;
