import { LokiError } from '../../src/integrations/loki.ts';
import { KubeApiError } from '../../src/kube/kube-http.ts';
import { KubeReadError } from '../../src/kube/kube-reader.ts';
import { SourceUnavailable } from './enrichment.ts';

/** Node's codes for "could not talk to the server at all". */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The safe, short reason for a source's failure. A server's own message never gets through:
 * Kubernetes quotes request content in it, and a Loki error body can quote the query.
 * Errors that are none of the known kinds (bugs) are returned as they are, so the pipeline
 * reports them as "error" and logs the stack.
 */
function toSourceUnavailable(error: unknown): unknown {
  if (error instanceof SourceUnavailable) return error;
  if (error instanceof KubeApiError) {
    const reason = error.status === 403 ? 'forbidden' : error.status === 401 ? 'unauthorized' : `HTTP ${error.status}`;
    return new SourceUnavailable(reason, { cause: error });
  }
  if (!(error instanceof Error)) return error;
  const { name } = error;
  const cause = error.cause as { name?: unknown } | undefined;
  if (name === 'TimeoutError' || name === 'AbortError' || cause?.name === 'TimeoutError') {
    return new SourceUnavailable('timeout', { cause: error });
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) return new SourceUnavailable('unreachable', { cause: error });
  // These carry a reason chosen to be safe.
  if (error instanceof KubeReadError || error instanceof LokiError) return new SourceUnavailable(error.reason, { cause: error });
  return error;
}

/** Runs a source's work and rethrows its failure with a safe reason. */
export async function withSafeErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toSourceUnavailable(error);
  }
}
