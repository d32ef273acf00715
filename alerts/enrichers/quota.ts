import type { ResourceQuota } from '../../src/kube/kube-objects.ts';
import type { KubeReadView } from '../../src/kube/kube-reader.ts';
import type { Enricher, EnrichmentFact } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { clipLine, clipLines, code, dotted, text } from './format.ts';
import { withSafeErrors } from './source-errors.ts';

export interface QuotaEnricherOptions {
  reader: KubeReadView;
}

/** Resources named in the summary line: the fullest first. */
const SUMMARY_RESOURCES = 3;

/**
 * The ResourceQuota an alert names (KubeQuotaAlmostFull, KubeQuotaExceeded): used against hard
 * for every resource it limits, fullest first, so the one about to refuse pods stands out.
 */
export function createQuotaEnricher({ reader }: QuotaEnricherOptions): Enricher {
  return {
    source: 'quota',
    async enrich(_alert, target, signal) {
      const { namespace, resourceQuota: name } = target;
      if (namespace === undefined || name === undefined) return undefined;
      return withSafeErrors(async () => {
        const quota = await reader.getResourceQuota(namespace, name, signal);
        if (quota === undefined) return { source: 'quota', summary: `ResourceQuota ${code(name)} not found`, detail: `*ResourceQuota* ${code(`${namespace}/${name}`)} not found.` };
        return describeQuota(quota);
      });
    },
  };
}

interface Usage {
  resource: string;
  used: string;
  hard: string;
  /** used / hard, NaN when either cannot be read. */
  ratio: number;
}

function describeQuota(quota: ResourceQuota): EnrichmentFact {
  const hard = quota.status?.hard ?? quota.spec?.hard ?? {};
  const used = quota.status?.used ?? {};
  const usages: Usage[] = Object.entries(hard).map(([resource, limit]) => {
    const value = used[resource] ?? '0';
    const top = parseQuantity(limit);
    return { resource, used: value, hard: limit, ratio: top > 0 ? parseQuantity(value) / top : Number.NaN };
  });
  // Fullest first; unreadable ratios last; then by name, so the order is stable.
  const key = (usage: Usage): number => (Number.isNaN(usage.ratio) ? -1 : usage.ratio);
  usages.sort((a, b) => key(b) - key(a) || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
  const usageText = (usage: Usage): string =>
    `${code(usage.resource, 60)} ${text(usage.used, 30)}/${text(usage.hard, 30)}${Number.isNaN(usage.ratio) ? '' : ` (${Math.round(usage.ratio * 100)}%)`}`;
  const summary = dotted([`ResourceQuota ${code(quota.metadata.name)}`, ...usages.slice(0, SUMMARY_RESOURCES).map(usageText)]);
  const lines = [`*ResourceQuota* ${code(`${quota.metadata.namespace ?? ''}/${quota.metadata.name}`)}, used/hard:`];
  for (const usage of usages) lines.push(`• ${usage.ratio >= 0.9 ? '⚠️ ' : ''}${usageText(usage)}`);
  if (usages.length === 0) lines.push('No hard limits set.');
  return { source: 'quota', summary: clipLine(summary, FACT_LIMITS.summary), detail: clipLines(lines.join('\n'), FACT_LIMITS.detail) };
}

const SUFFIXES: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("500m", "4Gi", "1e3", "10") as a number; NaN when it is not one. */
export function parseQuantity(quantity: string): number {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|([numkMGTPE]i?|Ki))?$/.exec(quantity.trim());
  if (match === null) return Number.NaN;
  const [, number = '', exponent, suffix = ''] = match;
  if (exponent !== undefined) return Number(`${number}${exponent}`);
  const multiplier = SUFFIXES[suffix];
  return multiplier === undefined ? Number.NaN : Number(number) * multiplier;
}
