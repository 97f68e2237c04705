// The writes the controller makes, each one request with optimistic concurrency where it replaces.
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/v1alpha1/labels.ts';
import type { ObjectMeta, Secret, ServiceAccount } from './objects.ts';
import { METADATA_LIST_ACCEPT, type KubeRest, type RequestSpec } from './rest.ts';

const secretsPath = (namespace: string) => `/api/v1/namespaces/${namespace}/secrets`;

export class Writes {
  /** `signal` cancels every call these writes make (a reconcile's, so a shutdown ends them at once). */
  constructor(private readonly rest: KubeRest, private readonly fieldManager = 'pullsecret-sync', private readonly signal?: AbortSignal) {}

  /** The same writes, each cancelled when `signal` aborts. */
  under(signal: AbortSignal): Writes {
    return new Writes(this.rest, this.fieldManager, signal);
  }

  private call<T>(spec: RequestSpec): Promise<T> {
    return this.rest.call<T>(this.signal ? { ...spec, signal: this.signal } : spec);
  }

  createSecret(secret: Secret): Promise<Secret> {
    return this.call<Secret>({ method: 'POST', path: secretsPath(secret.metadata.namespace ?? ''), body: secret,
      query: { fieldManager: this.fieldManager } });
  }

  /**
   * Whether Secret `name` in `namespace` carries our managed-by label, read live (metadata only, by list:
   * no `get` permission needed). After a create answered 409 it tells our own Secret, not yet in the
   * watch cache, from someone else's.
   */
  async isManagedSecret(namespace: string, name: string): Promise<boolean> {
    const page = await this.call<{ items?: unknown[] }>({ method: 'GET', path: secretsPath(namespace),
      accept: METADATA_LIST_ACCEPT,
      query: { fieldSelector: `metadata.name=${name}`, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` } });
    return (page.items?.length ?? 0) > 0;
  }

  /**
   * The metadata of Secret `name` in `namespace`, read live (metadata only, by list: no `get` permission
   * needed, and no data read); undefined when there is none.
   */
  async secretMetadata(namespace: string, name: string): Promise<ObjectMeta | undefined> {
    const page = await this.call<{ items?: { metadata: ObjectMeta }[] }>({ method: 'GET', path: secretsPath(namespace),
      accept: METADATA_LIST_ACCEPT, query: { fieldSelector: `metadata.name=${name}` } });
    return page.items?.[0]?.metadata;
  }

  /** PUT with the resourceVersion the caller read: a concurrent change fails with 409 and is retried. */
  replaceSecret(secret: Secret): Promise<Secret> {
    return this.call<Secret>({ method: 'PUT', path: `${secretsPath(secret.metadata.namespace ?? '')}/${secret.metadata.name}`,
      body: secret, query: { fieldManager: this.fieldManager } });
  }

  /** Deletes only the object with this uid, so a Secret recreated by someone else in between survives. */
  deleteSecret(secret: Secret): Promise<unknown> {
    return this.call({ method: 'DELETE', path: `${secretsPath(secret.metadata.namespace ?? '')}/${secret.metadata.name}`,
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: secret.metadata.uid } } });
  }

  /** Merge patch guarded by resourceVersion; `imagePullSecrets` is replaced as a whole. */
  patchServiceAccount(sa: ServiceAccount, imagePullSecrets: { name: string }[], annotations: Record<string, string | null>): Promise<unknown> {
    return this.call({
      method: 'PATCH', path: `/api/v1/namespaces/${sa.metadata.namespace ?? ''}/serviceaccounts/${sa.metadata.name}`,
      contentType: 'application/merge-patch+json', query: { fieldManager: this.fieldManager },
      body: { metadata: { resourceVersion: sa.metadata.resourceVersion, annotations }, imagePullSecrets },
    });
  }

  /** Merge patch of a cluster-scoped custom resource's metadata, guarded by resourceVersion. */
  patchClusterObject(path: string, resourceVersion: string | undefined, metadata: Record<string, unknown>): Promise<unknown> {
    return this.call({ method: 'PATCH', path, contentType: 'application/merge-patch+json',
      query: { fieldManager: this.fieldManager }, body: { metadata: { ...metadata, resourceVersion } } });
  }

  /** Creates a cluster-scoped object in the collection at `collection`. */
  createClusterObject<T extends { metadata: ObjectMeta }>(collection: string, obj: T): Promise<T> {
    return this.call<T>({ method: 'POST', path: collection, body: obj, query: { fieldManager: this.fieldManager } });
  }

  /** PUT of a cluster-scoped object: guarded by the resourceVersion it carries, unconditional without one. */
  replaceClusterObject<T extends { metadata: ObjectMeta }>(collection: string, obj: T): Promise<T> {
    return this.call<T>({ method: 'PUT', path: `${collection}/${obj.metadata.name}`, body: obj, query: { fieldManager: this.fieldManager } });
  }

  /** Deletes only the object with this uid, so one recreated by someone else in between survives. */
  deleteClusterObject(collection: string, name: string, uid: string | undefined): Promise<unknown> {
    return this.call({ method: 'DELETE', path: `${collection}/${name}`,
      body: { apiVersion: 'v1', kind: 'DeleteOptions', ...(uid ? { preconditions: { uid } } : {}) } });
  }

  /** Replaces the status subresource (merge patch of `status` only). */
  patchStatus(path: string, status: unknown): Promise<unknown> {
    return this.call({ method: 'PATCH', path: `${path}/status`, contentType: 'application/merge-patch+json',
      query: { fieldManager: this.fieldManager }, body: { status } });
  }
}
