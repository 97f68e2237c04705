// What the controller watches, and how narrowly (STYLE principle 9): ImagePullSecrets; namespaces and
// pods as metadata only; Secrets only when they carry our managed-by label, cached without their data
// (managed-secret.ts); ServiceAccounts trimmed to their pull-secret list; and each source Secret a
// resource names, through a watch of its own.
import { API_VERSION, PLURAL, type ImagePullSecret } from '../api/v1alpha1/types.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../api/v1alpha1/labels.ts';
import { Informer, type InformerLog } from '../kube/informer.ts';
import type { MetadataObject, ServiceAccount } from '../kube/objects.ts';
import type { KubeRest } from '../kube/rest.ts';
import type { KubeObject } from '../kube/store.ts';
import { toManagedSecret, WrittenBytes, type ManagedSecret } from './managed-secret.ts';
import { SourceSecrets } from './source-secrets.ts';

export const BY_OWNER = 'owner';
export const BY_NAMESPACE = 'namespace';

export interface Caches {
  imagePullSecrets: Informer<ImagePullSecret>;
  namespaces: Informer<MetadataObject>;
  pods: Informer<MetadataObject>;
  managedSecrets: Informer<ManagedSecret>;
  /** The bytes of each resource's Secrets, one copy per resource, for the builder front. */
  writtenBytes: WrittenBytes;
  serviceAccounts: Informer<ServiceAccount>;
  sourceSecrets: SourceSecrets;
}

function metadataOf(obj: unknown): MetadataObject['metadata'] {
  const m = (obj as MetadataObject).metadata;
  return {
    name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion,
    creationTimestamp: m.creationTimestamp, deletionTimestamp: m.deletionTimestamp,
    labels: m.labels, annotations: m.annotations,
  };
}

/** Keeps only what selection needs: with 50,000 pods, every dropped field counts. */
const compact = (obj: unknown): MetadataObject => ({ metadata: metadataOf(obj) });

const namespaceOf = (obj: KubeObject): string[] => (obj.metadata?.namespace ? [obj.metadata.namespace] : []);

export interface CacheOptions {
  log?: InformerLog;
  minWatchTimeoutSeconds?: number;
}

export function createCaches(rest: KubeRest, opts: CacheOptions = {}): Caches {
  const common = { log: opts.log, minWatchTimeoutSeconds: opts.minWatchTimeoutSeconds };
  const writtenBytes = new WrittenBytes();
  const managedSecrets = new Informer<ManagedSecret>(rest, {
    ...common, resource: 'secrets', path: '/api/v1/secrets', labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    transform: (obj) => {
      const { secret, bytes } = toManagedSecret(obj);
      writtenBytes.observe(secret, bytes);
      return secret;
    },
  });
  managedSecrets.store.addIndex(BY_OWNER, (s) => {
    const owner = s.metadata.labels?.[OWNER_LABEL];
    return owner ? [owner] : [];
  });
  managedSecrets.store.addIndex(BY_NAMESPACE, namespaceOf);
  const pods = new Informer<MetadataObject>(rest, { ...common, resource: 'pods', path: '/api/v1/pods', metadataOnly: true, transform: compact });
  pods.store.addIndex(BY_NAMESPACE, namespaceOf);
  const serviceAccounts = new Informer<ServiceAccount>(rest, {
    ...common, resource: 'serviceaccounts', path: '/api/v1/serviceaccounts',
    transform: (obj) => ({ metadata: metadataOf(obj), imagePullSecrets: (obj as ServiceAccount).imagePullSecrets }),
  });
  serviceAccounts.store.addIndex(BY_NAMESPACE, namespaceOf);
  return {
    imagePullSecrets: new Informer<ImagePullSecret>(rest, { ...common, resource: PLURAL, path: `/apis/${API_VERSION}/${PLURAL}` }),
    namespaces: new Informer<MetadataObject>(rest, { ...common, resource: 'namespaces', path: '/api/v1/namespaces', metadataOnly: true, transform: compact }),
    pods,
    managedSecrets,
    writtenBytes,
    serviceAccounts,
    sourceSecrets: new SourceSecrets(rest, common),
  };
}

export function allInformers(c: Caches): Informer<KubeObject>[] {
  return [c.imagePullSecrets, c.namespaces, c.pods, c.managedSecrets, c.serviceAccounts] as unknown as Informer<KubeObject>[];
}
