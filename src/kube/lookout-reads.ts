import type { LookoutReads } from '../../commands/command.ts';
import type { KubeHttp } from './kube-http.ts';

/**
 * GET requests as Lookout itself, never impersonating (see LookoutReads in commands/command.ts).
 * Only GET can pass: a command cannot write with Lookout's identity through this port.
 */
export class LookoutKubeReads implements LookoutReads {
  private readonly kube: Pick<KubeHttp, 'request'>;

  constructor(kube: Pick<KubeHttp, 'request'>) {
    this.kube = kube;
  }

  get<T>(path: string, query?: Record<string, string>): Promise<T> {
    return this.kube.request<T>({ method: 'GET', path, ...(query ? { query } : {}) });
  }
}
