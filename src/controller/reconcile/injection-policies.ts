// Keeps each resource's MutatingAdmissionPolicy and binding as injection-policy.ts says they should be:
// created when the resource asks for injection, restored when edited or deleted, removed when it no
// longer asks (or is invalid, or is being deleted). Called from the resource's reconcile; the watch of
// these objects (watch/injection-policies.ts) brings the resource back on every change to them.
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import type { ObjectMeta } from '../../kube/objects.ts';
import { isStatus } from '../../kube/rest.ts';
import type { Writes } from '../../kube/writes.ts';
import { BINDINGS_PATH, desiredInjection, injectionPolicyName, isUpToDate, policyProblem, POLICIES_PATH } from '../../admission/policy.ts';
import type { InjectionPolicyWatch, LiveAdmissionObject } from '../watch/injection-policies.ts';

interface Wanted { metadata: ObjectMeta; spec: unknown }

/** Told once per resource and problem when its policy cannot be written (a Warning Event). */
export type InjectionProblemReport = (ips: ImagePullSecret, message: string) => Promise<void>;

export class InjectionPolicySync {
  /** The last problem reported per resource, so each is told once. */
  private readonly reported = new Map<string, string>();

  constructor(private readonly watch: InjectionPolicyWatch, private readonly daemonNamespace: string) {}

  /**
   * Converges resource `name`'s policy and binding to what desiredInjection says `ips` needs; with `ips`
   * undefined (the resource is gone or being finalized), removes them.
   */
  async sync(writes: Writes, name: string, ips: ImagePullSecret | undefined, report?: InjectionProblemReport): Promise<void> {
    const objectName = injectionPolicyName(name);
    let desired = ips && desiredInjection(ips, this.daemonNamespace);
    const problem = desired && policyProblem(desired.policy);
    if (problem === undefined || !ips) {
      this.reported.delete(name);
    } else {
      desired = undefined;
      if (this.reported.get(name) !== problem) {
        this.reported.set(name, problem);
        await report?.(ips, problem);
      }
    }
    const live = { policy: this.watch.policies.store.get(objectName), binding: this.watch.bindings.store.get(objectName) };
    if (!desired) {
      // The binding first: a policy without one applies to nothing, a binding without its policy is an error.
      await remove(writes, BINDINGS_PATH, live.binding);
      await remove(writes, POLICIES_PATH, live.policy);
      return;
    }
    await converge(writes, POLICIES_PATH, desired.policy, live.policy);
    await converge(writes, BINDINGS_PATH, desired.binding, live.binding);
  }
}

async function remove(writes: Writes, collection: string, live: LiveAdmissionObject | undefined): Promise<void> {
  if (!live) return;
  await writes.deleteClusterObject(collection, live.metadata.name, live.metadata.uid).catch((err: unknown) => {
    if (!isStatus(err, 404)) throw err;
  });
}

async function converge(writes: Writes, collection: string, desired: Wanted, live: LiveAdmissionObject | undefined): Promise<void> {
  if (live && isUpToDate(desired, live)) return;
  if (live) {
    // Labels, annotations and finalizers others added are kept; ours and the spec are put back.
    const metadata = { ...desired.metadata, resourceVersion: live.metadata.resourceVersion,
      labels: { ...live.metadata.labels, ...desired.metadata.labels },
      ...(live.metadata.annotations ? { annotations: live.metadata.annotations } : {}),
      ...(live.metadata.finalizers ? { finalizers: live.metadata.finalizers } : {}) };
    await writes.replaceClusterObject(collection, { ...desired, metadata });
    return;
  }
  try {
    await writes.createClusterObject(collection, desired);
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    // The name is there but not in the cache: our own object the watch has not shown yet, or one that lost
    // our labels (the label-selected watch no longer sees it). The name belongs to the resource: take it back.
    await writes.replaceClusterObject(collection, desired);
  }
}
