import type { Gauge } from 'prom-client';

/** The labels of one series of `lookout_certificate_expiry_timestamp_seconds`. */
export interface ExpirySeries {
  namespace: string;
  name: string;
  /** Certificate (cert-manager) or Secret (kubernetes.io/tls). */
  kind: 'Certificate' | 'Secret';
  /** status (a Certificate's status.notAfter), leaf (tls.crt's first certificate), chain (the earliest of tls.crt's certificates). */
  source: 'status' | 'leaf' | 'chain';
}

/**
 * The expiry gauge, kept equal to what the last scan found: a scan sets the series it sees, and
 * when it read everything, removes the series of objects it no longer saw (deleted Certificates
 * and Secrets; cert-manager's own metric keeps them, a known complaint). After a scan that could
 * not read everything nothing is removed: an object missing from a failed list is not gone.
 * Memory: besides the gauge's own series, one short key string per series (labels are rebuilt
 * from it to remove one).
 */
export class CertificateExpiryMetric {
  private readonly gauge: Gauge<keyof ExpirySeries>;
  /** Keys of the series the gauge shows. */
  private shown = new Set<string>();
  /** Keys of the series the scan under way has set. */
  private seen = new Set<string>();

  constructor(gauge: Gauge<keyof ExpirySeries>) {
    this.gauge = gauge;
  }

  beginScan(): void {
    this.seen = new Set();
  }

  set(series: ExpirySeries, notAfterMs: number): void {
    this.gauge.set({ namespace: series.namespace, name: series.name, kind: series.kind, source: series.source }, Math.floor(notAfterMs / 1000));
    this.seen.add(seriesKey(series));
  }

  /** @param complete every list of the scan was read to its end */
  endScan(complete: boolean): void {
    if (complete) {
      for (const key of this.shown) if (!this.seen.has(key)) this.gauge.remove(labelsOf(key));
      this.shown = this.seen;
    } else {
      for (const key of this.seen) this.shown.add(key);
    }
    this.seen = new Set();
  }

  /**
   * Removes every series: the scanner stopped (this replica lost job:certificate-scan, or is
   * shutting down), and a series left behind would go on saying what the certificate was when
   * this replica last looked, and keep CertificateExpiringSoon firing after a renewal.
   */
  clear(): void {
    for (const key of this.shown) this.gauge.remove(labelsOf(key));
    this.shown = new Set();
    this.seen = new Set();
  }

  /** Series shown now. */
  get size(): number {
    return this.shown.size;
  }
}

/** Namespace and name cannot hold "/" (Kubernetes names), so the four values join unambiguously. */
function seriesKey(series: ExpirySeries): string {
  return `${series.namespace}/${series.name}/${series.kind}/${series.source}`;
}

function labelsOf(key: string): ExpirySeries {
  const [namespace = '', name = '', kind, source] = key.split('/');
  return { namespace, name, kind: kind as ExpirySeries['kind'], source: source as ExpirySeries['source'] };
}
