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
 * Memory: one label set per series, which the gauge holds anyway.
 */
export class CertificateExpiryMetric {
  private readonly gauge: Gauge<keyof ExpirySeries>;
  /** The series the gauge shows, by key. */
  private shown = new Map<string, ExpirySeries>();
  /** The series the scan under way has set. */
  private seen = new Map<string, ExpirySeries>();

  constructor(gauge: Gauge<keyof ExpirySeries>) {
    this.gauge = gauge;
  }

  beginScan(): void {
    this.seen = new Map();
  }

  set(series: ExpirySeries, notAfterMs: number): void {
    const labels = { namespace: series.namespace, name: series.name, kind: series.kind, source: series.source };
    this.gauge.set(labels, Math.floor(notAfterMs / 1000));
    this.seen.set(seriesKey(labels), labels);
  }

  /** @param complete every list of the scan was read to its end */
  endScan(complete: boolean): void {
    if (complete) {
      for (const [key, labels] of this.shown) if (!this.seen.has(key)) this.gauge.remove(labels);
      this.shown = this.seen;
    } else {
      for (const [key, labels] of this.seen) this.shown.set(key, labels);
    }
    this.seen = new Map();
  }

  /** Series shown now. */
  get size(): number {
    return this.shown.size;
  }
}

function seriesKey(series: ExpirySeries): string {
  return JSON.stringify([series.namespace, series.name, series.kind, series.source]);
}
