// What the daemon would do, computed without writing: for each resource, the namespaces it selects (with
// every rule that selects them) and the action on its Secret there, the Secrets it would remove, the
// registries each source contributes and which are shadowed, and the ServiceAccounts it would patch. The
// decisions are the daemon's own functions: selection (compileTarget, selectingRules), merge
// (mergeContributions, serialize, dataHash), desired state (desiredSecret, upToDate), ownership
// (owningResource) and ServiceAccount patches (planPullSecrets). Pure over a World.
import { DATA_HASH_ANNOTATION } from '../../api/v1alpha1/labels.ts';
import { isLive } from '../../api/v1alpha1/resource.ts';
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { desiredSecret, upToDate } from '../../controller/decide/desired-secret.ts';
import { toManagedSecret } from '../../controller/watch/managed-secret.ts';
import { owningResource } from '../../controller/decide/ownership.ts';
import { compileTarget, selectingRules, type CompiledTarget } from '../../controller/decide/selection.ts';
import { planPullSecrets, wantsServiceAccount } from '../../controller/reconcile/service-accounts.ts';
import { UNMANAGED } from '../../controller/reconcile/target-reconciler.ts';
import { dataHash, mergeContributions, serialize } from '../../dockerconfig/index.ts';
import { DOCKER_CONFIG_JSON, type MetadataObject } from '../../kube/objects.ts';
import { heldByImpsFor } from '../../controller/decide/imps-adoption.ts';
import { planSources } from './sources.ts';
import { DEFAULT_DAEMON_NAMESPACE, podsLackingEntry } from './pods.ts';

export { DEFAULT_DAEMON_NAMESPACE };
import { checkResource } from '../../api/v1alpha1/resource-check.ts';
import { isManaged, type World } from './world.ts';

export type Action = 'create' | 'update' | 'unchanged' | 'conflict';

export interface PlanNamespace { name: string; rules: string[]; action: Action; conflictWith?: string }
export interface PlanRegistry { registry: string; source: string; shadowed: string[] }
export interface PlanServiceAccount { namespace: string; name: string; change: 'add' | 'remove' }
/** A pod that lacks the entry and would get it if it were created now. */
export interface PlanPod { namespace: string; name: string }

/** One resource of `plan -o json`; README documents the contract. */
export interface PlanResource {
  name: string;
  valid: boolean;
  errors: string[];
  namespaces: PlanNamespace[];
  removals: { namespace: string; secret: string }[];
  registries: PlanRegistry[];
  serviceAccounts: PlanServiceAccount[];
  /** With spec.target.pods.inject: the existing pods that lack the entry (admission would add it). */
  pods: PlanPod[];
  /** Sources that would fail (missing or malformed Secrets); never credential values. */
  sourceProblems: string[];
}

export interface Plan { resources: PlanResource[] }

/** One resource as the decisions need it. */
interface Candidate {
  ips: ImagePullSecret;
  errors: string[];
  /** The API server would accept it (its problems, if any, are the daemon's InvalidSpec). */
  storable: boolean;
  target?: CompiledTarget;
  /** Namespace -> the rules that select it. */
  selected: Map<string, string[]>;
  /** Whether the merge has any entry, so there is a Secret to write. */
  writes: boolean;
  /** The `.dockerconfigjson` bytes; undefined with cloud sources, whose tokens only the daemon fetches. */
  bytes?: string;
  registries: PlanRegistry[];
  sourceProblems: string[];
}

const selectable = (o: MetadataObject) => ({ name: o.metadata.name, labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {} });

function candidate(world: World, ips: ImagePullSecret): Candidate {
  const problems = checkResource(ips as unknown as Record<string, unknown>);
  const errors = problems.map((p) => `${p.path}: ${p.message}`);
  const out: Candidate = { ips, errors, storable: problems.every((p) => p.layer === 'semantic'), selected: new Map(), writes: false, registries: [], sourceProblems: [] };
  const compiled = errors.length ? undefined : compileTarget(ips.spec.target);
  if (!compiled?.ok) return out;
  out.target = compiled.value;
  for (const ns of world.namespaces) {
    if (ns.metadata.deletionTimestamp) continue; // Terminating: the daemon writes nothing there
    const rules = selectingRules(compiled.value, selectable(ns), (world.podsIn(ns.metadata.name)).map(selectable));
    if (rules.length) out.selected.set(ns.metadata.name, rules);
  }
  const sources = planSources(ips, (ref) => world.secret(ref));
  const merged = mergeContributions(sources.contributions);
  out.sourceProblems = sources.problems;
  out.registries = Object.keys(merged.config.auths).map((registry) => ({
    registry,
    source: sources.contributions.find((c) => c.entries.some((e) => e.registry === registry))?.source ?? '',
    shadowed: merged.shadowed.filter((s) => s.registry === registry).map((s) => s.loser),
  }));
  out.writes = out.registries.length > 0;
  if (out.writes && !sources.cloud) out.bytes = serialize(merged.config);
  return out;
}

/** The action on `c`'s Secret in `namespace`, given who else wants that name there. */
function action(world: World, all: Candidate[], c: Candidate, namespace: string, opts: PlanOptions): Pick<PlanNamespace, 'action' | 'conflictWith'> {
  const secretName = c.ips.spec.target.secret.name;
  const contenders = all.filter((o) => o.writes && o.ips.spec.target.secret.name === secretName && o.selected.has(namespace));
  const owner = owningResource(contenders.map((o) => o.ips));
  if (owner && owner.metadata.name !== c.ips.metadata.name) return { action: 'conflict', conflictWith: `ImagePullSecret/${owner.metadata.name}` };
  const existing = world.secret(`${namespace}/${secretName}`);
  if (!existing) return { action: 'create' };
  if (!isManaged(existing)) {
    // With adoption on, IMPS's Secret for this resource is updated in place (docs/adr/0006-imps-adoption.md).
    const adopted = opts.adoptImpsSecrets === true && (existing.type ?? DOCKER_CONFIG_JSON) === DOCKER_CONFIG_JSON && heldByImpsFor(existing.metadata, c.ips);
    return adopted ? { action: 'update' } : { action: 'conflict', conflictWith: UNMANAGED };
  }
  const managed = toManagedSecret(existing).secret;
  // With cloud sources the bytes hold tokens only the daemon fetches: compare everything but the bytes.
  const bytes = c.bytes;
  const hash = bytes === undefined ? existing.metadata.annotations?.[DATA_HASH_ANNOTATION] ?? '' : dataHash(bytes);
  // upToDate compares the hash (and that the Secret's bytes match it), never the data itself.
  return { action: upToDate(managed, desiredSecret(c.ips, namespace, { data: '', hash })) ? 'unchanged' : 'update' };
}

function serviceAccounts(world: World, c: Candidate, namespace: string, present: boolean): PlanServiceAccount[] {
  const name = c.ips.spec.target.secret.name;
  return world.serviceAccountsIn(namespace).flatMap((sa) => {
    const patch = planPullSecrets(sa, name, present && wantsServiceAccount(c.ips, sa.metadata.name));
    if (!patch) return [];
    return [{ namespace, name: sa.metadata.name, change: patch.imagePullSecrets.some((e) => e.name === name) ? 'add' as const : 'remove' as const }];
  });
}

function planResource(world: World, all: Candidate[], c: Candidate, opts: PlanOptions): PlanResource {
  const out: PlanResource = { name: c.ips.metadata.name, valid: c.errors.length === 0, errors: c.errors, namespaces: [], removals: [],
    registries: c.registries, serviceAccounts: [], pods: [], sourceProblems: c.sourceProblems };
  // Admission looks at the target alone: a stored resource with a bad source still injects its entry.
  if (c.storable) out.pods = podsLackingEntry(world, c.ips, opts.daemonNamespace ?? DEFAULT_DAEMON_NAMESPACE);
  if (!out.valid) return out; // the daemon touches nothing else of an invalid resource
  const writes = new Set<string>();
  for (const [namespace, rules] of [...c.selected].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!c.writes) continue;
    const decided = action(world, all, c, namespace, opts);
    out.namespaces.push({ name: namespace, rules, ...decided });
    if (decided.action !== 'conflict') {
      writes.add(namespace);
      out.serviceAccounts.push(...serviceAccounts(world, c, namespace, true));
    }
  }
  for (const s of world.managedSecretsOf(c.ips.metadata.name)) {
    const namespace = s.metadata.namespace ?? '';
    if (writes.has(namespace) && s.metadata.name === c.ips.spec.target.secret.name) continue;
    // Everything written and nothing to write: a failing source keeps what the namespaces hold.
    if (!c.writes && c.sourceProblems.length) continue;
    out.removals.push({ namespace, secret: s.metadata.name });
    if (!writes.has(namespace)) out.serviceAccounts.push(...serviceAccounts(world, c, namespace, false));
  }
  return out;
}

/** What the plan assumes of the daemon's flags. */
export interface PlanOptions {
  /** The daemon runs with --adopt-imps-secrets. */
  adoptImpsSecrets?: boolean;
  /** The daemon's namespace (its --namespace): pods there never get an entry at admission. */
  daemonNamespace?: string;
}

/** The plan for the resources named `subjects` (all of the world's when undefined). */
export function computePlan(world: World, subjects?: readonly string[], opts: PlanOptions = {}): Plan {
  const all = world.resources.filter((r) => isLive(r)).map((ips) => candidate(world, ips));
  const shown = subjects ? all.filter((c) => subjects.includes(c.ips.metadata.name)) : all;
  return { resources: shown.map((c) => planResource(world, all, c, opts)) };
}

