// ServiceAccount imagePullSecrets: the target Secret's name is added to the named
// ServiceAccounts of each selected namespace and removed again on deselection. An annotation on the
// ServiceAccount remembers which entries we added, so entries anyone else added are never touched.
// Pods admitted before the entry lands do not get it: that race is inherent to patching ServiceAccounts.
import { ADDED_PULL_SECRETS_ANNOTATION } from '../../api/v1alpha1/labels.ts';
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import type { ServiceAccount } from '../../kube/objects.ts';
import { isStatus } from '../../kube/rest.ts';
import type { Writes } from '../../kube/writes.ts';
import { BY_NAMESPACE, type Caches } from '../watch/caches.ts';

export interface PullSecretPlan {
  imagePullSecrets: { name: string }[];
  /** New annotation value; null removes the annotation. */
  added: string | null;
}

function parseAdded(sa: ServiceAccount): Set<string> {
  const raw = sa.metadata.annotations?.[ADDED_PULL_SECRETS_ANNOTATION] ?? '';
  return new Set(raw.split(',').map((s) => s.trim()).filter(Boolean));
}

/** The change to `sa` that makes `secretName` present or absent; undefined when none is needed. Pure. */
export function planPullSecrets(sa: ServiceAccount, secretName: string, present: boolean): PullSecretPlan | undefined {
  const list = sa.imagePullSecrets ?? [];
  const has = list.some((e) => e.name === secretName);
  const added = parseAdded(sa);
  if (present && has) return undefined;
  if (!present && !(has && added.has(secretName))) return undefined;
  if (present) added.add(secretName);
  else added.delete(secretName);
  const imagePullSecrets = present ? [...list, { name: secretName }] : list.filter((e) => e.name !== secretName);
  return { imagePullSecrets, added: added.size ? [...added].sort().join(',') : null };
}

export function wantsServiceAccount(ips: ImagePullSecret, saName: string): boolean {
  const names = ips.spec.target.serviceAccounts?.names ?? [];
  return names.includes('*') || names.includes(saName);
}

export class ServiceAccountSync {
  constructor(private readonly caches: Caches, private readonly writes: Writes) {}

  /** Brings every ServiceAccount of `namespace` in line with the resource; `selected` is the namespace's state. */
  async sync(ips: ImagePullSecret, namespace: string, selected: boolean): Promise<void> {
    await this.apply(namespace, ips.spec.target.secret.name, (sa) => selected && wantsServiceAccount(ips, sa.metadata.name));
  }

  /**
   * Removes the entries we added for Secret `secretName` from every ServiceAccount of `namespace`: called
   * before a Secret of ours is deleted (deselection, or its old name after a rename), so that a failed
   * patch is retried while the Secret still shows which name to remove.
   */
  async remove(namespace: string, secretName: string): Promise<void> {
    await this.apply(namespace, secretName, () => false);
  }

  private async apply(namespace: string, secretName: string, present: (sa: ServiceAccount) => boolean): Promise<void> {
    for (const sa of this.caches.serviceAccounts.store.byIndex(BY_NAMESPACE, namespace)) {
      const plan = planPullSecrets(sa, secretName, present(sa));
      if (!plan) continue;
      try {
        await this.writes.patchServiceAccount(sa, plan.imagePullSecrets, { [ADDED_PULL_SECRETS_ANNOTATION]: plan.added });
      } catch (err) {
        if (!isStatus(err, 404)) throw err; // 409: the cache was stale; the retry reads it again.
      }
    }
  }
}
