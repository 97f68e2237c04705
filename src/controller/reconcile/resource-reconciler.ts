// Resource reconciler: observes one ImagePullSecret and its sources; decides what the merged
// credentials are and which namespaces need a look; writes the finalizer, the status and Events.
// The Secrets themselves are written by the target reconciler, one namespace at a time.
import { FINALIZER } from '../../api/v1alpha1/labels.ts';
import { READY, Reason } from '../../api/v1alpha1/conditions.ts';
import { API_VERSION, KIND, PLURAL, type Condition, type ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { mergeContributions, serialize, type Contribution } from '../../dockerconfig/index.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Writes } from '../../kube/writes.ts';
import type { Clock } from '../../util/clock.ts';
import { BY_OWNER, type Caches } from '../watch/caches.ts';
import type { ServiceAccountSync } from './service-accounts.ts';
import type { SourceResolver } from '../decide/sources.ts';
import type { ControllerState, MergeMemo, ResourceState } from './state.ts';
import { buildStatus, type StatusInput } from '../status/status.ts';
import type { Selection } from './target-reconciler.ts';
import { statusFingerprint } from '../status/status-diff.ts';
import { fitsInSecret, payloadOf } from '../decide/desired-secret.ts';
import type { InjectionPolicySync } from './injection-policies.ts';

export interface ResourceDeps {
  caches: Caches;
  state: ControllerState;
  selection: Selection & { problems(ips: ImagePullSecret): string[] };
  resolver: SourceResolver;
  writes: Writes;
  events: EventRecorder;
  serviceAccounts: ServiceAccountSync;
  clock: Clock;
  enqueueTarget(name: string, namespace: string): void;
  /** The reconcile's signal: aborted at shutdown; `writes` are already bound to it, Events use it too. */
  signal?: AbortSignal;
  /** The policy engine's objects, when it injects pull Secrets at admission (docs/adr/0008-admission-engines.md). */
  injection?: InjectionPolicySync;
}

export const resourcePath = (name: string) => `/apis/${API_VERSION}/${PLURAL}/${name}`;

export async function reconcileResource(deps: ResourceDeps, name: string): Promise<{ requeueAfter?: number }> {
  const ips = deps.caches.imagePullSecrets.store.get(name);
  if (!ips) {
    await deps.injection?.sync(deps.writes, name, undefined);
    deps.caches.sourceSecrets.use(name, []);
    deps.resolver.forget(name);
    deps.state.forget(name);
    return {};
  }
  if (ips.metadata.deletionTimestamp) {
    await finalize(deps, ips);
    return {};
  }
  if (!ips.metadata.finalizers?.includes(FINALIZER)) {
    await deps.writes.patchClusterObject(resourcePath(name), ips.metadata.resourceVersion,
      { finalizers: [...(ips.metadata.finalizers ?? []), FINALIZER] });
    return {}; // the update event brings the resource back with its finalizer
  }
  const state = deps.state.of(name);
  const invalid = deps.selection.problems(ips);
  deps.caches.sourceSecrets.use(name, deps.resolver.references(ips));
  const now = deps.clock.now();
  const outcomes = invalid.length ? [] : await deps.resolver.resolve(ips, now);
  const pending = outcomes.some((o) => o.pending);
  const merged = mergeOf(state, outcomes.map((o) => ({ source: o.reference, entries: o.entries })));
  if (!invalid.length && !pending && merged.oversizeBytes === undefined) render(deps, ips, merged, outcomes.some((o) => o.error));
  await writeStatus(deps, ips, {
    ips, now, invalid, outcomes, shadowed: merged.shadowed, rendered: merged.rendered !== 'empty', oversizeBytes: merged.oversizeBytes,
    managedNamespaces: managedNamespaces(deps, name), conflicts: state.conflicts, writeErrors: state.writeErrors,
    pendingTargets: state.pendingTargets.size,
  });
  // After the status: a policy or binding the API server refuses must not hold up the Secrets or their report.
  await deps.injection?.sync(deps.writes, name, ips, (resource, reason, message) => deps.events.record(
    { apiVersion: API_VERSION, kind: KIND, name: resource.metadata.name, uid: resource.metadata.uid }, 'Warning', reason, message, deps.signal));
  const refresh = deps.resolver.nextRefreshMs(name, deps.clock.nowMs());
  return refresh === undefined ? {} : { requeueAfter: refresh };
}

/**
 * The merge of `inputs` and its Secret data, computed again only when some source hands over other
 * entries than last time. Sources hand over shared copies (the parsed entries of a source Secret, a
 * cached token), so a reconcile that only refreshes the status merges, serialises and encodes nothing.
 */
function mergeOf(state: ResourceState, inputs: Contribution[]): MergeMemo {
  const last = state.merge;
  if (last && sameInputs(last.inputs, inputs)) return last;
  const merged = mergeContributions(inputs);
  if (Object.keys(merged.config.auths).length === 0) return (state.merge = { inputs, shadowed: merged.shadowed, rendered: 'empty' });
  const bytes = serialize(merged.config);
  const size = Buffer.byteLength(bytes);
  // Too large for any Secret: reported once on the resource, never attempted (the namespaces keep what they hold).
  state.merge = fitsInSecret(size)
    ? { inputs, shadowed: merged.shadowed, rendered: payloadOf(bytes) }
    : { inputs, shadowed: merged.shadowed, rendered: 'empty', oversizeBytes: size };
  return state.merge;
}

/** The same sources, in the same order, handing over the very same entries (or none). */
function sameInputs(a: readonly Contribution[], b: readonly Contribution[]): boolean {
  return a.length === b.length && a.every((c, i) => {
    const d = b[i];
    return d !== undefined && c.source === d.source && (c.entries === d.entries || (c.entries.length === 0 && d.entries.length === 0));
  });
}

/**
 * Records the merged credentials and, when they changed, asks every affected namespace to converge. When
 * every source failed and nothing is left to merge, the namespaces keep what they hold (last known good)
 * rather than losing their Secrets because a token endpoint is down.
 */
function render(deps: ResourceDeps, ips: ImagePullSecret, merge: MergeMemo, anyFailed: boolean): void {
  if (merge.rendered === 'empty' && anyFailed) return;
  // One copy per resource, shared with what its Secrets' watch events bring (see WrittenPayloads.share).
  if (merge.rendered !== 'empty') merge.rendered = deps.caches.writtenPayloads.share(ips.metadata.name, merge.rendered);
  const state = deps.state.of(ips.metadata.name);
  state.rendered = merge.rendered;
  const renderedFor = `${String(ips.metadata.generation ?? 0)}/${merge.rendered === 'empty' ? 'empty' : merge.rendered.hash}`;
  if (state.renderedFor !== renderedFor) {
    state.renderedFor = renderedFor;
    enqueueAffected(deps, ips);
  }
}

/** Every namespace the resource selects now or holds a Secret in: each gets a target reconcile. */
function enqueueAffected(deps: ResourceDeps, ips: ImagePullSecret): void {
  const name = ips.metadata.name;
  const namespaces = new Set(managedNamespaces(deps, name));
  for (const ns of deps.caches.namespaces.store.list()) {
    if (deps.selection.selects(ips, ns)) namespaces.add(ns.metadata.name);
  }
  const pending = deps.state.of(name).pendingTargets;
  pending.clear();
  for (const ns of namespaces) {
    pending.add(ns);
    deps.enqueueTarget(name, ns);
  }
}

function managedNamespaces(deps: ResourceDeps, name: string): string[] {
  const out = new Set<string>();
  for (const s of deps.caches.managedSecrets.store.byIndex(BY_OWNER, name)) if (s.metadata.namespace) out.add(s.metadata.namespace);
  return [...out].sort();
}

/** The Ready condition's `status/reason`, as Events report transitions of it. */
const reasonOf = (c: Condition | undefined): string | undefined => c && `${c.status}/${c.reason}`;

async function writeStatus(deps: ResourceDeps, ips: ImagePullSecret, input: StatusInput): Promise<void> {
  const status = buildStatus(input, ips.status);
  const state = deps.state.of(ips.metadata.name);
  const before = ips.status?.conditions?.find((c) => c.type === READY);
  // A verdict reached at this generation is never replaced by Progressing: after a restart the sources
  // are still loading and every namespace is re-checked, and the world did not change. The next
  // reconcile, once that is done, writes what changed, if anything.
  const ready = status.conditions?.find((c) => c.type === READY);
  const atGeneration = before !== undefined && before.observedGeneration === ips.metadata.generation && before.reason !== Reason.Progressing;
  if (atGeneration && ready?.reason === Reason.Progressing) return;
  // The Event of the verdict the status already shows was recorded by whoever wrote it (before a restart).
  state.reportedReason ??= reasonOf(before);
  // Compared with what the cache holds and with what we last wrote: the cache may lag our own write.
  const fingerprint = statusFingerprint(status);
  if (fingerprint !== statusFingerprint(ips.status) && fingerprint !== state.writtenStatus) {
    await deps.writes.patchStatus(resourcePath(ips.metadata.name), status);
    state.writtenStatus = fingerprint;
  }
  // One Event per transition of the condition (status and reason), never per change of its message:
  // the namespace count in the message lives in status, and a busy cluster changes it all day.
  if (!ready || state.reportedReason === reasonOf(ready)) return;
  state.reportedReason = reasonOf(ready);
  const target = { apiVersion: API_VERSION, kind: KIND, name: ips.metadata.name, uid: ips.metadata.uid };
  await deps.events.record(target, ready.status === 'False' ? 'Warning' : 'Normal', ready.reason, ready.message, deps.signal);
}

/** The resource is being deleted: remove every Secret and ServiceAccount entry it wrote, then let go. */
async function finalize(deps: ResourceDeps, ips: ImagePullSecret): Promise<void> {
  const name = ips.metadata.name;
  await deps.injection?.sync(deps.writes, name, undefined);
  for (const secret of deps.caches.managedSecrets.store.byIndex(BY_OWNER, name)) {
    if (secret.metadata.namespace) await deps.serviceAccounts.remove(secret.metadata.namespace, secret.metadata.name);
    await deps.writes.deleteSecret(secret).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 404) throw err;
    });
  }
  if (ips.metadata.finalizers?.includes(FINALIZER)) {
    await deps.writes.patchClusterObject(resourcePath(name), ips.metadata.resourceVersion,
      { finalizers: ips.metadata.finalizers.filter((f) => f !== FINALIZER) });
  }
}
