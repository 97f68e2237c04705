// Label, annotation and finalizer keys the daemon writes. Users select on the labels,
// so these strings are part of the API.

/** On every object the daemon writes. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'pullsecret-sync';

/** Names the owning ImagePullSecret on every Secret it writes. */
export const OWNER_LABEL = 'pullsecret-sync.dev/owner';

/** Hash of the Secret's data as written; a different hash on the cluster means drift. */
export const DATA_HASH_ANNOTATION = 'pullsecret-sync.dev/data-hash';

/** Holds a resource until every Secret it wrote is gone. Namespaces never get one. */
export const FINALIZER = 'pullsecret-sync.dev/cleanup';

/**
 * On a ServiceAccount: the imagePullSecrets entries the daemon added, comma-separated, so it removes only
 * what it added and never an entry someone else put there.
 */
export const ADDED_PULL_SECRETS_ANNOTATION = 'pullsecret-sync.dev/added-pull-secrets';

/**
 * On a pod or a namespace, with the value `"false"`: no entry is injected at admission into that pod, or
 * into any pod of that namespace (src/admission/).
 */
export const INJECT_OPT_OUT_LABEL = 'pullsecret-sync.dev/inject';
export const INJECT_OPT_OUT_VALUE = 'false';
