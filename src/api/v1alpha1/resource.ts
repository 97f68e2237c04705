// What the controller, the builder front and `plan` all read off an ImagePullSecret the same way.
import type { ImagePullSecret } from './types.ts';

/** True for a resource that exists and is not being deleted. */
export function isLive(ips: ImagePullSecret | undefined): ips is ImagePullSecret {
  return ips !== undefined && !ips.metadata.deletionTimestamp;
}

/**
 * Older resources first (creationTimestamp, then name): the oldest of the resources that want one Secret
 * name in a namespace owns it there, and builders are answered from the oldest resource first.
 */
export function olderFirst(a: ImagePullSecret, b: ImagePullSecret): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** True when `spec.builder.serviceAccounts` names ServiceAccount `sa` (name `*`: any of its namespace). */
export function allowsServiceAccount(ips: ImagePullSecret, sa: { namespace: string; name: string }): boolean {
  return (ips.spec.builder?.serviceAccounts ?? []).some((allowed) =>
    allowed.namespace === sa.namespace && (allowed.name === '*' || allowed.name === sa.name));
}
