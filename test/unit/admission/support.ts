// Builders for the admission rule's tests, and an RFC 6902 `add` applier to check its patches with.
import type { ImagePullSecret, Target } from '../../../src/api/v1alpha1/types.ts';
import type { AdmittedPod, JsonPatchOp, NamespaceView } from '../../../src/admission/index.ts';
import type { MutatingAdmissionPolicyBinding } from '../../../src/admission/policy.ts';
import { labelMatcher } from '../../../src/controller/decide/selector.ts';

export const resource = (name: string, target: Partial<Target>, inject = true): ImagePullSecret => ({
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
  metadata: { name, uid: `uid-${name}`, generation: 1 },
  spec: {
    registry: { credentials: [{ name: 'hub', namespace: 'registry-access' }] },
    target: { secret: { name: `pull-${name}` }, ...target, pods: { inject } },
  },
});

export const namespace = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): NamespaceView =>
  ({ metadata: { name, labels, annotations } });

export const pod = (ns: string, opts: { labels?: Record<string, string>; annotations?: Record<string, string>; pullSecrets?: AdmittedPod['spec']['imagePullSecrets'] } = {}): AdmittedPod => ({
  metadata: { generateName: 'web-', namespace: ns, labels: opts.labels ?? {}, annotations: opts.annotations ?? {} },
  spec: opts.pullSecrets === undefined ? {} : { imagePullSecrets: opts.pullSecrets },
});

/** Applies RFC 6902 `add` operations (JsonPatchOp admits no other) to a deep copy of `doc`. */
export function applyPatch<T>(doc: T, patch: readonly JsonPatchOp[]): T {
  const out = structuredClone(doc) as unknown;
  for (const op of patch) {
    const parts = op.path.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = parts.pop();
    if (last === undefined) throw new Error('empty path');
    let node = out as Record<string, unknown>;
    for (const p of parts) {
      const next = node[p];
      if (typeof next !== 'object' || next === null) throw new Error(`path ${op.path}: ${p} is missing`);
      node = next as Record<string, unknown>;
    }
    if (Array.isArray(node)) {
      if (last === '-') node.push(structuredClone(op.value));
      else node.splice(Number(last), 0, structuredClone(op.value));
    } else {
      node[last] = structuredClone(op.value);
    }
  }
  return out as T;
}

/**
 * Whether the API server runs `binding`'s policy for a pod in a namespace with `labels` (which hold its
 * `kubernetes.io/metadata.name`, as the API server sets it): a binding without matchResources binds every
 * namespace, one with a namespace selector those it selects.
 */
export const bindsNamespace = (binding: MutatingAdmissionPolicyBinding, labels: Readonly<Record<string, string>>): boolean =>
  binding.spec.matchResources === undefined || labelMatcher(binding.spec.matchResources.namespaceSelector)(labels);
