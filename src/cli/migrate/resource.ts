// Converts one IMPS ImagePullSecret (images.banzaicloud.io/v1alpha1) into a pullsecret-sync one, in place
// in its YAML document so comments and layout survive. The spec carries over unchanged (the field names of
// registry.credentials and target are IMPS's); what the API server or IMPS set is dropped, and every drop
// is reported. Pure over the yaml Document.
import type { Document } from 'yaml';
import { API_VERSION, KIND } from '../../api/v1alpha1/types.ts';

export const IMPS_API_VERSION = 'images.banzaicloud.io/v1alpha1';

/** Metadata the API server sets; meaningless for a new object of another group. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'ownerReferences', 'finalizers'];
/** kubectl apply's record of the IMPS object: applied to the new object it would name the wrong group. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Path = (string | number)[];

export const isImps = (obj: unknown): boolean => {
  const o = obj as { apiVersion?: unknown; kind?: unknown } | null;
  return o?.apiVersion === IMPS_API_VERSION && o.kind === KIND;
};

/** Rewrites the resource at `at` in `doc`; returns what did not carry over unchanged. */
export function migrateResource(doc: Document, at: Path): string[] {
  const notes: string[] = [];
  doc.setIn([...at, 'apiVersion'], API_VERSION);
  const dropped = SERVER_METADATA.filter((field) => doc.hasIn([...at, 'metadata', field]));
  for (const field of dropped) doc.deleteIn([...at, 'metadata', field]);
  if (dropped.length) notes.push(`dropped metadata ${dropped.join(', ')} (set by the API server)`);
  if (doc.hasIn([...at, 'metadata', 'annotations', LAST_APPLIED])) {
    doc.deleteIn([...at, 'metadata', 'annotations', LAST_APPLIED]);
    notes.push(`dropped annotation ${LAST_APPLIED} (it records the IMPS object)`);
  }
  if (doc.hasIn([...at, 'status'])) {
    doc.deleteIn([...at, 'status']);
    notes.push('dropped status (IMPS\'s free-form status; the daemon writes conditions of its own)');
  }
  return notes;
}
