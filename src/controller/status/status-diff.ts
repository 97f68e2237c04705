// Whether a status write is needed. The time-derived fields (lastSuccessfulReconciliation,
// validitySeconds) alone never cause one: otherwise a steady state would write on every reconcile.
import type { ImagePullSecretStatus } from '../../api/v1alpha1/types.ts';
import { canonicalJson } from '../../util/json.ts';

/** A stable string of the status without its time-derived fields. */
export function statusFingerprint(status: ImagePullSecretStatus | undefined): string {
  if (!status) return '';
  const { lastSuccessfulReconciliation: _last, validitySeconds: _validity, ...rest } = status;
  return canonicalJson(rest);
}
