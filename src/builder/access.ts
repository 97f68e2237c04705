// The port through which the controller hands the builder front its data: which ImagePullSecrets let a
// ServiceAccount ask for credentials, the current merged credentials of each, and ECR repository creation.
// The builder front never reads the Kubernetes API for these; it asks this port on every request, so a
// refreshed token or an edited CR takes effect at once.
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import type { AuthEntry } from '../dockerconfig/index.ts';

export interface ServiceAccountRef { namespace: string; name: string }

export interface RegistryCredentials { entry: AuthEntry; expiresAt?: Date }

export interface BuilderAccess {
  /** Live ImagePullSecrets whose spec.builder.serviceAccounts allow `sa` (name "*" = any SA of the namespace). */
  resourcesFor(sa: ServiceAccountRef): ImagePullSecret[];
  /** The current merged credentials of resource `name` for canonical registry key `registry`, if any. */
  credentials(name: string, registry: string): RegistryCredentials | undefined;
  /** Calls `listener` whenever a ServiceAccount is deleted (watched), so cached authentications end at once. */
  onServiceAccountDeleted?(listener: (sa: ServiceAccountRef & { uid?: string }) => void): void;
}

export interface EcrRepositories {
  /** Ensures repository `repository` exists in the registry host's account/region with the settings. Idempotent. */
  ensure(ips: ImagePullSecret, host: string, repository: string): Promise<{ created: boolean }>;
}
