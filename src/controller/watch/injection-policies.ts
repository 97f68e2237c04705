// The MutatingAdmissionPolicies and bindings the daemon wrote (its managed-by label), watched only when
// the policy engine injects (docs/adr/0008-admission-engines.md). A change to one, or its deletion,
// brings its resource back for a reconcile, which restores it.
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../../api/v1alpha1/labels.ts';
import { Informer, type InformerLog } from '../../kube/informer.ts';
import type { ObjectMeta } from '../../kube/objects.ts';
import type { KubeRest } from '../../kube/rest.ts';
import { BINDINGS_PATH, POLICIES_PATH } from '../../admission/policy.ts';
import { ownValue } from '../../util/own.ts';

/** A policy or binding as the cache keeps it: metadata without managedFields, and the spec. */
export interface LiveAdmissionObject {
  metadata: ObjectMeta;
  spec?: unknown;
}

function trimmed(obj: unknown): LiveAdmissionObject {
  const o = obj as LiveAdmissionObject;
  const { name, uid, resourceVersion, labels, annotations, ownerReferences, finalizers, deletionTimestamp } = o.metadata;
  return { metadata: { name, uid, resourceVersion, labels, annotations, ownerReferences, finalizers, deletionTimestamp }, spec: o.spec };
}

const OWNER_INDEX = 'owner';

function ownerOf(o: LiveAdmissionObject): string[] {
  const owner = ownValue(o.metadata.labels, OWNER_LABEL);
  return owner ? [owner] : [];
}

export class InjectionPolicyWatch {
  readonly policies: Informer<LiveAdmissionObject>;
  readonly bindings: Informer<LiveAdmissionObject>;

  constructor(rest: KubeRest, opts: { log?: InformerLog; minWatchTimeoutSeconds?: number }) {
    const common = { ...opts, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`, transform: trimmed };
    this.policies = new Informer(rest, { ...common, resource: 'mutatingadmissionpolicies', path: POLICIES_PATH });
    this.bindings = new Informer(rest, { ...common, resource: 'mutatingadmissionpolicybindings', path: BINDINGS_PATH });
    this.bindings.store.addIndex(OWNER_INDEX, ownerOf);
  }

  /** The bindings labelled as resource `owner`'s (the store keys them by their name; a policy has several). */
  bindingsOf(owner: string): LiveAdmissionObject[] {
    return this.bindings.store.byIndex(OWNER_INDEX, owner);
  }

  get informers(): Informer<LiveAdmissionObject>[] {
    return [this.policies, this.bindings];
  }

  /**
   * Calls `changed` with the owning resource's name whenever one of the objects changes or goes away (its
   * creation is the daemon's own doing: the resource's reconcile made it).
   */
  onChange(changed: (owner: string) => void): void {
    const owner = (o: LiveAdmissionObject) => { for (const name of ownerOf(o)) changed(name); };
    for (const informer of this.informers) informer.on({ update: (_old, o) => { owner(o); }, delete: owner });
  }
}
