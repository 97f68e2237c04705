// How a managed Secret is cached: its metadata and one verdict about its data, never the data itself
// (10,000 namespaces hold 10,000 copies of the same few kilobytes). The verdict is taken where the data is
// at hand, on every list item and watch event: `intact` says the Secret is a dockerconfigjson whose only
// key holds exactly the bytes its data-hash annotation names. So an edit of the bytes by anyone, with or
// without the annotation, while the daemon runs or while it is down, shows up as `intact: false` or a
// changed annotation, and the target reconciler rewrites the Secret. No resourceVersion bookkeeping, no
// GET to verify, nothing lost on restart.
import { DATA_HASH_ANNOTATION, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import { dataHash } from '../../dockerconfig/index.ts';
import { DOCKER_CONFIG_JSON, DOCKER_CONFIG_JSON_KEY, type ObjectMeta, type Secret } from '../../kube/objects.ts';
import type { KubeObject } from '../../kube/store.ts';

export interface ManagedSecret extends KubeObject {
  metadata: ObjectMeta;
  /** Type dockerconfigjson, one data key, and those bytes hash to the data-hash annotation. */
  intact: boolean;
}

/** The bytes of `.dockerconfigjson` when `secret` is a dockerconfigjson with that one key, else undefined. */
function soleDockerConfig(secret: Secret): string | undefined {
  const data = secret.data ?? {};
  const keys = Object.keys(data);
  if (secret.type !== DOCKER_CONFIG_JSON || keys.length !== 1 || !Object.hasOwn(data, DOCKER_CONFIG_JSON_KEY)) return undefined;
  return Buffer.from(data[DOCKER_CONFIG_JSON_KEY] ?? '', 'base64').toString('utf8');
}

/**
 * The cached form of a Secret from the API, plus its bytes when they are intact (for the builder front,
 * which keeps one copy per resource). Pure.
 */
export function toManagedSecret(obj: unknown): { secret: ManagedSecret; bytes?: string } {
  const s = obj as Secret;
  const m = s.metadata;
  const bytes = soleDockerConfig(s);
  const hash = m.annotations?.[DATA_HASH_ANNOTATION];
  const intact = bytes !== undefined && hash !== undefined && dataHash(bytes) === hash;
  const secret: ManagedSecret = {
    metadata: {
      name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion,
      labels: m.labels, annotations: m.annotations, ownerReferences: m.ownerReferences,
      ...(m.finalizers?.length ? { finalizers: m.finalizers } : {}),
    },
    intact,
  };
  return intact ? { secret, bytes } : { secret };
}

/**
 * The last intact bytes seen per owning resource: every Secret of one resource carries the same bytes, so
 * one copy serves the builder front on a replica that has not rendered them itself (a standby).
 */
export class WrittenBytes {
  private readonly byOwner = new Map<string, { hash: string; bytes: string }>();

  /** Records the bytes of an intact Secret. */
  observe(secret: ManagedSecret, bytes: string | undefined): void {
    const owner = secret.metadata.labels?.[OWNER_LABEL];
    const hash = secret.metadata.annotations?.[DATA_HASH_ANNOTATION];
    if (owner === undefined || hash === undefined || bytes === undefined) return;
    if (this.byOwner.get(owner)?.hash !== hash) this.byOwner.set(owner, { hash, bytes });
  }

  /** The bytes of `owner` when one of `secrets` (its Secrets now) still carries them intact. */
  of(owner: string, secrets: readonly ManagedSecret[]): string | undefined {
    const held = this.byOwner.get(owner);
    if (!held) return undefined;
    const current = secrets.some((s) => s.intact && s.metadata.annotations?.[DATA_HASH_ANNOTATION] === held.hash);
    if (!current && secrets.length === 0) this.byOwner.delete(owner);
    return current ? held.bytes : undefined;
  }
}
