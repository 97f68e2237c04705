// The target Secret a resource wants in one namespace, and whether an existing one already is it. Pure.
import { API_VERSION, KIND, type ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { DATA_HASH_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import { dataHash } from '../../dockerconfig/index.ts';
import { ownValue } from '../../util/own.ts';
import { DOCKER_CONFIG_JSON, DOCKER_CONFIG_JSON_KEY, type Secret } from '../../kube/objects.ts';
import type { ManagedSecret, Payload } from '../watch/managed-secret.ts';

/**
 * The most data one Secret may hold: the API server refuses a Secret whose data values add up to more
 * than 1 MiB (bytes as stored, before base64), so merged credentials beyond it can never be written.
 */
export const MAX_SECRET_DATA_BYTES = 1024 * 1024;

/** Whether `.dockerconfigjson` bytes of this length fit in one Secret. */
export const fitsInSecret = (byteLength: number): boolean => byteLength <= MAX_SECRET_DATA_BYTES;

/** The payload of merged `.dockerconfigjson` bytes: encoded once per render, never once per namespace. */
export const payloadOf = (bytes: string): Payload => ({ data: Buffer.from(bytes).toString('base64'), hash: dataHash(bytes) });

export function desiredSecret(ips: ImagePullSecret, namespace: string, rendered: Payload): Secret {
  const target = ips.spec.target.secret;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: DOCKER_CONFIG_JSON,
    metadata: {
      name: target.name,
      namespace,
      labels: { ...target.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [OWNER_LABEL]: ips.metadata.name },
      annotations: { ...target.annotations, [DATA_HASH_ANNOTATION]: rendered.hash },
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: ips.metadata.name, uid: ips.metadata.uid ?? '' }],
    },
    data: { [DOCKER_CONFIG_JSON_KEY]: rendered.data },
  };
}

function sameMap(want: Record<string, string> | undefined, have: Record<string, string> | undefined): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => ownValue(have, k) === v);
}

/**
 * True when `existing` already carries everything `desired` says: type and data (intact bytes whose hash
 * is the annotation `desired` carries), our labels and annotations, our ownerReference. Extra labels or
 * annotations someone else added are left alone, so they cause no write either.
 */
export function upToDate(existing: ManagedSecret, desired: Secret): boolean {
  const ref = desired.metadata.ownerReferences?.[0];
  return existing.intact
    && sameMap(desired.metadata.labels, existing.metadata.labels)
    && sameMap(desired.metadata.annotations, existing.metadata.annotations)
    && (existing.metadata.ownerReferences ?? []).some((r) => r.uid === ref?.uid && r.kind === ref.kind);
}

/**
 * The update that turns `existing` into `desired`, keeping what others added: labels, annotations,
 * finalizers and ownerReferences (ours replaces any stale reference to the same resource).
 */
export function updatedSecret(existing: Pick<Secret, 'metadata'>, desired: Secret): Secret {
  const ours = desired.metadata.ownerReferences ?? [];
  const theirs = (existing.metadata.ownerReferences ?? []).filter((r) => !ours.some((o) => o.kind === r.kind && o.name === r.name));
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      resourceVersion: existing.metadata.resourceVersion,
      labels: { ...existing.metadata.labels, ...desired.metadata.labels },
      annotations: { ...existing.metadata.annotations, ...desired.metadata.annotations },
      ownerReferences: [...theirs, ...ours],
      ...(existing.metadata.finalizers?.length ? { finalizers: existing.metadata.finalizers } : {}),
    },
  };
}
