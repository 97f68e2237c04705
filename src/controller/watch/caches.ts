// What the controller watches, and how narrowly: ImagePullSecrets; namespaces as
// metadata only; pods as metadata only, only while a resource selects by pods, and with only the label
// and annotation keys pod selectors name (watch-needs.ts); Secrets only when they carry our managed-by
// label, cached without their data (managed-secret.ts); ServiceAccounts only while a resource patches
// them (or one still carries entries we added), trimmed to their pull-secret list; and each source
// Secret a resource names, through a watch of its own.
import { API_VERSION, PLURAL, type ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { ADDED_PULL_SECRETS_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import { Informer, type InformerLog } from '../../kube/informer.ts';
import type { MetadataObject, ServiceAccount } from '../../kube/objects.ts';
import type { KubeRest } from '../../kube/rest.ts';
import { OnDemandInformer } from '../../kube/on-demand-informer.ts';
import type { KubeObject } from '../../kube/store.ts';
import { ownedBy, toManagedSecret, WrittenPayloads, type ManagedSecret } from './managed-secret.ts';
import { SourceSecrets } from './source-secrets.ts';
import { pick, type PodKeys } from './watch-needs.ts';

export const BY_OWNER = 'owner';
export const BY_NAMESPACE = 'namespace';
/** ServiceAccounts that carry entries the daemon added (the annotation that lists them). */
export const WITH_ADDED = 'with-added';

export interface Caches {
  imagePullSecrets: Informer<ImagePullSecret>;
  namespaces: Informer<MetadataObject>;
  pods: OnDemandInformer<MetadataObject, PodKeys>;
  managedSecrets: Informer<ManagedSecret>;
  /** The payload of each resource's Secrets, one copy per resource, for the builder front and the renders. */
  writtenPayloads: WrittenPayloads;
  serviceAccounts: OnDemandInformer<ServiceAccount>;
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

/** A pod as pod selection sees it: name, namespace, version, Terminating, and the keys selectors name. */
function podProjection(keys: PodKeys): (obj: unknown) => MetadataObject {
  return (obj) => {
    const m = (obj as MetadataObject).metadata;
    const labels = pick(m.labels, keys.labels);
    const annotations = pick(m.annotations, keys.annotations);
    return { metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}), ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) } };
  };
}

/** What /readyz, /healthz and start-up ask of every watch, on-demand ones included. */
export interface Watch {
  readonly resource: string;
  start(): void;
  stop(): Promise<void>;
  hasSynced(): boolean;
  whenSynced(): Promise<void>;
  sinceProgress(): number;
  stallThresholdMs(): number;
}

const namespaceOf = (obj: KubeObject): string[] => (obj.metadata?.namespace ? [obj.metadata.namespace] : []);

export interface CacheOptions {
  log?: InformerLog;
  minWatchTimeoutSeconds?: number;
}

export function createCaches(rest: KubeRest, opts: CacheOptions = {}): Caches {
  const common = { log: opts.log, minWatchTimeoutSeconds: opts.minWatchTimeoutSeconds };
  const writtenPayloads = new WrittenPayloads();
  const imagePullSecrets = new Informer<ImagePullSecret>(rest, { ...common, resource: PLURAL, path: `/apis/${API_VERSION}/${PLURAL}` });
  imagePullSecrets.on({ delete: (ips) => { writtenPayloads.forget(ips.metadata.name); } });
  const managedSecrets = new Informer<ManagedSecret>(rest, {
    ...common, resource: 'secrets', path: '/api/v1/secrets', labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    transform: (obj) => {
      const { secret, data } = toManagedSecret(obj);
      const owner = secret.metadata.labels?.[OWNER_LABEL];
      const ips = owner === undefined ? undefined : imagePullSecrets.store.get(owner);
      writtenPayloads.observe(secret, data, ips && ownedBy(ips, secret));
      return secret;
    },
  });
  managedSecrets.store.addIndex(BY_OWNER, (s) => {
    const owner = s.metadata.labels?.[OWNER_LABEL];
    return owner ? [owner] : [];
  });
  managedSecrets.store.addIndex(BY_NAMESPACE, namespaceOf);
  const pods = new OnDemandInformer<MetadataObject, PodKeys>('pods', (keys) => new Informer<MetadataObject>(rest, {
    ...common, resource: 'pods', path: '/api/v1/pods', metadataOnly: true, transform: podProjection(keys),
  }), (keys) => keys.key);
  pods.addIndex(BY_NAMESPACE, namespaceOf);
  const serviceAccounts = new OnDemandInformer<ServiceAccount>('serviceaccounts', () => new Informer<ServiceAccount>(rest, {
    ...common, resource: 'serviceaccounts', path: '/api/v1/serviceaccounts',
    transform: (obj) => ({ metadata: metadataOf(obj), imagePullSecrets: (obj as ServiceAccount).imagePullSecrets }),
  }));
  serviceAccounts.addIndex(BY_NAMESPACE, namespaceOf);
  serviceAccounts.addIndex(WITH_ADDED, (sa) => (sa.metadata.annotations?.[ADDED_PULL_SECRETS_ANNOTATION] ? ['yes'] : []));
  return {
    imagePullSecrets,
    namespaces: new Informer<MetadataObject>(rest, { ...common, resource: 'namespaces', path: '/api/v1/namespaces', metadataOnly: true, transform: compact }),
    pods,
    managedSecrets,
    writtenPayloads,
    serviceAccounts,
    sourceSecrets: new SourceSecrets(rest, common),
  };
}

/** Every watch but the source Secrets' (SourceSecrets reports those itself). */
export function allInformers(c: Caches): Watch[] {
  return [c.imagePullSecrets, c.namespaces, c.pods, c.managedSecrets, c.serviceAccounts];
}
