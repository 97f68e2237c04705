// What the admission webhook may know, read from the controller's caches (it satisfies the webhook's
// AdmissionPort structurally; the controller does not import the webhook). Every replica keeps these
// caches warm, so a standby answers admissions as well as the leader, and nothing here calls the API
// server. A resource injects when it is live, asks for it (spec.target.pods.inject) and selects the
// namespace, the pod being admitted counting for its pod rules.
import { isLive, olderFirst } from '../api/v1alpha1/resource.ts';
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import type { MetadataObject } from '../kube/objects.ts';
import { BY_OWNER, type Caches } from './watch/caches.ts';
import type { SelectionCache } from './decide/selection-cache.ts';

interface NamespaceMeta {
  name: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

interface Injection { resource: string; secret: string; written: boolean }

/** Whether the resource asks for injection at pod admission. */
export function injects(ips: ImagePullSecret): boolean {
  return ips.spec.target.pods?.inject === true;
}

export class AdmissionView {
  constructor(private readonly caches: Caches, private readonly selection: SelectionCache) {}

  namespace(name: string): NamespaceMeta | undefined {
    const ns = this.caches.namespaces.store.get(name);
    if (!ns) return undefined;
    return { name, labels: ns.metadata.labels ?? {}, annotations: ns.metadata.annotations ?? {} };
  }

  injections(namespace: NamespaceMeta, pod: { labels: Readonly<Record<string, string>>; annotations: Readonly<Record<string, string>> }): Injection[] {
    const ns: MetadataObject = { metadata: { name: namespace.name, labels: { ...namespace.labels }, annotations: { ...namespace.annotations } } };
    const candidate: MetadataObject = { metadata: { name: '', namespace: namespace.name, labels: { ...pod.labels }, annotations: { ...pod.annotations } } };
    const out: Injection[] = [];
    for (const ips of this.injecting()) {
      if (!this.selection.selectsWithPod(ips, ns, candidate)) continue;
      const secret = ips.spec.target.secret.name;
      const written = this.caches.managedSecrets.store.byIndex(BY_OWNER, ips.metadata.name)
        .some((s) => s.metadata.namespace === namespace.name && s.metadata.name === secret);
      out.push({ resource: ips.metadata.name, secret, written });
    }
    return out;
  }

  /** Live resources asking for injection, oldest first. */
  injecting(): ImagePullSecret[] {
    return [...this.caches.imagePullSecrets.store.list()].filter((ips) => isLive(ips) && injects(ips)).sort(olderFirst);
  }
}
