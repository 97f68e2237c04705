// Selection with compiled selectors: a resource's target is validated and compiled once per generation,
// so matching a namespace or a pod on every event costs a few map lookups.
import { validateSpec } from '../../api/v1alpha1/validation.ts';
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import type { MetadataObject } from '../../kube/objects.ts';
import { BY_NAMESPACE, type Caches } from '../watch/caches.ts';
import { compileTarget, podMatches, selectNamespace, usesPods, type CompiledTarget } from './selection.ts';

interface Entry {
  generation: string;
  target?: CompiledTarget;
  problems: string[];
}

export class SelectionCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly caches: Caches) {}

  private entry(ips: ImagePullSecret): Entry {
    const generation = `${ips.metadata.uid ?? ''}/${ips.metadata.generation ?? 0}`;
    const cached = this.entries.get(ips.metadata.name);
    if (cached?.generation === generation) return cached;
    const problems = validateSpec(ips.spec).map((i) => `${i.path}: ${i.message}`);
    const compiled = compileTarget(ips.spec.target);
    // validateSpec already covers the target: compiling reports the same problems again, never others.
    const entry: Entry = compiled.ok ? { generation, target: compiled.value, problems } : { generation, problems };
    this.entries.set(ips.metadata.name, entry);
    return entry;
  }

  /** Validation problems of the resource's spec, as user-facing messages. */
  problems(ips: ImagePullSecret): string[] {
    return this.entry(ips).problems;
  }

  /**
   * Whether the resource selects the namespace; undefined when its selection is invalid, or when only
   * the pods could tell and the pod watch is still listing (the caller waits rather than deselect).
   */
  selects(ips: ImagePullSecret, namespace: MetadataObject): boolean | undefined {
    const entry = this.entry(ips);
    if (!entry.target || entry.problems.length) return undefined;
    const byPods = usesPods(entry.target);
    const pods = byPods ? this.caches.pods.store.byIndex(BY_NAMESPACE, namespace.metadata.name) : [];
    const selected = selectNamespace(entry.target, toSelectable(namespace), pods.map(toSelectable)).selected;
    return selected || !byPods || (this.caches.pods.running && this.caches.pods.hasSynced()) ? selected : undefined;
  }

  /** Whether the resource's selection looks at pods. */
  usesPods(ips: ImagePullSecret): boolean {
    const target = this.entry(ips).target;
    return target !== undefined && usesPods(target);
  }

  /** Whether `pod` matters to the resource's pod selection (so a pod event needs a look). */
  podMatters(ips: ImagePullSecret, pod: MetadataObject): boolean {
    const entry = this.entry(ips);
    return entry.target !== undefined && usesPods(entry.target) && podMatches(entry.target, toSelectable(pod));
  }

  forget(name: string): void {
    this.entries.delete(name);
  }
}

function toSelectable(obj: MetadataObject) {
  return { name: obj.metadata.name, labels: obj.metadata.labels ?? {}, annotations: obj.metadata.annotations ?? {},
    terminating: obj.metadata.deletionTimestamp !== undefined };
}
