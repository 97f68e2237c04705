// The shapes the admission rule reads: the pod being admitted (as an AdmissionReview carries it), the
// namespace it is created in (from the daemon's namespace cache), the JSON patch it answers with, and
// the outcomes it reports. Plain data.

/** One entry of a pod's `spec.imagePullSecrets`; the API server allows an entry without a name. */
export interface PodPullSecret {
  name?: string;
}

/** The fields of a pod the rule reads. `metadata.namespace` is the namespace the pod is created in. */
export interface AdmittedPod {
  metadata: {
    name?: string;
    generateName?: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    imagePullSecrets?: PodPullSecret[] | null;
  };
}

/** What the rule reads of a namespace (a cached Namespace's metadata fits). */
export interface NamespaceView {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/** An RFC 6902 operation; the rule only ever adds. */
export interface JsonPatchOp {
  op: 'add';
  path: string;
  value: unknown;
}

/**
 * What happened to one admission, for metrics and logs: `mutated` (entries added), `already_present`
 * (selected, every entry there), `not_selected`, `opted_out` (the opt-out label, or a pod the daemon never
 * touches) and `error` (nothing could be decided; the pod is admitted unchanged).
 */
export const OUTCOMES = ['mutated', 'already_present', 'not_selected', 'opted_out', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface PodDecision {
  outcome: Outcome;
  /** The Secret names added to `spec.imagePullSecrets`, sorted; empty unless `mutated`. */
  add: string[];
  /** The JSON patch that adds them; present only when `mutated`. */
  patch?: JsonPatchOp[];
  /** One line for people (logs, audit annotations): names of namespaces, resources and Secrets only. */
  reason: string;
}

/** Set by the kubelet on the mirror pod of a static pod; such pods may not reference Secrets. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
/** Never mutated, whatever selects it. */
export const KUBE_SYSTEM = 'kube-system';
/** The user name prefix of the kubelets' credentials (the Node authorizer's convention). */
export const NODE_USER_PREFIX = 'system:node:';
