// Keeps each resource's MutatingAdmissionPolicy and its bindings as injection-policy.ts says they should
// be: created when the resource asks for injection, restored when edited or deleted, removed when it no
// longer asks (or is invalid, or is being deleted); bindings the resource no longer needs are deleted.
// Called from the resource's reconcile; the watch of these objects (watch/injection-policies.ts) brings the
// resource back on every change to them.
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import type { ObjectMeta } from '../../kube/objects.ts';
import { isStatus, KubeApiError } from '../../kube/rest.ts';
import type { Writes } from '../../kube/writes.ts';
import { BINDINGS_PATH, catchAllBinding, desiredInjection, injectionPolicyName, isUpToDate, policyProblem, POLICIES_PATH } from '../../admission/policy.ts';
import type { InjectionPolicyWatch, LiveAdmissionObject } from '../watch/injection-policies.ts';

interface Wanted { metadata: ObjectMeta; spec: unknown }

/** Told once per resource and problem when its policy or a binding cannot be written (a Warning Event). */
export type InjectionProblemReport = (ips: ImagePullSecret, reason: string, message: string) => Promise<void>;

/** A binding the API server refused to store. */
interface Refusal { name: string; message: string }

export class InjectionPolicySync {
  /** The last problem reported per resource, so each is told once. */
  private readonly reported = new Map<string, string>();
  /**
   * Per resource, the binding specs the API server refused (as JSON): the resource's policy keeps one
   * binding without a namespace selector until the resource asks for other bindings.
   */
  private readonly refused = new Map<string, string>();

  constructor(private readonly watch: InjectionPolicyWatch, private readonly daemonNamespace: string) {}

  /**
   * Converges resource `name`'s policy and bindings to what desiredInjection says `ips` needs; with `ips`
   * undefined (the resource is gone or being finalized), removes them.
   */
  async sync(writes: Writes, name: string, ips: ImagePullSecret | undefined, report?: InjectionProblemReport): Promise<void> {
    const desired = ips && desiredInjection(ips, this.daemonNamespace);
    const tooLarge = desired && policyProblem(desired.policy);
    const live = { policy: this.watch.policies.store.get(injectionPolicyName(name)), bindings: this.watch.bindingsOf(name) };
    if (!ips || !desired || tooLarge !== undefined) {
      this.refused.delete(name);
      if (ips && tooLarge !== undefined) await this.tell(ips, 'InjectionPolicyTooLarge', tooLarge, report);
      else this.reported.delete(name);
      // The bindings first: a policy without one applies to nothing, a binding without its policy is an error.
      for (const binding of live.bindings) await remove(writes, BINDINGS_PATH, binding);
      await remove(writes, POLICIES_PATH, live.policy);
      return;
    }
    await converge(writes, POLICIES_PATH, desired.policy, live.policy);
    await this.bind(writes, ips, desired.bindings, live.bindings, report);
  }

  /**
   * Writes the bindings `ips` wants, or the catch-all where the API server refused them, then deletes the
   * ones it no longer needs.
   */
  private async bind(writes: Writes, ips: ImagePullSecret, bindings: readonly Wanted[], live: readonly LiveAdmissionObject[],
    report: InjectionProblemReport | undefined): Promise<void> {
    const name = ips.metadata.name;
    const plan = JSON.stringify(bindings.map((b) => b.spec));
    const fallback = this.refused.get(name) === plan;
    if (!fallback) this.refused.delete(name);
    let wanted = fallback ? [catchAllBinding(ips)] : bindings;
    const written = new Map<string, LiveAdmissionObject>();
    const refusal = await convergeBindings(writes, wanted, live, written);
    if (refusal) {
      this.refused.set(name, plan);
      await this.tell(ips, 'InjectionBindingRefused', `the API server refused admission policy binding ${refusal.name}: ${refusal.message}; `
        + 'the policy is bound for every namespace instead, which evaluates it for every pod created in the cluster: fix the namespace label selectors', report);
      wanted = [catchAllBinding(ips)];
      const again = await convergeBindings(writes, wanted, live, written);
      if (again) throw new Error(`the API server refused admission policy binding ${again.name}: ${again.message}`);
    } else if (!fallback) {
      this.reported.delete(name);
    }
    // The bindings this resource no longer needs: those the watch shows and those written just now.
    const keep = new Set(wanted.map((b) => b.metadata.name));
    const stale = new Map([...live.map((b) => [b.metadata.name, b] as const), ...written]);
    for (const [bindingName, binding] of stale) if (!keep.has(bindingName)) await remove(writes, BINDINGS_PATH, binding);
  }

  private async tell(ips: ImagePullSecret, reason: string, message: string, report: InjectionProblemReport | undefined): Promise<void> {
    if (this.reported.get(ips.metadata.name) === message) return;
    this.reported.set(ips.metadata.name, message);
    await report?.(ips, reason, message);
  }
}

/**
 * Writes each of `wanted` that differs from the live binding of its name; stops at the first the API server
 * refuses as invalid (422) and returns it. Every binding written is added to `written`.
 */
async function convergeBindings(writes: Writes, wanted: readonly Wanted[], live: readonly LiveAdmissionObject[],
  written: Map<string, LiveAdmissionObject>): Promise<Refusal | undefined> {
  for (const binding of wanted) {
    const name = binding.metadata.name;
    try {
      const stored = await converge(writes, BINDINGS_PATH, binding, written.get(name) ?? live.find((b) => b.metadata.name === name));
      if (stored) written.set(name, stored);
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.code !== 422) throw err;
      return { name, message: err.message };
    }
  }
  return undefined;
}

async function remove(writes: Writes, collection: string, live: LiveAdmissionObject | undefined): Promise<void> {
  if (!live) return;
  await writes.deleteClusterObject(collection, live.metadata.name, live.metadata.uid).catch((err: unknown) => {
    if (!isStatus(err, 404)) throw err;
  });
}

/** Creates or replaces `desired` unless `live` is it; returns what the API server stored when it wrote. */
async function converge(writes: Writes, collection: string, desired: Wanted, live: LiveAdmissionObject | undefined): Promise<LiveAdmissionObject | undefined> {
  if (live && isUpToDate(desired, live)) return undefined;
  if (live) {
    // Labels, annotations and finalizers others added are kept; ours and the spec are put back.
    const metadata = { ...desired.metadata, resourceVersion: live.metadata.resourceVersion,
      labels: { ...live.metadata.labels, ...desired.metadata.labels },
      ...(live.metadata.annotations ? { annotations: live.metadata.annotations } : {}),
      ...(live.metadata.finalizers ? { finalizers: live.metadata.finalizers } : {}) };
    return writes.replaceClusterObject(collection, { ...desired, metadata });
  }
  try {
    return await writes.createClusterObject(collection, desired);
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    // The name is there but not in the cache: our own object the watch has not shown yet, or one that lost
    // our labels (the label-selected watch no longer sees it). The name belongs to the resource: take it back.
    return writes.replaceClusterObject(collection, desired);
  }
}
