// What the controller knows beyond its caches, shared by the two reconcilers: each resource's merged
// credentials and compiled selection, and the conflicts its namespaces reported. In memory only: after a
// restart, the first reconcile of each resource rebuilds it from the cluster.
import type { Contribution, Shadowing } from '../../dockerconfig/index.ts';
import type { Payload } from '../watch/managed-secret.ts';

/** The last merge of a resource: what it was computed from and what it gave. */
export interface MergeMemo {
  inputs: readonly Contribution[];
  shadowed: Shadowing[];
  rendered: Payload | 'empty';
  /** Set when the merged bytes exceed what a Secret may hold: their length; nothing is rendered then. */
  oversizeBytes?: number;
}

export interface ResourceState {
  /** Undefined until the resource reconciler has rendered it; `empty` when no source gave any entry. */
  rendered?: Payload | 'empty';
  /** namespace -> who holds the Secret we would write there. */
  conflicts: Map<string, string>;
  /** namespace -> why the last write there failed (cleared by the next success). */
  writeErrors: Map<string, string>;
  /**
   * Namespaces asked to converge on the current render that have not yet done so: while any is left,
   * the resource is Progressing, never Synced (Synced means the writes succeeded).
   */
  pendingTargets: Set<string>;
  /** The last merge, reused while the sources hand over the same entries. */
  merge?: MergeMemo;
  /** What the last reconcile of the resource rendered for: generation and data hash. */
  renderedFor?: string;
  /** Fingerprint of the status we last wrote (see status-diff.ts). */
  writtenStatus?: string;
  /** The Ready status and reason last reported with an Event, so each transition is reported once. */
  reportedReason?: string;
}

export class ControllerState {
  private readonly resources = new Map<string, ResourceState>();

  of(name: string): ResourceState {
    let state = this.resources.get(name);
    if (!state) this.resources.set(name, (state = { conflicts: new Map(), writeErrors: new Map(), pendingTargets: new Set() }));
    return state;
  }

  peek(name: string): ResourceState | undefined {
    return this.resources.get(name);
  }

  forget(name: string): void {
    this.resources.delete(name);
  }
}
