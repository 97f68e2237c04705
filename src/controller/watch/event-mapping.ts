// Event-to-key mappers: each watch event becomes the few keys it can affect. They read
// caches only and never write. A namespace or pod event touches (resource, namespace) pairs, never every
// namespace of every resource.
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import type { MetadataObject, Secret, ServiceAccount } from '../../kube/objects.ts';
import { BY_NAMESPACE, BY_OWNER, type Caches } from './caches.ts';
import { ipsKey, targetKey } from './keys.ts';
import type { SelectionCache } from '../decide/selection-cache.ts';

export interface Enqueue {
  /** Queues `key` now, or in `afterMs` unless it is queued sooner. */
  (key: string, afterMs?: number): void;
}

/**
 * How long the first write into a namespace that just appeared waits. The API server's NamespaceLifecycle
 * admission answers a create in a namespace its own informer has not seen yet by sleeping 50 ms and
 * looking again (k8s.io/apiserver, missingNamespaceWait); the daemon's watch often hears of a new namespace
 * before that informer does, so writing at once cost 50 ms on 6 % of new namespaces. Waiting a few
 * milliseconds costs those few instead (BENCHMARKS.md, "New namespace → Secret").
 */
export const NEW_NAMESPACE_GRACE_MS = 10;

function resources(caches: Caches): IterableIterator<ImagePullSecret> {
  return caches.imagePullSecrets.store.list();
}

function holdsSecretIn(caches: Caches, name: string, namespace: string): boolean {
  return caches.managedSecrets.store.byIndex(BY_NAMESPACE, namespace).some((s) => s.metadata.labels?.[OWNER_LABEL] === name);
}

/** Status-only updates (same generation, same deletion state and finalizers) need no reconcile. */
export function resourceChanged(oldObj: ImagePullSecret, newObj: ImagePullSecret): boolean {
  const a = oldObj.metadata;
  const b = newObj.metadata;
  return a.generation !== b.generation || a.deletionTimestamp !== b.deletionTimestamp || a.uid !== b.uid
    || JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? [])
    || a.creationTimestamp !== b.creationTimestamp;
}

export function wireEvents(caches: Caches, selection: SelectionCache, enqueue: Enqueue): void {
  caches.imagePullSecrets.on({
    add: (o) => { enqueue(ipsKey(o.metadata.name)); },
    update: (o, n) => { if (resourceChanged(o, n)) enqueue(ipsKey(n.metadata.name)); },
    delete: (o) => {
      selection.forget(o.metadata.name);
      enqueue(ipsKey(o.metadata.name));
    },
  });

  const onNamespace = (ns: MetadataObject, afterMs?: number) => {
    for (const ips of resources(caches)) {
      const name = ips.metadata.name;
      if (selection.selects(ips, ns) === true || holdsSecretIn(caches, name, ns.metadata.name)) enqueue(targetKey(name, ns.metadata.name), afterMs);
    }
  };
  caches.namespaces.on({ add: (ns) => { onNamespace(ns, NEW_NAMESPACE_GRACE_MS); }, update: (_, n) => { onNamespace(n); }, delete: (ns) => { onNamespace(ns); } });

  const onPod = (pods: MetadataObject[]) => {
    const namespace = pods[0]?.metadata.namespace;
    if (!namespace) return;
    for (const ips of resources(caches)) {
      if (pods.some((p) => selection.podMatters(ips, p))) enqueue(targetKey(ips.metadata.name, namespace));
    }
  };
  caches.pods.on({ add: (p) => { onPod([p]); }, update: (o, n) => { onPod([o, n]); }, delete: (p) => { onPod([p]); } });
  // While the pod watch listed, pod-only decisions waited: take them now, for every namespace with pods
  // and every namespace a pod-selecting resource holds a Secret in.
  caches.pods.onSynced(() => {
    const withPods = [...caches.pods.store.indexValues(BY_NAMESPACE)];
    for (const ips of resources(caches)) {
      if (!selection.usesPods(ips)) continue;
      const name = ips.metadata.name;
      for (const s of caches.managedSecrets.store.byIndex(BY_OWNER, name)) if (s.metadata.namespace) enqueue(targetKey(name, s.metadata.namespace));
      for (const namespace of withPods) {
        const ns = caches.namespaces.store.get(namespace);
        if (ns && selection.selects(ips, ns) === true) enqueue(targetKey(name, namespace));
      }
    }
  });

  // The owner repairs drift; every other resource that wants this name here may be waiting for it
  // (a younger resource takes over when the older one lets go).
  const onManagedSecret = (s: Secret) => {
    const namespace = s.metadata.namespace;
    if (!namespace) return;
    const owner = s.metadata.labels?.[OWNER_LABEL];
    if (owner) enqueue(targetKey(owner, namespace));
    for (const ips of resources(caches)) {
      if (ips.metadata.name !== owner && ips.spec.target.secret.name === s.metadata.name) enqueue(targetKey(ips.metadata.name, namespace));
    }
  };
  caches.managedSecrets.on({ add: onManagedSecret, update: (_, n) => { onManagedSecret(n); }, delete: onManagedSecret });

  const onServiceAccount = (sa: ServiceAccount) => {
    const namespace = sa.metadata.namespace ?? '';
    for (const ips of resources(caches)) {
      if (ips.spec.target.serviceAccounts?.names.length && holdsSecretIn(caches, ips.metadata.name, namespace)) {
        enqueue(targetKey(ips.metadata.name, namespace));
      }
    }
  };
  caches.serviceAccounts.on({ add: onServiceAccount, update: (_, n) => { onServiceAccount(n); } });

  caches.sourceSecrets.onChange((ref) => {
    for (const name of caches.sourceSecrets.usersOf(ref)) enqueue(ipsKey(name));
  });
}
