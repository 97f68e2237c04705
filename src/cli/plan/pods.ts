// Injection at admission in `plan`: which existing pods lack a resource's entry. A pod's
// `spec.imagePullSecrets` cannot change once it is admitted, so these are the pods that would get the
// entry if they were created now (and will, when their controller re-creates them). Decided by the
// admission rule itself (admission/decide.ts), with the resource as the only one. Pure over a World.
import { decidePodAdmission } from '../../admission/decide.ts';
import type { AdmittedPod } from '../../admission/pod.ts';
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import type { PodObject, World } from './world.ts';

/** The daemon's --namespace default. */
export const DEFAULT_DAEMON_NAMESPACE = 'pullsecret-sync';

function admitted(pod: PodObject, namespace: string): AdmittedPod {
  const { name, labels, annotations } = pod.metadata;
  return { metadata: { name, namespace, labels, annotations }, spec: { imagePullSecrets: pod.spec?.imagePullSecrets ?? undefined } };
}

/** The pods (not being deleted, in namespaces not being deleted) the rule would add `ips`'s Secret to. */
export function podsLackingEntry(world: World, ips: ImagePullSecret, daemonNamespace: string): { namespace: string; name: string }[] {
  if (ips.spec.target.pods?.inject !== true) return [];
  const secret = ips.spec.target.secret.name;
  const out: { namespace: string; name: string }[] = [];
  for (const ns of world.namespaces) {
    if (ns.metadata.deletionTimestamp) continue;
    const namespace = ns.metadata.name;
    for (const pod of world.podsIn(namespace)) {
      if (pod.metadata.deletionTimestamp) continue;
      const d = decidePodAdmission({ pod: admitted(pod, namespace), namespace: ns, resources: [ips], ownNamespace: daemonNamespace });
      if (d.add.includes(secret)) out.push({ namespace, name: pod.metadata.name });
    }
  }
  return out.sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
}
