// How a managed Secret is cached: its metadata and one verdict about its data, never the data itself
// (10,000 namespaces hold 10,000 copies of the same few kilobytes). The verdict is taken where the data is
// at hand, on every list item and watch event: `intact` says the Secret is a dockerconfigjson whose only
// key holds exactly the bytes its data-hash annotation names. So an edit of the bytes by anyone, with or
// without the annotation, while the daemon runs or while it is down, shows up as `intact: false` or a
// changed annotation, and the target reconciler rewrites the Secret. No resourceVersion bookkeeping, no
// GET to verify, nothing lost on restart.
import { DATA_HASH_ANNOTATION, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import { encodedDataHash } from '../../dockerconfig/index.ts';
import { DOCKER_CONFIG_JSON, DOCKER_CONFIG_JSON_KEY, type ObjectMeta, type Secret } from '../../kube/objects.ts';
import type { KubeObject } from '../../kube/store.ts';

export interface ManagedSecret extends KubeObject {
  metadata: ObjectMeta;
  /** Type dockerconfigjson, one data key, and those bytes hash to the data-hash annotation. */
  intact: boolean;
}

/** The `.dockerconfigjson` value (base64) when `secret` is a dockerconfigjson with that one key, else undefined. */
function soleDockerConfig(secret: Secret): string | undefined {
  const data = secret.data ?? {};
  const keys = Object.keys(data);
  if (secret.type !== DOCKER_CONFIG_JSON || keys.length !== 1 || !Object.hasOwn(data, DOCKER_CONFIG_JSON_KEY)) return undefined;
  return data[DOCKER_CONFIG_JSON_KEY] ?? '';
}

/**
 * The cached form of a Secret from the API, plus its `.dockerconfigjson` value when it is intact (for the
 * builder front, which keeps one copy per resource). The hash is taken over the base64 value as it came,
 * without decoding a copy of a possibly large payload for every Secret. Pure.
 */
export function toManagedSecret(obj: unknown): { secret: ManagedSecret; data?: string } {
  const s = obj as Secret;
  const m = s.metadata;
  const data = soleDockerConfig(s);
  const hash = m.annotations?.[DATA_HASH_ANNOTATION];
  const intact = data !== undefined && hash !== undefined && encodedDataHash(data) === hash;
  const secret: ManagedSecret = {
    metadata: {
      name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion,
      labels: m.labels, annotations: m.annotations, ownerReferences: m.ownerReferences,
      ...(m.finalizers?.length ? { finalizers: m.finalizers } : {}),
    },
    intact,
  };
  return intact ? { secret, data } : { secret };
}

/** A resource's credentials as its Secrets carry them: the `.dockerconfigjson` value (base64) and its hash. */
export interface Payload {
  data: string;
  hash: string;
}

/**
 * One payload per resource, for the builder front and the renders alike: every Secret of one resource
 * carries the same value, so one copy serves the builder front on a replica that has not rendered it
 * itself (a standby), and on the leader the render and the Secrets it writes share that copy.
 */
export class WrittenPayloads {
  private readonly byOwner = new Map<string, Payload>();

  /** Records the value of an intact Secret, unless the same payload is held already. */
  observe(secret: ManagedSecret, data: string | undefined): void {
    const owner = secret.metadata.labels?.[OWNER_LABEL];
    const hash = secret.metadata.annotations?.[DATA_HASH_ANNOTATION];
    if (owner === undefined || hash === undefined || data === undefined) return;
    if (this.byOwner.get(owner)?.hash !== hash) this.byOwner.set(owner, { data, hash });
  }

  /**
   * The copy of `rendered` to keep: the held payload when it has the same hash (after a restart the
   * Secrets already carry it), else `rendered`, held from now on so the Secrets written from it add no
   * second copy when their watch events arrive.
   */
  share(owner: string, rendered: Payload): Payload {
    const held = this.byOwner.get(owner);
    if (held?.hash === rendered.hash) return held;
    this.byOwner.set(owner, rendered);
    return rendered;
  }

  /** The value `owner`'s Secrets carry, when one of `secrets` (its Secrets now) still carries it intact. */
  of(owner: string, secrets: readonly ManagedSecret[]): string | undefined {
    const held = this.byOwner.get(owner);
    if (!held) return undefined;
    const current = secrets.some((s) => s.intact && s.metadata.annotations?.[DATA_HASH_ANNOTATION] === held.hash);
    if (!current && secrets.length === 0) this.byOwner.delete(owner);
    return current ? held.data : undefined;
  }
}
