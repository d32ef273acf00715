import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAlertmanager } from '../alertmanager-process.ts';
import type { ServerBinaries } from './binaries.ts';
import { makePki } from './certificates.ts';
import { startEtcd } from './etcd.ts';
import { BOT_SERVICE_ACCOUNT, bootstrapCluster } from './kube-bootstrap.ts';
import { SERVICE_ACCOUNT_ISSUER, startKubeApiserver } from './kube-apiserver.ts';
import { kubeHttpFor, writeKubeconfig } from './kubeconfigs.ts';
import { startLoki } from './loki.ts';
import { configureKubernetesAuth, OPENBAO_KUBERNETES_AUTH, startOpenBao } from './openbao.ts';
import { configureDatabaseEngine, OPENBAO_DATABASE } from './openbao-database.ts';
import { startPostgres } from './postgresql.ts';
import type { Supervisor } from './processes.ts';
import type { TestServers } from './test-servers.ts';

export interface StartTestServersOptions {
  binaries: ServerBinaries;
  /** Every file of the run goes here (certificates, kubeconfigs, data, logs). */
  runDir: string;
  /** Owns the processes; the caller stops it (and hooks it to signals before calling). */
  supervisor: Supervisor;
  /** Lookout's RBAC manifest, applied if it exists. */
  rbacFile: string;
  /** Where Alertmanager sends notifications, and the bearer token it sends. */
  alertmanagerWebhook: { url: string; token: string };
  /** Progress lines (what started, how long it took). */
  log?: (line: string) => void;
}

export interface StartedTestServers {
  servers: TestServers;
  /** Objects applied from the RBAC manifest. */
  rbacObjects: string[];
  /** Milliseconds from the call to everything being ready. */
  startMs: number;
}

/**
 * Starts etcd + kube-apiserver, OpenBao, PostgreSQL, Loki and Alertmanager on loopback, sets up
 * the cluster, OpenBao's Kubernetes auth and its database engine (against the PostgreSQL), and
 * writes kubeconfigs. Independent servers start
 * in parallel. If anything fails, everything already started is stopped before the error is
 * thrown.
 */
export async function startTestServers(options: StartTestServersOptions): Promise<StartedTestServers> {
  const { binaries, runDir, supervisor } = options;
  const log = options.log ?? (() => undefined);
  const began = Date.now();
  const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    const result = await work();
    log(`${what} ready in ${((Date.now() - start) / 1000).toFixed(1)} s`);
    return result;
  };
  mkdirSync(runDir, { recursive: true });
  const rootToken = `root-${randomBytes(12).toString('hex')}`;

  try {
    const kubePromise = (async () => {
      const [pki, etcd] = await Promise.all([
        timed('certificates', () => makePki(join(runDir, 'pki'))),
        timed('etcd', () => startEtcd({ binary: binaries.etcd, dir: runDir, supervisor })),
      ]);
      const apiserver = await timed('kube-apiserver', () =>
        startKubeApiserver({ binary: binaries.kubeApiserver, dir: runDir, etcdUrl: etcd.url, etcd: etcd.process, pki, supervisor }),
      );
      const kubeconfigDir = join(runDir, 'kubeconfigs');
      mkdirSync(kubeconfigDir, { recursive: true });
      const kubeconfig = (name: string, credentials: Parameters<typeof writeKubeconfig>[0]['credentials']) =>
        writeKubeconfig({ file: join(kubeconfigDir, `${name}.yaml`), server: apiserver.url, caFile: pki.caFile, name, credentials });
      const admin = kubeconfig('admin', pki.admin);
      const boot = await timed('cluster objects', () => bootstrapCluster({ kube: kubeHttpFor(admin), rbacFile: options.rbacFile }));
      return {
        url: apiserver.url,
        caFile: pki.caFile,
        boot,
        kubeconfigs: {
          admin,
          bot: kubeconfig('bot', { token: boot.botToken }),
          alice: kubeconfig('alice', pki.alice),
          bob: kubeconfig('bob', pki.bob),
        },
      };
    })();
    const baoPromise = timed('openbao', () => startOpenBao({ binary: binaries.bao, dir: runDir, rootToken, supervisor }));
    const postgresPromise = timed('postgresql', () => startPostgres({ dir: runDir, supervisor }));
    // Off the apiserver's path: needs only OpenBao and PostgreSQL.
    const databaseEnginePromise = (async () => {
      const [bao, postgres] = await Promise.all([baoPromise, postgresPromise]);
      await timed('openbao database engine', () => configureDatabaseEngine({ addr: bao.addr, rootToken, postgres }));
    })();
    const lokiPromise = timed('loki', () => startLoki({ binary: binaries.loki, dir: runDir, supervisor }));
    const alertmanagerPromise = timed('alertmanager', async () => {
      const alertmanager = await startAlertmanager({
        dir: join(runDir, 'alertmanager'),
        webhookUrl: options.alertmanagerWebhook.url,
        webhookToken: options.alertmanagerWebhook.token,
      });
      supervisor.adopt('alertmanager', () => alertmanager.stop());
      return alertmanager;
    });
    // Wait for all (not just the first failure), so nothing is still starting while we stop.
    const settled = await Promise.allSettled([kubePromise, baoPromise, postgresPromise, databaseEnginePromise, lokiPromise, alertmanagerPromise]);
    const failures = settled.filter((s) => s.status === 'rejected').map((s) => s.reason as unknown);
    if (failures.length > 0) throw failures.length === 1 ? failures[0] : new AggregateError(failures, 'test servers failed to start');
    const [kube, bao, postgres, loki, alertmanager] = await Promise.all([kubePromise, baoPromise, postgresPromise, lokiPromise, alertmanagerPromise]);

    await timed('openbao kubernetes auth', () =>
      configureKubernetesAuth({
        addr: bao.addr,
        rootToken,
        kubeUrl: kube.url,
        caPem: readFileSync(kube.caFile, 'utf8'),
        reviewerJwt: kube.boot.reviewerToken,
        audience: SERVICE_ACCOUNT_ISSUER,
        serviceAccount: BOT_SERVICE_ACCOUNT,
      }),
    );

    const startMs = Date.now() - began;
    log(`all servers ready in ${(startMs / 1000).toFixed(1)} s`);
    return {
      servers: {
        kube: { url: kube.url, caFile: kube.caFile, kubeconfigs: kube.kubeconfigs, kubectl: binaries.kubectl },
        bao: {
          addr: bao.addr,
          rootToken,
          kubernetesAuthPath: OPENBAO_KUBERNETES_AUTH.path,
          role: OPENBAO_KUBERNETES_AUTH.role,
          database: { mount: OPENBAO_DATABASE.mount, connection: OPENBAO_DATABASE.connection, staticRole: OPENBAO_DATABASE.staticRole },
        },
        postgres: { url: postgres.url, host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: postgres.database, socketDir: postgres.socketDir },
        loki: { url: loki.url },
        alertmanager: { url: alertmanager.url },
        kubeStateMetrics: { binary: binaries.kubeStateMetrics },
      },
      rbacObjects: kube.boot.rbacObjects,
      startMs,
    };
  } catch (error) {
    await supervisor.stopAll().catch(() => undefined);
    throw error;
  }
}
