// The world `plan` decides over: resources, namespaces, pods, Secrets and ServiceAccounts, from snapshot
// files (such as `kubectl get ns,pods,secrets,sa -A -o yaml`) or from the cluster, read-only either way.
// From the cluster, lists are paged (500 a page, each page with KubeRest's deadline), and Secret data is
// read only where plan needs it: every Secret as metadata only (a name taken by someone else is a
// conflict), the Secrets the daemon manages and those IMPS holds (by label) with their data, and each
// source Secret a resource names, by name (secretsFromCluster). No other Secret's data is fetched.
import { API_VERSION, KIND, PLURAL, type ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import type { MetadataObject, Secret, ServiceAccount } from '../../kube/objects.ts';
import { isStatus, METADATA_LIST_ACCEPT, type KubeRest } from '../../kube/rest.ts';
import { IMPS_OWNER_UID_LABEL } from '../../controller/decide/imps-adoption.ts';
import { refOf } from '../../controller/decide/sources.ts';

/** A pod as `plan` reads it: metadata, and the pull Secrets of its spec when injection is planned. */
export interface PodObject extends MetadataObject {
  spec?: { imagePullSecrets?: { name?: string }[] | null };
}

export interface WorldParts {
  resources: ImagePullSecret[];
  namespaces: MetadataObject[];
  pods: PodObject[];
  secrets: Secret[];
  serviceAccounts: ServiceAccount[];
}

export interface World {
  resources: ImagePullSecret[];
  namespaces: MetadataObject[];
  podsIn(namespace: string): PodObject[];
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
      case 'v1 Pod': parts.pods.push(obj as unknown as PodObject); break;
      case 'v1 Secret': parts.secrets.push(obj as unknown as Secret); break;
      case 'v1 ServiceAccount': parts.serviceAccounts.push(obj as unknown as ServiceAccount); break;
      case `${API_VERSION} ${KIND}`: parts.resources.push(obj as unknown as ImagePullSecret); break;
      default: break;
    }
  }
  return parts;
}

const PAGE = 500;

/** Every page of a collection; KubeRest's own deadline (30 s) bounds each page, its queueing and the answer. */
async function list<T>(rest: KubeRest, path: string, metadataOnly = false, labelSelector?: string): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const page = await rest.call<{ items?: T[]; metadata?: { continue?: string } }>({
      method: 'GET', path, query: { limit: PAGE, continue: cont, labelSelector }, ...(metadataOnly ? { accept: METADATA_LIST_ACCEPT } : {}),
    });
    items.push(...(page.items ?? []));
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return items;
}

const secretKey = (s: Secret): string => `${s.metadata.namespace ?? ''}/${s.metadata.name}`;

/**
 * The Secrets `resources` may decide over: all of them as metadata only, overlaid with the full objects
 * of the managed ones, IMPS's, and the source Secrets the resources name (a missing one is left out).
 */
export async function secretsFromCluster(rest: KubeRest, resources: readonly ImagePullSecret[]): Promise<Secret[]> {
  const sources = [...new Set(resources.flatMap((r) => (r.spec.registry.credentials ?? []).map(refOf)))];
  const [all, managed, imps, named] = await Promise.all([
    list<Secret>(rest, '/api/v1/secrets', true),
    list<Secret>(rest, '/api/v1/secrets', false, `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`),
    list<Secret>(rest, '/api/v1/secrets', false, IMPS_OWNER_UID_LABEL),
    Promise.all(sources.map((ref) => {
      const [namespace, name] = ref.split('/');
      return rest.call<Secret>({ method: 'GET', path: `/api/v1/namespaces/${namespace ?? ''}/secrets/${name ?? ''}` })
        .catch((err: unknown) => { if (isStatus(err, 404)) return undefined; throw err; });
    })),
  ]);
  const byKey = new Map(all.map((s) => [secretKey(s), s]));
  for (const s of [...managed, ...imps, ...named]) if (s) byKey.set(secretKey(s), s);
  return [...byKey.values()];
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
    // The pods and Secrets follow once the resources are known (podsFromCluster, secretsFromCluster).
    [parts.namespaces, parts.serviceAccounts] = await Promise.all([
      list<MetadataObject>(rest, '/api/v1/namespaces', true),
      list<ServiceAccount>(rest, '/api/v1/serviceaccounts'),
    ]);
  }
  return parts;
}

/**
 * Every pod: as metadata only, unless a resource asks for injection at admission, whose plan needs each
 * pod's `spec.imagePullSecrets` (the API has no projection: then the whole pods are read).
 */
export async function podsFromCluster(rest: KubeRest, resources: readonly ImagePullSecret[]): Promise<PodObject[]> {
  const full = resources.some((r) => r.spec.target.pods?.inject === true);
  return list<PodObject>(rest, '/api/v1/pods', !full);
}
