// The ImagePullSecret API (pullsecret-sync.dev/v1alpha1) as TypeScript types.
// Field names under spec.registry.credentials and spec.target are IMPS's, so an IMPS user migrates by
// changing apiVersion; everything else is an extension. The credential providers' sources are their own
// modules' types (credentials/registry.ts lists them).
import type { ProviderKind, ProviderSources } from '../../credentials/registry.ts';
import type { SecretReference } from '../../credentials/provider-module.ts';

export type { SecretReference } from '../../credentials/provider-module.ts';
export type { EcrSource } from '../../credentials/ecr.ts';
export type { GcpSource } from '../../credentials/gcp.ts';
export type { AzureSource } from '../../credentials/azure.ts';

export const GROUP = 'pullsecret-sync.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ImagePullSecret';
export const PLURAL = 'imagepullsecrets';
export const SINGULAR = 'imagepullsecret';
export const SHORT_NAME = 'ips';

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values?: string[];
}

/** A standard Kubernetes LabelSelector. `{}` matches everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

/** The same shape over annotations; values are arbitrary strings. `{}` matches everything. */
export interface AnnotationSelector {
  matchAnnotations?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

/** The sources of credentials: Secrets, and one list per credential provider (credentials/registry.ts). */
export interface Registry extends ProviderSources {
  credentials?: SecretReference[];
}

export interface NamespaceSelection {
  names?: string[];
  labels?: LabelSelector[];
  annotations?: AnnotationSelector[];
}

export interface PodSelection {
  labels?: LabelSelector[];
  annotations?: AnnotationSelector[];
}

export interface TargetSecret {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * Injection at pod admission: with `inject: true`, a pod created in a namespace the resource selects gets
 * the Secret's name added to its `spec.imagePullSecrets` when it lacks it (src/admission/).
 */
export interface PodInjection {
  inject: boolean;
}

export interface Target {
  namespaces?: NamespaceSelection;
  namespacesWithPods?: PodSelection;
  secret: TargetSecret;
  serviceAccounts?: { names: string[] };
  pods?: PodInjection;
}

export interface BuilderServiceAccount {
  namespace: string;
  /** `*` means any ServiceAccount of the namespace. */
  name: string;
}

export interface EcrRepositoryCreation {
  enabled: boolean;
  imageTagMutability?: 'MUTABLE' | 'IMMUTABLE';
  scanOnPush?: boolean;
  accessPolicy?: string;
  lifecyclePolicy?: string;
  tags?: { key: string; value: string }[];
}

export interface Builder {
  serviceAccounts: BuilderServiceAccount[];
  repositories?: string[];
  ecrRepositoryCreation?: EcrRepositoryCreation;
}

export interface ImagePullSecretSpec {
  registry: Registry;
  target: Target;
  builder?: Builder;
}

/** metav1.Condition */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type SourceKind = 'Secret' | ProviderKind;

export interface SourceStatus {
  /** Human reference, e.g. `Secret registry-access/dockerhub` or `ECR eu-central-1`. Never secret. */
  reference: string;
  kind: SourceKind;
  /**
   * The registries it provides, sorted; at most 100, and at most 1000 over all sources together
   * (registryCount has them all when some are left out).
   */
  registries: string[];
  registryCount?: number;
  expiresAt?: string;
  lastRefreshTime?: string;
  /**
   * Cloud sources: a digest of whom the token was fetched as (never secret), so a restarted daemon can
   * tell whether the token its Secrets carry still belongs to the identity the source names.
   */
  identity?: string;
  /** Empty when the source is healthy. At most 1024 characters. */
  message?: string;
  /**
   * Registries this source provides that an earlier source already provided, and other spellings of a
   * registry within this source (`r.io (auths key #2)`); the first 100.
   */
  shadowed?: string[];
}

export interface ConflictStatus {
  namespace: string;
  /** Who holds the Secret: `unmanaged` or `ImagePullSecret/<name>`. */
  holder: string;
}

export interface ImagePullSecretStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  managedNamespaces?: string[];
  managedNamespaceCount?: number;
  /** The first 200 sources in spec order (sourceCount says how many there are). */
  sources?: SourceStatus[];
  sourceCount?: number;
  conflicts?: ConflictStatus[];
  conflictCount?: number;
  lastSuccessfulReconciliation?: string;
  /** The earliest expiry among the sources that contribute entries; the `Expires` printer column. */
  expiresAt?: string;
  /** Seconds until expiresAt when status was last written (IMPS compatibility; never rewritten alone). */
  validitySeconds?: number;
}

export interface ObjectMeta {
  name: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ImagePullSecret {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: ImagePullSecretSpec;
  status?: ImagePullSecretStatus;
}
