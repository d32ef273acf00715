import type { Counter, Gauge } from 'prom-client';
import type { LookoutReads } from '../../commands/command.ts';
import type { CertificateScanConfig } from '../config.ts';
import { KubeApiError } from '../kube/kube-http.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../state/store.ts';
import { certificatePages } from './cert-manager-certificates.ts';
import type { DigestCertificate } from './certificate-digest.ts';
import type { CertificateExpiryMetric, ExpirySeries } from './expiry-metric.ts';
import { tlsSecretPages, type InventoryScope } from './tls-secrets.ts';

/** What the last scan found and what went wrong, for `/ops doctor` and the log. */
export interface CertificateScanStatus {
  startedAt: number;
  durationMs: number;
  /** Series of the expiry metric after the scan. */
  series: number;
  /** TLS Secrets whose tls.crt could not be read (no series; the scan went on). */
  unreadable: number;
  /** Certificates the digest queued by this scan lists (0: none due, or no digest channel). */
  digested: number;
  /** What could not be read, e.g. "GET /api/v1/secrets: 403 Forbidden": never a server's message. */
  errors: string[];
}

export interface CertificateScannerOptions {
  /** Lookout's own read-only identity (src/kube/lookout-reads.ts). */
  reads: LookoutReads;
  metric: CertificateExpiryMetric;
  /** lookout_certificate_scans_total. */
  scans: Counter<'outcome'>;
  /** lookout_certificate_scan_duration_seconds (the last scan's). */
  duration: Gauge;
  store: Pick<Store, 'queueCertificateDigest'>;
  config: CertificateScanConfig;
  log: Logger;
  now?: () => number;
  /** A digest was queued: wake the outbox. */
  onDigestQueued?: () => void;
  /** Items per list request (default: the inventory's). */
  pageSize?: number;
}

/**
 * Scans every cert-manager Certificate and kubernetes.io/tls Secret of the configured namespaces
 * in the background, as Lookout, every `interval`: keeps the expiry metric equal to what exists
 * and queues the daily digest. Lists are read a page at a time and each page is reduced to the
 * few numbers the metric needs before the next is read, so memory does not grow with the
 * cluster. A scan never overlaps another; a failure is counted, logged and retried at the next
 * interval, never thrown.
 */
export class CertificateScanner {
  private readonly options: Required<Omit<CertificateScannerOptions, 'pageSize'>> & { pageSize: number | undefined };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CertificateScanStatus> | undefined;
  /** Scheduling is on (start() until stop()). */
  private started = false;
  /** stop() was called: a scan under way ends at its next page. */
  private halted = false;
  private last: CertificateScanStatus | undefined;

  constructor(options: CertificateScannerOptions) {
    this.options = { now: Date.now, onDigestQueued: () => undefined, ...options, pageSize: options.pageSize };
  }

  /** The last finished scan, or undefined before the first. */
  get lastScan(): CertificateScanStatus | undefined {
    return this.last;
  }

  /** Scans now, then every interval (counted from each scan's start; an overrunning scan is followed at once). */
  start(): void {
    if (this.started || this.options.config.intervalMs === 0) return;
    this.started = true;
    this.halted = false;
    this.schedule(0);
  }

  /**
   * No further scans; waits for one under way to stop at its next page, then removes the expiry
   * series: the replica that scans next exports them (one scanner at a time, job:certificate-scan).
   */
  async stop(): Promise<void> {
    this.started = false;
    this.halted = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.options.metric.clear();
  }

  /** Runs a scan, or joins the one under way: scans never overlap. */
  scan(): Promise<CertificateScanStatus> {
    this.running ??= this.scanOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      const started = this.options.now();
      void this.scan().finally(() => {
        if (this.started) this.schedule(Math.max(0, started + this.options.config.intervalMs - this.options.now()));
      });
    }, delayMs);
    this.timer.unref();
  }

  private async scanOnce(): Promise<CertificateScanStatus> {
    const { metric, scans, duration, config, log, now } = this.options;
    const startedAt = now();
    const errors: string[] = [];
    const inWindow: DigestCertificate[] = [];
    let unreadable = 0;
    metric.beginScan();
    const found = (series: ExpirySeries, notAfter: number): void => {
      metric.set(series, notAfter);
      if (notAfter - startedAt < config.warnWithinMs) inWindow.push({ ...series, expiresAt: notAfter });
    };
    for (const scope of scopes(config.namespaces)) {
      if (this.halted) break;
      // Certificates first: a Secret cert-manager manages is listed in the digest under its Certificate.
      const managed = new Set<string>();
      await this.readPages(certificatePages(this.options.reads, scope, ...this.pageSize()), errors, (page) => {
        for (const certificate of page) {
          managed.add(`${certificate.namespace}/${certificate.name}`);
          // Never issued: no expiry to show (cert-manager's own metric says 0).
          if (certificate.notAfter !== undefined) found({ namespace: certificate.namespace, name: certificate.name, kind: 'Certificate', source: 'status' }, certificate.notAfter);
        }
      });
      await this.readPages(tlsSecretPages(this.options.reads, scope, ...this.pageSize()), errors, (page) => {
        for (const secret of page) {
          if (!secret.chain.readable) {
            unreadable += 1;
            continue;
          }
          const underCertificate = secret.certificateName !== undefined && managed.has(`${secret.namespace}/${secret.certificateName}`);
          const leaf = { namespace: secret.namespace, name: secret.name, kind: 'Secret', source: 'leaf' } as const;
          metric.set(leaf, secret.chain.leaf.notAfter);
          if (!underCertificate && secret.chain.leaf.notAfter - startedAt < config.warnWithinMs) inWindow.push({ ...leaf, expiresAt: secret.chain.leaf.notAfter });
          // The chain's earliest expiry, when the chain is more than the leaf: an intermediate running out breaks it too.
          if (secret.chain.count > 1) {
            const chain = { ...leaf, source: 'chain' } as const;
            metric.set(chain, secret.chain.earliest.notAfter);
            if (secret.chain.earliest !== secret.chain.leaf && secret.chain.earliest.notAfter - startedAt < config.warnWithinMs) {
              inWindow.push({ ...chain, expiresAt: secret.chain.earliest.notAfter });
            }
          }
        }
      });
    }
    metric.endScan(errors.length === 0);
    const digested = await this.queueDigest(inWindow, startedAt, errors);
    const status: CertificateScanStatus = { startedAt, durationMs: now() - startedAt, series: metric.size, unreadable, digested, errors };
    scans.inc({ outcome: errors.length === 0 ? 'ok' : 'error' });
    duration.set(status.durationMs / 1000);
    const line = { durationMs: status.durationMs, series: status.series, unreadable, digested, errors };
    if (errors.length > 0) log.warn(line, 'certificate scan could not read everything; series of objects it did not see are kept until a complete scan');
    else log.info(line, 'certificate scan done');
    this.last = status;
    return status;
  }

  private pageSize(): [] | [number] {
    return this.options.pageSize === undefined ? [] : [this.options.pageSize];
  }

  /** Reads a paged list to its end, handing out each page; a failure is noted in `errors`, never thrown. */
  private async readPages<Page>(pages: AsyncGenerator<Page>, errors: string[], each: (page: Page) => void): Promise<void> {
    try {
      for await (const page of pages) {
        each(page);
        // Stopping: the next page is not read (the generator is closed by the loop's return).
        if (this.halted) {
          errors.push('stopped before the end');
          return;
        }
      }
    } catch (error) {
      // cert-manager not installed: there are no Certificates to scan, which is not a failure.
      if (error instanceof KubeApiError && error.status === 404 && error.message.includes('cert-manager.io')) return;
      errors.push(describe(error));
      this.options.log.warn({ err: error }, 'certificate scan: a list failed');
    }
  }

  private async queueDigest(certificates: DigestCertificate[], at: number, errors: string[]): Promise<number> {
    const { channel, warnWithinMs } = this.options.config;
    // A scan cut short by stop() saw only some certificates: the next start's scan decides for all.
    if (channel === undefined || certificates.length === 0 || this.halted) return 0;
    try {
      const listed = await this.options.store.queueCertificateDigest({ channel, at, warnWithinMs, certificates });
      if (listed > 0) this.options.onDigestQueued();
      return listed;
    } catch (error) {
      errors.push('the digest could not be stored');
      this.options.log.warn({ err: error }, 'certificate scan: the digest could not be stored; the next scan decides again');
      return 0;
    }
  }
}

/** One scope per configured namespace, or one for every namespace. */
function scopes(namespaces: readonly string[] | undefined): InventoryScope[] {
  return namespaces === undefined ? [{}] : namespaces.map((namespace) => ({ namespace }));
}

/** What went wrong, safe to log and show: a KubeApiError names the method, path and status only. */
function describe(error: unknown): string {
  if (error instanceof KubeApiError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.name : 'error');
}
