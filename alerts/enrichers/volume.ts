import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../../src/kube/kube-objects.ts';
import { POD_LIMIT, type KubeReadView } from '../../src/kube/kube-reader.ts';
import type { Enricher, EnrichmentFact } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { clipLine, clipLines, code, dotted, text } from './format.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface VolumeEnricherOptions {
  reader: KubeReadView;
  /** A PersistentVolume's status message comes from the provisioner and may quote anything. */
  redactor: Redactor;
}

/** Pods named as using a claim; a ReadWriteMany claim can have many. */
const PODS_SHOWN = 5;

/**
 * A PersistentVolumeClaim or PersistentVolume an alert names (claim pending, volume failed,
 * filling up): phase, capacity, storage class, the volume or claim on the other side, and
 * the pods that mount the claim.
 */
export function createVolumeEnricher({ reader, redactor }: VolumeEnricherOptions): Enricher {
  return {
    source: 'volume',
    async enrich(_alert, target, signal) {
      const { namespace, persistentVolumeClaim: claimName, persistentVolume: volumeName } = target;
      if (namespace !== undefined && claimName !== undefined) {
        return withSafeErrors(async () => {
          const [claim, pods] = await Promise.all([reader.getPersistentVolumeClaim(namespace, claimName, signal), reader.listPods(namespace, undefined, signal)]);
          if (claim === undefined) return notFound('PersistentVolumeClaim', `${namespace}/${claimName}`);
          return describeClaim(claim, mountedBy(pods, claimName));
        });
      }
      if (volumeName !== undefined) {
        return withSafeErrors(async () => {
          const volume = await reader.getPersistentVolume(volumeName, signal);
          if (volume === undefined) return notFound('PersistentVolume', volumeName);
          const ref = volume.spec?.claimRef;
          const pods = ref?.namespace && ref.name ? mountedBy(await reader.listPods(ref.namespace, undefined, signal), ref.name) : [];
          return describeVolume(volume, pods, redactor);
        });
      }
      return undefined;
    },
  };
}

function notFound(kind: string, name: string): EnrichmentFact {
  return { source: 'volume', summary: `${kind} ${code(name)} not found`, detail: `*${kind}* ${code(name)} not found.` };
}

/** The pods that mount the claim; undefined when a full page of pods may have left them out. */
function mountedBy(pods: readonly Pod[], claim: string): Pod[] | undefined {
  const found = pods.filter((pod) => (pod.spec?.volumes ?? []).some((volume) => volume.persistentVolumeClaim?.claimName === claim));
  return found.length === 0 && pods.length >= POD_LIMIT ? undefined : found;
}

function podsText(pods: readonly Pod[] | undefined): string | undefined {
  if (pods === undefined || pods.length === 0) return undefined;
  const shown = pods.slice(0, PODS_SHOWN).map((pod) => code(pod.metadata.name));
  return `used by pod ${shown.join(', ')}${pods.length > PODS_SHOWN ? ` +${pods.length - PODS_SHOWN} more` : ''}`;
}

function describeClaim(claim: PersistentVolumeClaim, pods: readonly Pod[] | undefined): EnrichmentFact {
  const phase = claim.status?.phase ?? 'Unknown';
  const capacity = claim.status?.capacity?.['storage'];
  const requested = claim.spec?.resources?.requests?.['storage'];
  const storageClass = claim.spec?.storageClassName;
  const size = capacity !== undefined ? `capacity ${text(capacity, 20)}` : requested !== undefined ? `requests ${text(requested, 20)}` : undefined;
  const parts = [text(phase, 20), size, storageClass ? `class ${code(storageClass, 60)}` : 'no storage class'];
  // "No pod" only when every pod of the namespace was seen.
  const used = podsText(pods) ?? (pods === undefined ? undefined : 'mounted by no pod');
  const summary = dotted([`PVC ${code(claim.metadata.name)}`, ...parts, used]);
  const lines = [
    dotted([`*PersistentVolumeClaim* ${code(`${claim.metadata.namespace ?? ''}/${claim.metadata.name}`)}`, ...parts, claim.spec?.volumeName ? `volume ${code(claim.spec.volumeName)}` : 'no volume bound']),
  ];
  if (used !== undefined) lines.push(used);
  for (const condition of claim.status?.conditions ?? []) {
    lines.push(`• ${text(condition.type, 40)}=${text(condition.status, 10)}${condition.reason ? ` (${text(condition.reason, 60)})` : ''}`);
  }
  return { source: 'volume', summary: clipLine(summary, FACT_LIMITS.summary), detail: clipLines(lines.join('\n'), FACT_LIMITS.detail) };
}

function describeVolume(volume: PersistentVolume, pods: readonly Pod[] | undefined, redactor: Redactor): EnrichmentFact {
  const phase = volume.status?.phase ?? 'Unknown';
  const capacity = volume.spec?.capacity?.['storage'];
  const storageClass = volume.spec?.storageClassName;
  const ref = volume.spec?.claimRef;
  const claim = ref?.name ? `claim ${code(`${ref.namespace ?? ''}/${ref.name}`)}` : 'no claim';
  const parts = [text(phase, 20), capacity !== undefined && `capacity ${text(capacity, 20)}`, storageClass ? `class ${code(storageClass, 60)}` : 'no storage class', claim];
  const summary = dotted([`PV ${code(volume.metadata.name)}`, ...parts, podsText(pods)]);
  const lines = [dotted([`*PersistentVolume* ${code(volume.metadata.name)}`, ...parts, volume.spec?.persistentVolumeReclaimPolicy && `reclaim ${text(volume.spec.persistentVolumeReclaimPolicy, 20)}`])];
  const reason = volume.status?.reason;
  if (reason || volume.status?.message) lines.push(`> ${text(reason ?? '', 60)}${volume.status?.message ? `: ${text(redactor.redact(volume.status.message), 300)}` : ''}`);
  const used = podsText(pods);
  if (used !== undefined) lines.push(used);
  return { source: 'volume', summary: clipLine(summary, FACT_LIMITS.summary), detail: clipLines(lines.join('\n'), FACT_LIMITS.detail) };
}
