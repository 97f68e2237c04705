// One pod admission, decided from memory: which of the Secrets resources ask to inject this pod gets, and
// the outcome the metrics count. Nothing here calls the API server; the port answers from the caches the
// replica keeps warm. Pods the webhook must never touch are left alone before any resource is looked at:
// kube-system and the daemon's own namespace, mirror pods of static pods (the API server refuses them
// Secret references), pods nodes create, and pods or namespaces with the opt-out label.
import { INJECT_OPT_OUT_LABEL, INJECT_OPT_OUT_VALUE } from '../api/v1alpha1/labels.ts';
import { ownValue } from '../util/own.ts';
import { appendPatch, parseReview, reviewResponse, type PodAdmission } from './review.ts';

export const OPT_OUT_LABEL = INJECT_OPT_OUT_LABEL;
export const OPT_OUT_VALUE = INJECT_OPT_OUT_VALUE;
/** Marks a mirror pod (the API server's copy of a static pod). */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
export const NEVER_NAMESPACES = ['kube-system'] as const;

export type Outcome = 'mutated' | 'present' | 'not_selected' | 'opted_out' | 'error';
export const OUTCOMES: readonly Outcome[] = ['mutated', 'present', 'not_selected', 'opted_out', 'error'];

/** A Secret a resource asks to inject into pods of a namespace it selects. */
export interface Injection {
  resource: string;
  secret: string;
  /** Whether the resource's Secret already exists in the namespace (the replica's cache says so). */
  written: boolean;
}

export interface NamespaceMeta {
  name: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

/** What the webhook asks of the replica's caches. Every method answers from memory. */
export interface AdmissionPort {
  /** The namespace's metadata; undefined when the cache does not hold it. */
  namespace(name: string): NamespaceMeta | undefined;
  /** The injections for a pod with these labels and annotations in `namespace`, oldest resource first. */
  injections(namespace: NamespaceMeta, pod: { labels: Readonly<Record<string, string>>; annotations: Readonly<Record<string, string>> }): Injection[];
}

export interface AdmitContext {
  port: AdmissionPort;
  /** The daemon's own namespace: never mutated. */
  ownNamespace: string;
}

export interface Admitted {
  /** HTTP status: 200 with an AdmissionReview, or 400 for a body that is not one. */
  status: number;
  body: unknown;
  outcome: Outcome;
  /** Why the pod was not mutated, for logs; never a credential. */
  reason?: string;
  /** Resources whose Secret the namespace still lacks: their reconcile there should run first. */
  hurry: { resource: string; namespace: string }[];
}

const optedOut = (labels: Readonly<Record<string, string>>): boolean => ownValue(labels, OPT_OUT_LABEL) === OPT_OUT_VALUE;

/** Why this pod is never mutated, whatever resources say; undefined when it may be. */
function exemption(a: PodAdmission, ownNamespace: string): { outcome: Outcome; reason: string } | undefined {
  if (a.namespace === ownNamespace || (NEVER_NAMESPACES as readonly string[]).includes(a.namespace)) {
    return { outcome: 'not_selected', reason: `namespace ${a.namespace} is never mutated` };
  }
  if (ownValue(a.pod.annotations, MIRROR_ANNOTATION) !== undefined) return { outcome: 'not_selected', reason: 'mirror pods are never mutated' };
  if (a.username.startsWith('system:node:')) return { outcome: 'not_selected', reason: 'pods nodes create are never mutated' };
  if (optedOut(a.pod.labels)) return { outcome: 'opted_out', reason: `the pod has ${OPT_OUT_LABEL}=${OPT_OUT_VALUE}` };
  return undefined;
}

function decide(a: PodAdmission, ctx: AdmitContext): Admitted {
  const done = (outcome: Outcome, reason?: string, patch: unknown[] = [], hurry: Admitted['hurry'] = []): Admitted =>
    ({ status: 200, body: reviewResponse(a.uid, patch, reason), outcome, hurry, ...(reason ? { reason } : {}) });
  const exempt = exemption(a, ctx.ownNamespace);
  if (exempt) return done(exempt.outcome, exempt.reason);
  const namespace = ctx.port.namespace(a.namespace);
  if (!namespace) return done('error', `namespace ${a.namespace} is not in the cache yet; not mutated`);
  if (optedOut(namespace.labels)) return done('opted_out', `namespace ${a.namespace} has ${OPT_OUT_LABEL}=${OPT_OUT_VALUE}`);
  const injections = ctx.port.injections(namespace, a.pod);
  if (injections.length === 0) return done('not_selected', 'no ImagePullSecret injects into this namespace');
  // A dry run creates no pod: nothing is waiting for the Secret.
  const hurry = a.dryRun ? [] : injections.filter((i) => !i.written).map((i) => ({ resource: i.resource, namespace: a.namespace }));
  const have = new Set(a.pod.pullSecrets ?? []);
  const missing: string[] = [];
  for (const { secret } of injections) {
    if (have.has(secret)) continue;
    have.add(secret);
    missing.push(secret);
  }
  if (missing.length === 0) return done('present', undefined, [], hurry);
  return done('mutated', undefined, appendPatch(a.pod.pullSecrets, missing), hurry);
}

/** Answers one request body. Never throws: a port that fails is an `error` outcome, the pod unchanged. */
export function admit(body: unknown, ctx: AdmitContext): Admitted {
  const parsed = parseReview(body);
  if (!parsed.ok) {
    const { refusal, reason } = parsed;
    if (!refusal) return { status: 400, body: { message: reason }, outcome: 'error', reason, hurry: [] };
    return { status: 200, body: reviewResponse(refusal.uid, [], `${reason}; not mutated`), outcome: 'error', reason, hurry: [] };
  }
  try {
    return decide(parsed.admission, ctx);
  } catch {
    const reason = 'the decision failed; not mutated';
    return { status: 200, body: reviewResponse(parsed.admission.uid, [], reason), outcome: 'error', reason, hurry: [] };
  }
}
