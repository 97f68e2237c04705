// Whether a status write is needed. The time-derived fields (lastSuccessfulReconciliation,
// validitySeconds) alone never cause one: otherwise a steady state would write on every reconcile.
import type { ImagePullSecretStatus } from '../../api/v1alpha1/types.ts';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/** A stable string of the status without its time-derived fields. */
export function statusFingerprint(status: ImagePullSecretStatus | undefined): string {
  if (!status) return '';
  const { lastSuccessfulReconciliation: _last, validitySeconds: _validity, ...rest } = status;
  return JSON.stringify(canonical(rest));
}
