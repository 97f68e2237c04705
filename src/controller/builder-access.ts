// What the builder front may know, read from the controller's caches (it satisfies the builder's
// BuilderAccess port structurally; the controller does not import the builder). Credentials come from the
// leader's in-memory render when there is one, else from the Secrets the resource wrote, which every
// replica's cache holds: a standby answers builders as well as the leader does, with no extra token fetch.
// Only Secrets that speak for the live resource (owned by its UID, its target name, a namespace its status
// lists; watch/managed-secret.ts) vouch for a payload, so a forged managed Secret changes no answer.
import { allowsServiceAccount, isLive } from '../api/v1alpha1/resource.ts';
import type { EcrSource, ImagePullSecret } from '../api/v1alpha1/types.ts';
import { payloadEntries, type AuthEntry } from '../dockerconfig/index.ts';
import type { SecretData } from '../credentials/index.ts';
import { BY_OWNER, type Caches } from './watch/caches.ts';
import { speaksFor } from './watch/managed-secret.ts';
import { secretData } from './decide/cloud-sources.ts';
import type { ControllerState } from './reconcile/state.ts';
import { refOf } from './decide/sources.ts';

export class BuilderView {
  constructor(private readonly caches: Caches, private readonly state: ControllerState) {}

  resourcesFor(sa: { namespace: string; name: string }): ImagePullSecret[] {
    return [...this.caches.imagePullSecrets.store.list()].filter((ips) => isLive(ips) && allowsServiceAccount(ips, sa));
  }

  credentials(name: string, registry: string): { entry: AuthEntry; expiresAt?: Date } | undefined {
    const entries = this.entriesOf(name);
    const entry = entries?.find((e) => e.registry === registry);
    if (!entry) return undefined;
    const ips = this.caches.imagePullSecrets.store.get(name);
    const source = ips?.status?.sources?.find((s) => s.registries.includes(registry) && !(s.shadowed ?? []).includes(registry));
    return { entry, ...(source?.expiresAt ? { expiresAt: new Date(source.expiresAt) } : {}) };
  }

  /** Calls `listener` with each deleted ServiceAccount, from the ServiceAccount watch every replica runs. */
  onServiceAccountDeleted(listener: (sa: { namespace: string; name: string; uid?: string }) => void): void {
    this.caches.serviceAccounts.on({
      delete: (sa) => {
        const { namespace, name, uid } = sa.metadata;
        if (namespace !== undefined) listener({ namespace, name, ...(uid === undefined ? {} : { uid }) });
      },
    });
  }

  /** The ECR source of `ips` for `region` and the data of its key Secret, for repository creation. */
  ecrSource(ips: ImagePullSecret, region: string): { source: EcrSource; secret?: SecretData } | undefined {
    const source = ips.spec.registry.ecr?.find((e) => e.region === region);
    if (!source) return undefined;
    if (!source.credentialsSecret) return { source };
    const state = this.caches.sourceSecrets.get(refOf(source.credentialsSecret));
    return state.kind === 'found' ? { source, secret: secretData(state.secret) } : undefined;
  }

  private entriesOf(name: string): AuthEntry[] | undefined {
    const rendered = this.state.peek(name)?.rendered;
    const data = typeof rendered === 'object' ? rendered.data : this.writtenPayload(name);
    return data === undefined ? undefined : payloadEntries(data);
  }

  /** The payload the resource's Secrets carry, vouched for by a Secret that speaks for the live resource. */
  private writtenPayload(name: string): string | undefined {
    const ips = this.caches.imagePullSecrets.store.get(name);
    if (!isLive(ips)) return undefined;
    return this.caches.writtenPayloads.of(name, this.caches.managedSecrets.store.byIndex(BY_OWNER, name), (s) => speaksFor(ips, s));
  }
}
