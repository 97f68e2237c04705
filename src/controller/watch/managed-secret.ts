// How a managed Secret is cached: its metadata and one verdict about its data, never the data itself
// (10,000 namespaces hold 10,000 copies of the same few kilobytes). The verdict is taken where the data is
// at hand, on every list item and watch event: `intact` says the Secret is a dockerconfigjson whose only
// key holds exactly the bytes its data-hash annotation names. So an edit of the bytes by anyone, with or
// without the annotation, while the daemon runs or while it is down, shows up as `intact: false` or a
// changed annotation, and the target reconciler rewrites the Secret. No resourceVersion bookkeeping, no
// GET to verify, nothing lost on restart.
import { DATA_HASH_ANNOTATION, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import { isLive } from '../../api/v1alpha1/resource.ts';
import { KIND, type ImagePullSecret } from '../../api/v1alpha1/types.ts';
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
 * True when `secret` is owned by the live resource `ips` by UID (an ownerReference, not only the owner
 * label anyone who can create a Secret can set) and carries its target name.
 */
export function ownedBy(ips: ImagePullSecret | undefined, secret: ManagedSecret): boolean {
  if (!isLive(ips) || !ips.metadata.uid) return false;
  const m = secret.metadata;
  if (m.labels?.[OWNER_LABEL] !== ips.metadata.name || m.name !== ips.spec.target.secret.name) return false;
  return (m.ownerReferences ?? []).some((r) => r.kind === KIND && r.uid === ips.metadata.uid);
}

/**
 * True when `secret` may vouch for the payload of `ips`: owned by it (`ownedBy`) and in a namespace its
 * status lists, when the status lists them all (past a limit it lists the first ones only). The status is
 * written by the daemon alone; a tenant who forges a managed Secret, ownerReference and all, in a
 * namespace it controls fails this check.
 */
export function speaksFor(ips: ImagePullSecret | undefined, secret: ManagedSecret): boolean {
  if (!ownedBy(ips, secret)) return false;
  const listed = ips?.status?.managedNamespaces;
  if (listed === undefined || (ips?.status?.managedNamespaceCount ?? listed.length) > listed.length) return true;
  return listed.includes(secret.metadata.namespace ?? '');
}

/** Payloads held per resource: the current one and the one before (a refresh, or a Secret not yet trusted). */
const HELD_PER_OWNER = 2;

/**
 * One payload per resource, for the builder front and the renders alike: every Secret of one resource
 * carries the same value, so one copy serves the builder front on a replica that has not rendered it
 * itself (a standby), and on the leader the render and the Secrets it writes share that copy. A payload
 * is served only while a Secret that speaks for the live resource (`speaksFor`) carries it intact, and
 * Secrets not owned by the resource's UID are not recorded at all, so a forged managed Secret changes no
 * answer. A resource's payloads go when the resource goes.
 */
export class WrittenPayloads {
  /** Most recent first. */
  private readonly byOwner = new Map<string, Payload[]>();

  /**
   * Records the value of an intact Secret, unless the same payload is held already. `trusted` is
   * `ownedBy` when the resource is known, undefined when it is not (yet). Either way a payload is served
   * only once a Secret that speaks for the resource carries it (`of`); the namespace is checked there,
   * since the status naming a new namespace is written just after its Secret.
   */
  observe(secret: ManagedSecret, data: string | undefined, trusted?: boolean): void {
    const owner = secret.metadata.labels?.[OWNER_LABEL];
    const hash = secret.metadata.annotations?.[DATA_HASH_ANNOTATION];
    if (owner === undefined || hash === undefined || data === undefined || trusted === false) return;
    if (this.byOwner.get(owner)?.[0]?.hash !== hash) this.hold(owner, { data, hash });
  }

  /**
   * The copy of `rendered` to keep: the held payload when it has the same hash (after a restart the
   * Secrets already carry it), else `rendered`, held from now on so the Secrets written from it add no
   * second copy when their watch events arrive.
   */
  share(owner: string, rendered: Payload): Payload {
    const held = this.byOwner.get(owner)?.find((p) => p.hash === rendered.hash);
    if (held) return held;
    this.hold(owner, rendered);
    return rendered;
  }

  /**
   * The value `owner`'s Secrets carry: a held payload that one of `secrets` (its Secrets now) carries intact
   * and that speaks for the resource (`trusted`). Payloads no Secret carries any more are dropped.
   */
  of(owner: string, secrets: readonly ManagedSecret[], trusted: (secret: ManagedSecret) => boolean = () => true): string | undefined {
    const held = this.byOwner.get(owner);
    if (!held) return undefined;
    const carried = new Set(secrets.filter((s) => s.intact).map((s) => s.metadata.annotations?.[DATA_HASH_ANNOTATION]));
    const kept = held.filter((p) => carried.has(p.hash));
    if (kept.length === 0) this.byOwner.delete(owner);
    else if (kept.length < held.length) this.byOwner.set(owner, kept);
    const vouched = new Set(secrets.filter((s) => s.intact && trusted(s)).map((s) => s.metadata.annotations?.[DATA_HASH_ANNOTATION]));
    return kept.find((p) => vouched.has(p.hash))?.data;
  }

  /** Drops every payload of a resource that is gone. */
  forget(owner: string): void {
    this.byOwner.delete(owner);
  }

  private hold(owner: string, payload: Payload): void {
    const others = (this.byOwner.get(owner) ?? []).filter((p) => p.hash !== payload.hash);
    this.byOwner.set(owner, [payload, ...others].slice(0, HELD_PER_OWNER));
  }
}
