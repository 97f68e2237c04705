// What the admission webhook may know, read from the controller's caches (it satisfies the webhook's
// AdmissionPort structurally; the controller does not import the webhook). Every replica keeps these
// caches warm, so a standby answers admissions as well as the leader, and nothing here calls the API
// server. Which pod gets which entry is the admission rule's (src/admission/).
import { isLive, olderFirst } from '../api/v1alpha1/resource.ts';
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import type { MetadataObject } from '../kube/objects.ts';
import { BY_OWNER, type Caches } from './watch/caches.ts';

/** Whether the resource asks for injection at pod admission. */
export function injects(ips: ImagePullSecret): boolean {
  return isLive(ips) && ips.spec.target.pods?.inject === true;
}

export class AdmissionView {
  constructor(private readonly caches: Caches, readonly ownNamespace: string) {}

  namespace(name: string): MetadataObject | undefined {
    return this.caches.namespaces.store.get(name);
  }

  resources(): ImagePullSecret[] {
    return [...this.caches.imagePullSecrets.store.list()];
  }

  unwritten(namespace: string, secrets: readonly string[]): string[] {
    return this.injecting().filter((ips) => secrets.includes(ips.spec.target.secret.name)
      && !this.caches.managedSecrets.store.byIndex(BY_OWNER, ips.metadata.name)
        .some((s) => s.metadata.namespace === namespace && s.metadata.name === ips.spec.target.secret.name))
      .map((ips) => ips.metadata.name);
  }

  /** Live resources asking for injection, oldest first. */
  injecting(): ImagePullSecret[] {
    return this.resources().filter(injects).sort(olderFirst);
  }
}
