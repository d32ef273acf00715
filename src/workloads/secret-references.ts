/** The parts of a pod spec that can name a Secret (core/v1 PodSpec). */
export interface PodSpecSecretFields {
  volumes?: {
    name?: string;
    secret?: { secretName?: string };
    projected?: { sources?: { secret?: { name?: string } }[] };
  }[];
  containers?: ContainerSecretFields[];
  initContainers?: ContainerSecretFields[];
}

interface ContainerSecretFields {
  name?: string;
  env?: { name?: string; valueFrom?: { secretKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

/**
 * Every Secret a pod spec uses, with how, e.g. `secret volume creds`, `container api: env DB_PASSWORD`,
 * `init container migrate: envFrom`: secret volumes, projected volume sources, `env[].valueFrom.secretKeyRef`
 * and `envFrom[].secretRef` of containers and init containers. (Ephemeral containers are not part of a
 * workload's template; image pull secrets are not consumers of a value.)
 */
export function secretReferences(spec: PodSpecSecretFields | undefined): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  const add = (secretName: string | undefined, how: string) => {
    if (!secretName) return;
    const list = uses.get(secretName) ?? [];
    if (!list.includes(how)) list.push(how);
    uses.set(secretName, list);
  };
  for (const volume of spec?.volumes ?? []) {
    add(volume.secret?.secretName, `secret volume ${volume.name ?? '?'}`);
    for (const source of volume.projected?.sources ?? []) add(source.secret?.name, `projected volume ${volume.name ?? '?'}`);
  }
  const containers = [
    ...(spec?.initContainers ?? []).map((container) => ({ container, label: `init container ${container.name ?? '?'}` })),
    ...(spec?.containers ?? []).map((container) => ({ container, label: `container ${container.name ?? '?'}` })),
  ];
  for (const { container, label } of containers) {
    for (const variable of container.env ?? []) add(variable.valueFrom?.secretKeyRef?.name, `${label}: env ${variable.name ?? '?'}`);
    for (const source of container.envFrom ?? []) add(source.secretRef?.name, `${label}: envFrom`);
  }
  return uses;
}
