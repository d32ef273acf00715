import type { CertificateScanner } from '../../certificates/certificate-scanner.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

/**
 * The certificate scanner: when it last scanned, what it found and what it could not read. With
 * several replicas it scans on one (`runsHere`); the others have no scan of their own to report.
 */
export function certificatesCheck(scanner: Pick<CertificateScanner, 'lastScan'>, now: () => number, runsHere: () => boolean = () => true): DoctorCheck {
  return {
    name: 'Certificate scanner',
    async run() {
      const last = scanner.lastScan;
      if (last === undefined && !runsHere()) return passed('scans run on another replica (the one holding the lease job:certificate-scan); its log and /metrics show them');
      if (last === undefined) return passed('no scan finished yet (the first runs shortly after start)');
      const ago = `${Math.round((now() - last.startedAt) / 60_000)} min ago`;
      const found = `${last.series} certificates in ${Math.round(last.durationMs)} ms`;
      if (last.errors.length > 0) return failed(`last scan ${ago} could not read everything: ${last.errors.slice(0, 3).join('; ')}`, 'Grant ClusterRole lookout-certificates (list Secrets, get/list cert-manager Certificates) or bind it per namespace (docs/rbac.md, "Certificates").');
      return passed(`last scan ${ago}: ${found}${last.unreadable > 0 ? `, ${last.unreadable} TLS Secrets unreadable` : ''}`);
    },
  };
}
