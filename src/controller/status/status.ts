// The status of a resource, computed from what the reconcilers observed. Pure: the same input gives the
// same status, so an unchanged world writes nothing. The Ready condition comes from ordered
// policy checks, each giving a reason and a message (after cert-manager's policy chains).
import { READY, Reason, setCondition } from '../../api/v1alpha1/conditions.ts';
import type { ConflictStatus, ImagePullSecret, ImagePullSecretStatus, SourceStatus } from '../../api/v1alpha1/types.ts';
import type { Shadowing } from '../../dockerconfig/index.ts';
import type { SourceOutcome } from '../decide/sources.ts';
import { bounded, listed } from './status-text.ts';
import { MAX_SECRET_DATA_BYTES } from '../decide/desired-secret.ts';

export const MAX_LISTED_NAMESPACES = 1000;
export const MAX_LISTED_CONFLICTS = 100;
/** Registries and shadowed registries listed per source. */
export const MAX_LISTED_REGISTRIES = 100;

export interface StatusInput {
  ips: ImagePullSecret;
  now: Date;
  invalid: string[];
  outcomes: SourceOutcome[];
  shadowed: Shadowing[];
  /** Whether the merge produced any entry at all. */
  rendered: boolean;
  /** Set when the merged credentials are too large for a Secret: their length in bytes. */
  oversizeBytes?: number | undefined;
  managedNamespaces: string[];
  conflicts: ReadonlyMap<string, string>;
  writeErrors: ReadonlyMap<string, string>;
  /** Namespaces that have not yet converged on the current credentials. */
  pendingTargets?: number;
}

export interface Verdict {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}


type Policy = (i: StatusInput) => Verdict | undefined;

/** Whether the resource's status already says Synced for its current generation. */
function syncedAt(ips: ImagePullSecret): boolean {
  const ready = ips.status?.conditions?.find((c) => c.type === READY);
  return ready?.reason === Reason.Synced && ready.observedGeneration === ips.metadata.generation;
}

const policies: Policy[] = [
  (i) => (i.invalid.length ? { status: 'False', reason: Reason.InvalidSpec, message: listed(i.invalid, 3) } : undefined),
  (i) => {
    const failed = i.outcomes.filter((o) => o.error);
    if (!failed.length) return undefined;
    return { status: 'False', reason: Reason.SourceError, message: listed(failed.map((o) => `${o.reference}: ${o.error ?? ''}`), 3) };
  },
  (i) => (i.outcomes.some((o) => o.pending) ? { status: 'Unknown', reason: Reason.Progressing, message: 'Waiting for source Secrets to be read' } : undefined),
  (i) => (i.oversizeBytes === undefined ? undefined : { status: 'False', reason: Reason.TooLarge,
    message: `The merged credentials are ${String(i.oversizeBytes)} bytes; a Secret holds at most ${String(MAX_SECRET_DATA_BYTES)} bytes (1 MiB). `
      + 'Nothing is written until the sources shrink: name fewer or smaller sources, or split them over several resources' }),
  (i) => (i.rendered ? undefined : { status: 'False', reason: Reason.SourceError, message: 'No source provided any registry credentials' }),
  (i) => {
    if (!i.conflicts.size) return undefined;
    const name = i.ips.spec.target.secret.name;
    return { status: 'False', reason: Reason.Conflict,
      message: `Secret ${name} is held by someone else in ${i.conflicts.size} namespace(s): ${listed([...i.conflicts.keys()].sort())}` };
  },
  (i) => {
    if (!i.writeErrors.size) return undefined;
    const [[ns, msg] = ['', '']] = [...i.writeErrors].sort();
    return { status: 'False', reason: Reason.WriteError, message: `Writing to ${i.writeErrors.size} namespace(s) failed; ${ns}: ${msg}` };
  },
  // Synced only once the writes succeeded. A resource already Synced at this generation stays so while
  // it updates its Secrets (a token refresh, a restart of the daemon): they hold working credentials.
  (i) => (i.pendingTargets && !syncedAt(i.ips) ? { status: 'Unknown', reason: Reason.Progressing,
    message: `Writing Secret ${i.ips.spec.target.secret.name} to ${String(i.pendingTargets)} namespace(s)` } : undefined),
];

export function readyVerdict(input: StatusInput): Verdict {
  for (const policy of policies) {
    const verdict = policy(input);
    if (verdict) return { ...verdict, message: bounded(verdict.message) };
  }
  const n = input.managedNamespaces.length;
  return { status: 'True', reason: Reason.Synced, message: `Secret ${input.ips.spec.target.secret.name} is up to date in ${n} namespace(s)` };
}

/**
 * What a status lists, bounded so that the whole status fits in one API request however many sources,
 * registries and namespaces a resource has (the API server and etcd refuse requests past about 1.5 MB):
 * registries are at most 255 characters (see dockerconfig/registry-key.ts), references and messages are
 * cut, and registry names are listed from one budget shared by all sources.
 */
export const MAX_LISTED_SOURCES = 200;
/** Registry names (provided and shadowed) listed over all sources of a resource together. */
export const MAX_LISTED_REGISTRY_NAMES = 1000;
export const MAX_REFERENCE_LENGTH = 256;

/** A shared allowance of list items, taken first come first served. */
class Budget {
  constructor(private left: number) {}
  take<T>(items: readonly T[]): T[] {
    const taken = items.slice(0, Math.min(this.left, MAX_LISTED_REGISTRIES));
    this.left -= taken.length;
    return taken;
  }
}

function sourceStatus(o: SourceOutcome, shadowed: Shadowing[], names: Budget): SourceStatus {
  const lost = [...shadowed.filter((s) => s.loser === o.reference).map((s) => s.registry).sort(), ...(o.shadowed ?? [])];
  const registries = [...new Set(o.entries.map((e) => e.registry))].sort();
  const listedRegistries = names.take(registries);
  const listedLost = lost.length ? names.take(lost) : [];
  return {
    reference: bounded(o.reference, MAX_REFERENCE_LENGTH), kind: o.kind, registries: listedRegistries,
    ...(registries.length > listedRegistries.length ? { registryCount: registries.length } : {}),
    ...(o.expiresAt ? { expiresAt: o.expiresAt.toISOString() } : {}),
    ...(o.lastRefreshTime ? { lastRefreshTime: o.lastRefreshTime.toISOString() } : {}),
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.error ? { message: bounded(o.error) } : {}),
    ...(listedLost.length ? { shadowed: listedLost } : {}),
  };
}

/** The earliest expiry among the sources that contribute entries; undefined when none expires. */
function earliestExpiry(outcomes: SourceOutcome[]): Date | undefined {
  const expiries = outcomes.filter((o) => o.entries.length && o.expiresAt).map((o) => o.expiresAt?.getTime() ?? 0);
  return expiries.length ? new Date(Math.min(...expiries)) : undefined;
}

/** The full status; every field is present so a merge patch also clears what no longer holds. */
export function buildStatus(input: StatusInput, previous: ImagePullSecretStatus | undefined): ImagePullSecretStatus {
  const verdict = readyVerdict(input);
  const conflicts: ConflictStatus[] = [...input.conflicts].sort(([a], [b]) => (a < b ? -1 : 1))
    .slice(0, MAX_LISTED_CONFLICTS).map(([namespace, holder]) => ({ namespace, holder }));
  const synced = verdict.status === 'True';
  const expiresAt = earliestExpiry(input.outcomes);
  return {
    observedGeneration: input.ips.metadata.generation,
    conditions: setCondition(previous?.conditions, { type: READY, ...verdict, observedGeneration: input.ips.metadata.generation }, input.now),
    managedNamespaces: input.managedNamespaces.slice(0, MAX_LISTED_NAMESPACES),
    managedNamespaceCount: input.managedNamespaces.length,
    sources: sourcesStatus(input),
    sourceCount: input.outcomes.length,
    conflicts,
    conflictCount: input.conflicts.size,
    lastSuccessfulReconciliation: synced ? input.now.toISOString() : previous?.lastSuccessfulReconciliation,
    expiresAt: expiresAt?.toISOString(),
    validitySeconds: expiresAt && Math.max(0, Math.floor((expiresAt.getTime() - input.now.getTime()) / 1000)),
  };
}

/** The first MAX_LISTED_SOURCES sources, in spec order, sharing one budget of listed registry names. */
function sourcesStatus(input: StatusInput): SourceStatus[] {
  const names = new Budget(MAX_LISTED_REGISTRY_NAMES);
  return input.outcomes.slice(0, MAX_LISTED_SOURCES).map((o) => sourceStatus(o, input.shadowed, names));
}
