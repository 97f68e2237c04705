// Adoption of the Secrets banzaicloud/imps wrote, for the hand-over from IMPS (docs/adr/0006-imps-adoption.md).
// IMPS marks every Secret it writes for a resource with two things: the label
// `images.banzaicloud.io/owner-uid: <uid of its ImagePullSecret>` and an ownerReference to that
// ImagePullSecret (`images.banzaicloud.io/v1alpha1`, same name, same uid). A Secret carrying both, for a
// resource of the same name as ours (`migrate` keeps names), is the one our resource replaces; anything
// else of that name stays someone else's. Pure.
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import type { ObjectMeta, OwnerReference, Secret } from '../../kube/objects.ts';
import { ownValue } from '../../util/own.ts';
import { updatedSecret } from './desired-secret.ts';

export const IMPS_API_VERSION = 'images.banzaicloud.io/v1alpha1';
export const IMPS_OWNER_UID_LABEL = 'images.banzaicloud.io/owner-uid';
/** The last-applied annotation IMPS's writer (banzaicloud operator-tools) keeps on what it writes. */
export const IMPS_LAST_APPLIED_ANNOTATION = 'banzaicloud.com/last-applied';

const isImpsOwner = (ref: OwnerReference, name: string, uid: string): boolean =>
  ref.apiVersion === IMPS_API_VERSION && ref.kind === 'ImagePullSecret' && ref.name === name && ref.uid === uid;

/** Whether the Secret of `meta` carries IMPS's own marks for the IMPS resource named like `ips`. */
export function heldByImpsFor(meta: Pick<ObjectMeta, 'labels' | 'ownerReferences'>, ips: ImagePullSecret): boolean {
  const uid = ownValue(meta.labels, IMPS_OWNER_UID_LABEL);
  if (!uid) return false;
  return (meta.ownerReferences ?? []).some((ref) => isImpsOwner(ref, ips.metadata.name, uid));
}

/**
 * The update that makes IMPS's Secret ours: our data, labels and ownerReference, and none of IMPS's
 * marks. Its ownerReference must go: deleting the IMPS resource would otherwise have the garbage
 * collector delete the adopted Secret. What others added (labels, annotations, finalizers) stays.
 */
export function adoptedSecret(existing: Pick<Secret, 'metadata'>, desired: Secret): Secret {
  const { metadata } = existing;
  const uid = ownValue(metadata.labels, IMPS_OWNER_UID_LABEL);
  const without = <T>(map: Record<string, T> | undefined, key: string) => Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => k !== key));
  return updatedSecret({ metadata: {
    ...metadata,
    labels: without(metadata.labels, IMPS_OWNER_UID_LABEL),
    annotations: without(metadata.annotations, IMPS_LAST_APPLIED_ANNOTATION),
    ownerReferences: (metadata.ownerReferences ?? []).filter((ref) => !(ref.apiVersion === IMPS_API_VERSION && ref.uid === uid)),
  } }, desired);
}
