// The admission rule: which Secret names to add to the `spec.imagePullSecrets` of a pod being created,
// and the JSON patch that adds them. An entry is added only when missing, never twice, never removed;
// other entries keep their order. Never touched: mirror pods, pods created by nodes, pods in kube-system
// and in the daemon's own namespace, and pods or namespaces labelled pullsecret-sync.dev/inject=false.
// Pure: the webhook and the differential test call it, the admission policies compile the same rule.
import { INJECT_OPT_OUT_LABEL, INJECT_OPT_OUT_VALUE } from '../api/v1alpha1/labels.ts';
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import { ownValue } from '../util/own.ts';
import { KUBE_SYSTEM, MIRROR_POD_ANNOTATION, NODE_USER_PREFIX, type AdmittedPod, type JsonPatchOp, type NamespaceView, type PodDecision } from './pod.ts';
import { selectedSecrets } from './selection.ts';

export interface PodAdmission {
  /** The pod being created; `metadata.namespace` names its namespace. */
  pod: AdmittedPod;
  /** The namespace from the daemon's cache; undefined when the cache does not hold it (yet). */
  namespace: NamespaceView | undefined;
  /** Every ImagePullSecret the daemon's cache holds. */
  resources: readonly ImagePullSecret[];
  /** The daemon's own namespace. */
  ownNamespace: string;
  /** Who creates the pod (the request's userInfo.username), when known. */
  requester?: string;
}

const optedOut = (labels: Record<string, string> | undefined): boolean => ownValue(labels, INJECT_OPT_OUT_LABEL) === INJECT_OPT_OUT_VALUE;

/** Why the pod is left alone whatever selects it; undefined when it is not. */
function exclusion(a: PodAdmission): string | undefined {
  const ns = a.pod.metadata.namespace;
  if (ownValue(a.pod.metadata.annotations, MIRROR_POD_ANNOTATION) !== undefined) return 'a mirror pod: it may not reference Secrets';
  if (a.requester?.startsWith(NODE_USER_PREFIX)) return `created by ${a.requester}`;
  if (ns === KUBE_SYSTEM) return `namespace ${KUBE_SYSTEM} is never mutated`;
  if (ns === a.ownNamespace) return `namespace ${ns} is the daemon's own`;
  if (optedOut(a.pod.metadata.labels)) return `the pod is labelled ${INJECT_OPT_OUT_LABEL}=${INJECT_OPT_OUT_VALUE}`;
  if (optedOut(a.namespace?.metadata.labels)) return `namespace ${ns} is labelled ${INJECT_OPT_OUT_LABEL}=${INJECT_OPT_OUT_VALUE}`;
  return undefined;
}

/** The names the pod's `spec.imagePullSecrets` holds already. */
const presentNames = (pod: AdmittedPod): Set<string> =>
  new Set((pod.spec.imagePullSecrets ?? []).flatMap((e) => (typeof e.name === 'string' ? [e.name] : [])));

/** Appends `names` to the pod's list, creating it when it is absent. */
export function patchFor(pod: AdmittedPod, names: readonly string[]): JsonPatchOp[] {
  const entries = names.map((name) => ({ name }));
  if (!Array.isArray(pod.spec.imagePullSecrets)) return [{ op: 'add', path: '/spec/imagePullSecrets', value: entries }];
  return entries.map((value) => ({ op: 'add', path: '/spec/imagePullSecrets/-', value }));
}

const decision = (outcome: PodDecision['outcome'], reason: string): PodDecision => ({ outcome, add: [], reason });

/** Decides one pod admission. */
export function decidePodAdmission(a: PodAdmission): PodDecision {
  const excluded = exclusion(a);
  if (excluded !== undefined) return decision('opted_out', excluded);
  const ns = a.pod.metadata.namespace;
  const selected = selectedSecrets(a.resources, a.pod, a.namespace);
  const unknown = selected.undecided.length
    ? `; namespace ${ns} is not in the cache yet, so the label and annotation rules of ${selected.undecided.join(', ')} were not evaluated`
    : '';
  const present = presentNames(a.pod);
  const add = selected.names.filter((name) => !present.has(name));
  if (add.length) return { outcome: 'mutated', add, patch: patchFor(a.pod, add), reason: `added ${add.join(', ')}${unknown}` };
  if (unknown) return decision('error', unknown.slice(2));
  if (selected.names.length) return decision('already_present', `already lists ${selected.names.join(', ')}`);
  return decision('not_selected', `no resource with spec.target.pods.inject selects namespace ${ns}`);
}
