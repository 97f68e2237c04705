// The world `plan` decides over: resources, namespaces, pods, Secrets and ServiceAccounts, from snapshot
// files (such as `kubectl get ns,pods,secrets,sa -A -o yaml`) or from the cluster with one list call per
// kind (each with a deadline), read-only either way.
import { API_VERSION, KIND, PLURAL, type ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import type { MetadataObject, Secret, ServiceAccount } from '../../kube/objects.ts';
import { isStatus, METADATA_LIST_ACCEPT, type KubeRest } from '../../kube/rest.ts';

export interface WorldParts {
  resources: ImagePullSecret[];
  namespaces: MetadataObject[];
  pods: MetadataObject[];
  secrets: Secret[];
  serviceAccounts: ServiceAccount[];
}

export interface World {
  resources: ImagePullSecret[];
  namespaces: MetadataObject[];
  podsIn(namespace: string): MetadataObject[];
  serviceAccountsIn(namespace: string): ServiceAccount[];
  /** A Secret by `namespace/name`. */
  secret(ref: string): Secret | undefined;
  /** Secrets labelled as managed by pullsecret-sync for `owner`. */
  managedSecretsOf(owner: string): Secret[];
}

export const emptyParts = (): WorldParts => ({ resources: [], namespaces: [], pods: [], secrets: [], serviceAccounts: [] });

function group<T extends MetadataObject>(items: readonly T[], key: (item: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    const list = out.get(k) ?? [];
    list.push(item);
    out.set(k, list);
  }
  return out;
}

/** A Secret the daemon manages: it carries the managed-by label. */
export const isManaged = (s: Secret): boolean => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;

export function buildWorld(parts: WorldParts): World {
  const ns = (o: MetadataObject) => o.metadata.namespace;
  const pods = group(parts.pods, ns);
  const serviceAccounts = group(parts.serviceAccounts, ns);
  const secrets = new Map(parts.secrets.map((s) => [`${s.metadata.namespace ?? ''}/${s.metadata.name}`, s]));
  const managed = group(parts.secrets.filter(isManaged),
    (s) => s.metadata.labels?.[OWNER_LABEL]);
  return {
    resources: parts.resources,
    namespaces: parts.namespaces,
    podsIn: (n) => pods.get(n) ?? [],
    serviceAccountsIn: (n) => serviceAccounts.get(n) ?? [],
    secret: (ref) => secrets.get(ref),
    managedSecretsOf: (owner) => managed.get(owner) ?? [],
  };
}

/** Sorts snapshot objects by kind; objects of other kinds are ignored. */
export function partsFromObjects(objects: readonly Record<string, unknown>[]): WorldParts {
  const parts = emptyParts();
  for (const obj of objects) {
    switch (`${String(obj.apiVersion)} ${String(obj.kind)}`) {
      case 'v1 Namespace': parts.namespaces.push(obj as unknown as MetadataObject); break;
      case 'v1 Pod': parts.pods.push(obj as unknown as MetadataObject); break;
      case 'v1 Secret': parts.secrets.push(obj as unknown as Secret); break;
      case 'v1 ServiceAccount': parts.serviceAccounts.push(obj as unknown as ServiceAccount); break;
      case `${API_VERSION} ${KIND}`: parts.resources.push(obj as unknown as ImagePullSecret); break;
      default: break;
    }
  }
  return parts;
}

async function list<T>(rest: KubeRest, path: string, metadataOnly = false): Promise<T[]> {
  // KubeRest's own deadline (30 s) bounds the call, its queueing and the answer.
  const answer = await rest.call<{ items?: T[] }>({ method: 'GET', path, ...(metadataOnly ? { accept: METADATA_LIST_ACCEPT } : {}) });
  return answer.items ?? [];
}

/** Reads from the cluster what `want` asks for: the resources, the other objects, or both. */
export async function partsFromCluster(rest: KubeRest, want: { resources: boolean; objects: boolean }): Promise<WorldParts> {
  const parts = emptyParts();
  if (want.resources) {
    const items = await list<ImagePullSecret>(rest, `/apis/${API_VERSION}/${PLURAL}`).catch((err: unknown) => {
      if (!isStatus(err, 404)) throw err;
      throw new Error(`the cluster serves no ${API_VERSION} ImagePullSecrets: install the CRD (crds/ or the Helm chart), or name resources with -f`, { cause: err });
    });
    parts.resources = items.map((r) => ({ ...r, apiVersion: API_VERSION, kind: KIND }));
  }
  if (want.objects) {
    [parts.namespaces, parts.pods, parts.secrets, parts.serviceAccounts] = await Promise.all([
      list<MetadataObject>(rest, '/api/v1/namespaces', true),
      list<MetadataObject>(rest, '/api/v1/pods', true),
      list<Secret>(rest, '/api/v1/secrets'),
      list<ServiceAccount>(rest, '/api/v1/serviceaccounts'),
    ]);
  }
  return parts;
}
