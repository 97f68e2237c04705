// Which of the resources the daemon holds inject their Secret into the pod being admitted: those with
// `spec.target.pods.inject: true`, a valid target (an invalid selector selects nothing), not being
// deleted, that select the pod's namespace. A problem elsewhere in the spec (a source) does not stop the
// entry: it names the Secret the resource writes once fixed, and the admission policies, which compile
// only the target, decide the same. Selection is the daemon's own (controller/decide/selection.ts)
// with the admitted pod as the only pod of its namespace: by the pod rules, the pod gets the entry when
// it is itself a pod that selects its namespace (an admission policy sees no other pod either). Pure;
// a resource's target is compiled once per resource object.
import { isLive } from '../api/v1alpha1/resource.ts';
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import { compileTarget, selectNamespace, type CompiledTarget, type Selectable } from '../controller/decide/selection.ts';
import type { AdmittedPod, NamespaceView } from './pod.ts';

/** Compiled targets by resource object: a cache's object is replaced, never changed, on update. */
const compiled = new WeakMap<ImagePullSecret, CompiledTarget | null>();

/** The compiled target of a resource that asks for injection and has a valid target; undefined otherwise. */
export function injectingTarget(ips: ImagePullSecret): CompiledTarget | undefined {
  if (ips.spec.target.pods?.inject !== true || !isLive(ips)) return undefined;
  let target = compiled.get(ips);
  if (target === undefined) {
    const result = compileTarget(ips.spec.target);
    target = result.ok ? result.value : null;
    compiled.set(ips, target);
  }
  return target ?? undefined;
}

const selectable = (o: { metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }): Selectable =>
  ({ name: o.metadata.name ?? '', labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {} });

export interface Selected {
  /** The Secret names of the resources that select the namespace, sorted, each once. */
  names: string[];
  /** Resources that might select it by namespace labels or annotations, when the namespace is unknown. */
  undecided: string[];
}

/**
 * The Secrets `resources` inject into `pod`. With `namespace` undefined (not in the cache yet), only the
 * name and pod rules are evaluated; resources that could still select it by labels or annotations are
 * listed as undecided.
 */
export function selectedSecrets(resources: readonly ImagePullSecret[], pod: AdmittedPod, namespace: NamespaceView | undefined): Selected {
  const names = new Set<string>();
  const undecided: string[] = [];
  const pods = [selectable(pod)];
  const ns = namespace ? selectable(namespace) : { name: pod.metadata.namespace, labels: {}, annotations: {} };
  for (const ips of resources) {
    const target = injectingTarget(ips);
    if (!target) continue;
    const known = namespace ? target : { ...target, namespaceLabels: [], namespaceAnnotations: [] };
    if (selectNamespace(known, ns, pods).selected) names.add(ips.spec.target.secret.name);
    else if (!namespace && target.namespaceLabels.length + target.namespaceAnnotations.length > 0) undecided.push(ips.metadata.name);
  }
  return { names: [...names].sort(), undecided: undecided.sort() };
}
