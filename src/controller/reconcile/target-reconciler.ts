// Target reconciler: observes one resource and one namespace (the resource, the namespace's metadata,
// its pods, our Secrets there); decides whether the resource's Secret belongs there and who owns it;
// writes the Secret (create, repair, remove) and the ServiceAccounts' imagePullSecrets.
import { isLive } from '../../api/v1alpha1/resource.ts';
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import { ownValue } from '../../util/own.ts';
import { adoptedSecret, heldByImpsFor } from '../decide/imps-adoption.ts';
import type { MetadataObject, Secret } from '../../kube/objects.ts';
import { isStatus } from '../../kube/rest.ts';
import type { Writes } from '../../kube/writes.ts';
import { BY_NAMESPACE, type Caches } from '../watch/caches.ts';
import { desiredSecret, updatedSecret, upToDate } from '../decide/desired-secret.ts';
import type { ForeignSecrets } from '../watch/foreign-secrets.ts';
import { owningResource } from '../decide/ownership.ts';
import type { ServiceAccountSync } from './service-accounts.ts';
import type { ControllerState } from './state.ts';

/** Answers whether a resource selects a namespace; undefined when its selection is invalid. */
export interface Selection {
  selects(ips: ImagePullSecret, namespace: MetadataObject): boolean | undefined;
}

export interface TargetDeps {
  caches: Caches;
  state: ControllerState;
  selection: Selection;
  writes: Writes;
  serviceAccounts: ServiceAccountSync;
  /** Asks for the resource's status to be recomputed soon (coalesced). */
  statusChanged(name: string): void;
  /** Watches for Secrets held by someone else, so a conflict waits for a change instead of polling. */
  foreign: Pick<ForeignSecrets, 'watch' | 'release'>;
  /** Replace Secrets that carry IMPS's marks for the resource of the same name (docs/adr/0006-imps-adoption.md). */
  adoptImpsSecrets?: boolean;
}

export interface TargetResult {
  requeueAfter?: number;
}

/** The holder reported for a Secret of the target name that this daemon does not manage. */
export const UNMANAGED = 'unmanaged';

/** Resources that want Secret `secretName` in `ns` now, rendered or not yet (after a restart). */
function contendersFor(deps: TargetDeps, ns: MetadataObject, secretName: string): ImagePullSecret[] {
  const out: ImagePullSecret[] = [];
  for (const other of deps.caches.imagePullSecrets.store.list()) {
    if (!isLive(other) || other.spec.target.secret.name !== secretName) continue;
    if (deps.selection.selects(other, ns) === true) out.push(other);
  }
  return out;
}

/**
 * Whether `name` yields Secret `secretName` in `ns` to an older resource, or must wait for one that has
 * not rendered yet (right after a restart or failover): it then touches nothing, so the older one's
 * Secret is never briefly overwritten. An older one already holding the Secret there counts as its owner.
 */
function ownerHere(deps: TargetDeps, name: string, ns: MetadataObject, secretName: string): Want | undefined {
  const owner = owningResource(contendersFor(deps, ns, secretName));
  if (!owner || owner.metadata.name === name) return undefined;
  const holder = { kind: 'yielded', holder: `ImagePullSecret/${owner.metadata.name}` } as const;
  if (deps.state.peek(owner.metadata.name)?.rendered !== undefined) return holder;
  const there = deps.caches.managedSecrets.store.byIndex(BY_NAMESPACE, ns.metadata.name).find((s) => s.metadata.name === secretName);
  return there?.metadata.labels?.[OWNER_LABEL] === owner.metadata.name ? holder : { kind: 'wait' };
}

/** What one resource wants in one namespace. */
type Want =
  | { kind: 'wait' } // selection invalid, credentials not rendered yet, or an older owner's not yet: touch nothing
  | { kind: 'none' } // not selected, or nothing to write: ours must go
  | { kind: 'yielded'; holder: string } // an older resource holds the name here
  | { kind: 'secret'; ips: ImagePullSecret; desired: Secret };

function decide(deps: TargetDeps, name: string, ns: MetadataObject | undefined, ips: ImagePullSecret | undefined): Want {
  if (!isLive(ips) || !ns) return { kind: 'none' };
  const selected = deps.selection.selects(ips, ns);
  const rendered = deps.state.of(name).rendered;
  if (selected === undefined || (selected && rendered === undefined)) return { kind: 'wait' };
  if (!selected || rendered === undefined || rendered === 'empty') return { kind: 'none' };
  const yielded = ownerHere(deps, name, ns, ips.spec.target.secret.name);
  if (yielded) return yielded;
  return { kind: 'secret', ips, desired: desiredSecret(ips, ns.metadata.name, rendered) };
}

/**
 * Whether the ServiceAccount entry of `ips`'s Secret name in `namespace` is another resource's: one that
 * selects the namespace and wants that name there, or whose Secret of that name is there (resources that
 * select different namespaces may share a Secret name). The selection answers even before the other
 * resource's Secret reaches the watch cache, which can lag behind the entry it wrote after the Secret.
 */
function entryHeldByAnother(deps: TargetDeps, ips: ImagePullSecret, ns: MetadataObject | undefined, here: readonly Secret[]): boolean {
  const secretName = ips.spec.target.secret.name;
  const name = ips.metadata.name;
  if (here.some((s) => s.metadata.name === secretName && s.metadata.labels?.[OWNER_LABEL] !== name)) return true;
  return ns !== undefined && contendersFor(deps, ns, secretName).some((other) => other.metadata.name !== name);
}

export async function reconcileTarget(deps: TargetDeps, name: string, namespace: string): Promise<TargetResult> {
  const ns = deps.caches.namespaces.store.get(namespace);
  if (ns?.metadata.deletionTimestamp) return {}; // Terminating: no writes at all.
  const ips = deps.caches.imagePullSecrets.store.get(name);
  const want = decide(deps, name, ns, ips);
  if (want.kind === 'wait') return {};

  const here = deps.caches.managedSecrets.store.byIndex(BY_NAMESPACE, namespace);
  const wantName = want.kind === 'secret' ? want.desired.metadata.name : undefined;
  await removeStale(deps, here.filter((s) => s.metadata.labels?.[OWNER_LABEL] === name && s.metadata.name !== wantName));
  if (want.kind !== 'secret') {
    if (ips && want.kind === 'none' && !entryHeldByAnother(deps, ips, ns, here)) await deps.serviceAccounts.sync(ips, namespace, false);
    return settle(deps, name, namespace, want.kind === 'yielded' ? want.holder : undefined);
  }
  const existing = here.find((s) => s.metadata.name === wantName);
  if (existing && !upToDate(existing, want.desired)) await deps.writes.replaceSecret(updatedSecret(existing, want.desired));
  if (!existing) {
    const created = await create(deps, want.ips, want.desired);
    // Ours, written by an earlier reconcile and not yet in the watch cache: its watch event brings us back.
    if (created === 'ours') return {};
    if (created === 'foreign') {
      // Someone else's Secret of that name: never overwritten. Its watch brings us back when it changes.
      deps.foreign.watch(name, namespace, want.desired.metadata.name);
      return settle(deps, name, namespace, UNMANAGED);
    }
  }
  await deps.serviceAccounts.sync(want.ips, namespace, true);
  return settle(deps, name, namespace, undefined);
}

/**
 * Creates `secret`. A Secret of that name that exists already is either ours, created by an earlier
 * reconcile while the watch cache lags behind (under load, for seconds), or someone else's.
 */
async function create(deps: TargetDeps, ips: ImagePullSecret, secret: Secret): Promise<'created' | 'ours' | 'foreign'> {
  try {
    await deps.writes.createSecret(secret);
    return 'created';
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    if (!deps.adoptImpsSecrets) return await deps.writes.isManagedSecret(secret.metadata.namespace ?? '', secret.metadata.name) ? 'ours' : 'foreign';
  }
  const held = await deps.writes.secretMetadata(secret.metadata.namespace ?? '', secret.metadata.name);
  if (!held) throw new Error(`Secret ${secret.metadata.name} went away while it was looked at; retrying`);
  if (ownValue(held.labels, MANAGED_BY_LABEL) === MANAGED_BY_VALUE) return 'ours';
  if (!heldByImpsFor(held, ips)) return 'foreign';
  // IMPS's Secret for this resource: replaced in place (resourceVersion-guarded), never deleted first,
  // so the namespace holds a working Secret throughout.
  try {
    await deps.writes.replaceSecret(adoptedSecret({ metadata: held }, secret));
  } catch (err) {
    // Refused as it stands (a type other than dockerconfigjson cannot change): it stays IMPS's, a Conflict.
    if (isStatus(err, 422)) return 'foreign';
    throw err;
  }
  return 'created';
}

/** Secrets of ours that should not be here: deselected namespace, or the old name after a rename. */
async function removeStale(deps: TargetDeps, secrets: Secret[]): Promise<void> {
  for (const s of secrets) await removeSecret(deps, s);
}

async function removeSecret(deps: TargetDeps, secret: Secret): Promise<void> {
  await deps.serviceAccounts.remove(secret.metadata.namespace ?? '', secret.metadata.name);
  try {
    await deps.writes.deleteSecret(secret);
  } catch (err) {
    // Already gone, or replaced by a different object (uid precondition): nothing of ours to remove.
    if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
  }
}

/**
 * Records the namespace's conflict state and asks for a status refresh: conflicts and the managed
 * namespace list both change with what this reconcile did (the refresh is coalesced per resource).
 */
function settle(deps: TargetDeps, name: string, namespace: string, holder: string | undefined): TargetResult {
  const conflicts = deps.state.of(name).conflicts;
  if (holder) conflicts.set(namespace, holder);
  else conflicts.delete(namespace);
  if (holder !== UNMANAGED) deps.foreign.release(name, namespace);
  deps.statusChanged(name);
  return {};
}
