// One pod admission, answered from memory with the admission rule (src/admission/: which Secrets a pod
// gets, the JSON patch, the AdmissionReview in and out), plus what only the webhook does: the HTTP status
// for a body that is not a review at all, the outcome the metrics count, and which namespaces' Secrets
// should be written first because a pod now waits for them. Nothing here calls the API server; the port
// answers from the caches the replica keeps warm.
import { answerReview, selectedSecrets, type AdmissionView } from '../admission/index.ts';
import type { Outcome as RuleOutcome } from '../admission/index.ts';

/** The outcomes the metrics count (`present` is the rule's `already_present`). */
export type Outcome = 'mutated' | 'present' | 'not_selected' | 'opted_out' | 'error';

/** What the webhook asks of the replica's caches. Every method answers from memory. */
export interface AdmissionPort extends AdmissionView {
  /** Of the resources injecting `secrets` into `namespace`, those whose Secret the cache does not hold there yet. */
  unwritten(namespace: string, secrets: readonly string[]): string[];
}

export interface Admitted {
  /** HTTP status: 200 with an AdmissionReview, or 400 for a body that is not one (no uid to answer). */
  status: number;
  body: unknown;
  outcome: Outcome;
  /** Why, for logs: names of namespaces, resources and Secrets only. */
  reason: string;
  /** Resources whose Secret the namespace still lacks: their reconcile there should run first (never for a dry run). */
  hurry: { resource: string; namespace: string }[];
}

const OUTCOME: Readonly<Record<RuleOutcome, Outcome>> = {
  mutated: 'mutated', already_present: 'present', not_selected: 'not_selected', opted_out: 'opted_out', error: 'error',
};

/** Answers one request body (JSON-decoded). Never throws: a port that fails is an `error`, the pod unchanged. */
export function admit(body: unknown, port: AdmissionPort): Admitted {
  const answer = answerReview(body, port);
  const { decision, request } = answer;
  const outcome = OUTCOME[decision.outcome];
  if (answer.review.response.uid === '') return { status: 400, body: { message: decision.reason }, outcome, reason: decision.reason, hurry: [] };
  let hurry: Admitted['hurry'] = [];
  if (request && !request.dryRun && (outcome === 'mutated' || outcome === 'present')) {
    const namespace = request.pod.metadata.namespace;
    try {
      const names = selectedSecrets(port.resources(), request.pod, port.namespace(namespace)).names;
      hurry = port.unwritten(namespace, names).map((resource) => ({ resource, namespace }));
    } catch {
      hurry = []; // the answer stands; the leader's own watch writes the Secret anyway
    }
  }
  return { status: 200, body: answer.review, outcome, reason: decision.reason, hurry };
}
