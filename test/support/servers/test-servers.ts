import { inject } from 'vitest';

/**
 * The real servers the integration tier runs against, started once per `vitest run` by
 * test/support/servers/global-setup.ts (or by `npm run servers -- up`). Everything listens on
 * 127.0.0.1; files are under one run directory that is removed at the end.
 */
export interface TestServers {
  /**
   * kube-apiserver + etcd, no controllers: namespaces lookout, shop and payments exist with their
   * `default` ServiceAccount; the built-in view/edit/admin ClusterRoles are filled at start; the
   * cert-manager.io/v1 Certificate CRD and External Secrets' external-secrets.io/v1 ExternalSecret,
   * SecretStore and ClusterSecretStore CRDs (minimal, test/support/servers/external-secrets-crd.ts;
   * no controller) are installed. Objects are shared by every test file of the
   * run: use unique names or a namespace of your own.
   */
  kube: {
    /** https://127.0.0.1:PORT */
    url: string;
    /** PEM file of the CA that signed the apiserver's serving certificate and every client certificate. */
    caFile: string;
    /**
     * Kubeconfig files, one identity each:
     * - admin: client certificate in group system:masters (set up objects, write status);
     * - bot: Lookout itself, ServiceAccount `lookout` in namespace `lookout`, with a TokenRequest
     *   token and the RBAC of manifests/base/rbac.yaml;
     * - alice: client certificate, user `slack:alice`, no groups, no bindings;
     * - bob: client certificate, user `slack:bob` in group `slack:sre`, no bindings.
     */
    kubeconfigs: { admin: string; bot: string; alice: string; bob: string };
    /** kubectl of the same Kubernetes release (test/servers/build.sh builds it with the apiserver). */
    kubectl: string;
  };
  bao: {
    /** http://127.0.0.1:PORT of the OpenBao dev server (KV v2 at secret/). */
    addr: string;
    rootToken: string;
    /** Mount of the Kubernetes auth method, configured against `kube`. */
    kubernetesAuthPath: 'kubernetes';
    /**
     * Role for ServiceAccount lookout/lookout; policy: CRUD on secret/data/* and secret/metadata/*,
     * read on database/static-roles/*, update on database/rotate-role/* (no static-creds).
     */
    role: 'lookout';
    /**
     * The database secrets engine, connected to `postgres` as a CREATEROLE user: static role
     * `app` manages PostgreSQL login role `app` (rotation period 24 h, so only tests rotate it;
     * its password: `GET database/static-creds/app` with the root token). Tests may add their own
     * PostgreSQL roles and static roles on connection `postgres` (allowed_roles `*`).
     */
    database: { mount: 'database'; connection: 'postgres'; staticRole: 'app' };
  };
  /**
   * PostgreSQL from Debian's package, fresh per run (initdb in the run directory, durability off),
   * listening on 127.0.0.1 only and on a unix socket in `socketDir`; password authentication for
   * everyone, including the superuser `postgres` given here.
   */
  postgres: {
    /** postgres://postgres:<password>@127.0.0.1:PORT/postgres */
    url: string;
    host: '127.0.0.1';
    port: number;
    user: 'postgres';
    password: string;
    database: 'postgres';
    socketDir: string;
  };
  /** http://127.0.0.1:PORT of Loki (filesystem storage in the run directory). */
  loki: { url: string };
  /** Alertmanager from the Debian package; sends to http://127.0.0.1:3000/alertmanager. */
  alertmanager: { url: string };
  /**
   * kube-state-metrics, built but not running: a test starts its own against `kube` with
   * startKubeStateMetrics (test/support/servers/kube-state-metrics.ts), watching only its namespaces.
   */
  kubeStateMetrics: { binary: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    lookoutTestServers: TestServers;
  }
}

/** In an integration test file: the servers that the global setup started for this run. */
export function testServers(): TestServers {
  const servers = inject('lookoutTestServers');
  if (!servers) {
    throw new Error('no test servers: run this file in the integration project (npx vitest run --project integration), whose globalSetup starts them');
  }
  return servers;
}
