import { deniedMessage } from '../access/access-gate.ts';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../errors.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { KubeApiError } from '../kube/kube-http.ts';

/**
 * What a failed Kubernetes call made for a person means to them, without the API server's own
 * message (it can quote request content): 403 names the permission the call needed, 404 the
 * object, 409 a concurrent change. Anything else is rethrown for "internal error (ref …)".
 */
export function kubeFailure(error: unknown, call: { attributes: ResourceAttributes; what: string }): never {
  if (!(error instanceof KubeApiError)) throw error;
  if (error.status === 403) throw new Forbidden(deniedMessage(call.attributes), { cause: error });
  if (error.status === 404) throw new NotFound(`There is no ${call.what}.`, { cause: error });
  if (error.status === 409) throw new Conflict(`${call.what} changed while Lookout was changing it; nothing was changed. Run the command again.`, { cause: error });
  if (error.status === 422) throw new InvalidInput(`Kubernetes refused the change to ${call.what} as invalid.`, { cause: error });
  throw error;
}
